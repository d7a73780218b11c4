/**
 * Gateway benchmark orchestrator: `npm run loadtest -- <idle|fanout|throughput|crash|all>
 * [--small] [--servers=signalink,baseline] [--workers=N] [--cpu-prof]`. Starts throw-away PostgreSQL and
 * Redis on loopback, then for each scenario runs Signalink and the baseline one after the
 * other with the same load, prints the tables and writes loadtest/results/.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { SERVER_KINDS, type ServerKind } from './lib/deployment.js';
import type { Scenario, ScenarioContext } from './lib/harness.js';
import { startInfra, type Infra } from './lib/infra.js';
import { RESULTS_DIR, ROOT } from './lib/paths.js';
import { ProcessRegistry } from './lib/processes.js';
import { renderTable, targetsTable, type Table, type TargetCheck } from './lib/report.js';
import { SIZES, type Sizes } from './lib/sizes.js';
import { crash } from './scenarios/crash.js';
import { fanout } from './scenarios/fanout.js';
import { idle } from './scenarios/idle.js';
import { throughput } from './scenarios/throughput.js';

const SCENARIOS: Scenario<unknown>[] = [idle, fanout, throughput, crash] as Scenario<unknown>[];

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write(
    `usage: npm run loadtest -- <${SCENARIOS.map((s) => s.name).join('|')}|all> [--small] [--servers=signalink,baseline] [--workers=N] [--cpu-prof] [--rates=r1,r2,...] [--step-ms=N]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]) {
  let which: string | undefined;
  let sizes: Sizes = SIZES.full;
  let servers: ServerKind[] = [...SERVER_KINDS];
  let workers: number | undefined;
  let profile = false;
  let rates: number[] | undefined;
  let stepMs: number | undefined;
  for (const arg of argv) {
    if (arg === '--small') sizes = SIZES.small;
    else if (arg === '--cpu-prof') profile = true;
    else if (arg.startsWith('--rates='))
      rates = arg.slice('--rates='.length).split(',').map(Number);
    else if (arg.startsWith('--step-ms=')) stepMs = Number(arg.slice('--step-ms='.length));
    else if (arg.startsWith('--servers=')) {
      servers = arg
        .slice('--servers='.length)
        .split(',')
        .map((s) => s.trim()) as ServerKind[];
      if (servers.some((s) => !SERVER_KINDS.includes(s))) usage(`unknown server in ${arg}`);
    } else if (arg.startsWith('--workers=')) workers = Number(arg.slice('--workers='.length));
    else if (arg.startsWith('-')) usage(`unknown option ${arg}`);
    else if (which) usage('one scenario at a time (or all)');
    else which = arg;
  }
  if (!which) usage();
  const scenarios = which === 'all' ? SCENARIOS : SCENARIOS.filter((s) => s.name === which);
  if (scenarios.length === 0) usage(`unknown scenario ${which}`);
  if (workers !== undefined) {
    if (!Number.isInteger(workers) || workers < 1 || workers > 16) usage('--workers must be 1..16');
    sizes = { ...sizes, workers };
  }
  // Throughput ramp overrides, e.g. to hold one rate long enough for a CPU profile.
  if (rates) {
    if (rates.some((r) => !(r > 0 && r <= 20_000))) usage('--rates must be numbers in 1..20000');
    sizes = { ...sizes, throughput: { ...sizes.throughput, rates } };
  }
  if (stepMs !== undefined) {
    if (!(stepMs >= 1000 && stepMs <= 120_000)) usage('--step-ms must be 1000..120000');
    sizes = { ...sizes, throughput: { ...sizes.throughput, stepMs } };
  }
  // Only a plain run (both servers, stock sizes, no profiler) may replace a committed summary.
  const standard =
    servers.length === SERVER_KINDS.length &&
    !profile &&
    !rates &&
    stepMs === undefined &&
    workers === undefined;
  return { which, scenarios, sizes, servers, profile, standard };
}

const { which, scenarios, sizes, servers, profile, standard } = parseArgs(process.argv.slice(2));
const runId = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(2).toString('hex')}`;
const profileDir = profile ? join(ROOT, '.cache', 'loadtest', 'profiles', runId) : undefined;
const started = Date.now();
const log = (message: string) =>
  process.stderr.write(`[loadtest +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

// Read now: the build that run.sh just made is what the servers run, whatever changes later.
const code = codeVersion();
const registry = new ProcessRegistry();
let infra: Infra | undefined;
let cleaning: Promise<void> | undefined;

/** Stops everything this run started; safe to call from any exit path, more than once. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const alive = registry.alive();
    if (alive.length > 0) log(`stopping ${alive.length} process(es)`);
    await registry.killAll();
    await infra?.stop().catch((err: unknown) => log(`stopping test servers: ${String(err)}`));
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}
const overall = setTimeout(() => {
  log(`overall timeout of ${sizes.timeoutMs / 60_000} min reached: stopping`);
  void cleanup().finally(() => process.exit(124));
}, sizes.timeoutMs);
overall.unref();

interface ScenarioOutcome {
  scenario: string;
  loadAverageBefore: number;
  results: Partial<Record<ServerKind, unknown>>;
  errors: Partial<Record<ServerKind, string>>;
  tables: Table[];
  targets: TargetCheck[];
}

async function main(): Promise<number> {
  log(
    `run ${runId}: ${scenarios.map((s) => s.name).join(', ')} at ${sizes.name} size against ${servers.join(' and ')}, ${sizes.workers} load workers; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}`,
  );
  infra = await startInfra(registry);
  const ctx: ScenarioContext = { registry, infra, sizes, runId, profileDir, log };
  const outcomes: ScenarioOutcome[] = [];
  let failures = 0;
  for (const scenario of scenarios) {
    const outcome: ScenarioOutcome = {
      scenario: scenario.name,
      loadAverageBefore: loadavg()[0]!,
      results: {},
      errors: {},
      tables: [],
      targets: [],
    };
    try {
      const { results, errors } = await scenario.run(ctx, servers);
      outcome.results = results;
      outcome.errors = errors;
    } catch (err) {
      // Interleaved scenarios run both servers together: a failure stops both.
      for (const kind of servers)
        outcome.errors[kind] = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`${scenario.name} FAILED: ${String(err)}`);
    }
    failures += Object.keys(outcome.errors).length;
    outcome.tables = scenario.tables(outcome.results);
    outcome.targets = scenario.targets(outcome.results);
    outcomes.push(outcome);
    process.stdout.write(
      `\n${outcome.tables.map(renderTable).join('\n\n')}\n\n${renderTable(targetsTable(outcome.targets))}\n`,
    );
    writeResults(outcome);
  }
  if (outcomes.length > 1) {
    process.stdout.write(`\n${renderTable(targetsTable(outcomes.flatMap((o) => o.targets)))}\n`);
  }
  log(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  return failures === 0 ? 0 : 1;
}

/**
 * The commit the servers were built from, and whether services/ had uncommitted changes (the
 * run measures the working tree that `npm run build` compiled).
 */
function codeVersion(): { commit: string; servicesDirty: boolean } {
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    return {
      commit: git('rev-parse', 'HEAD'),
      servicesDirty: git('status', '--porcelain', 'services') !== '',
    };
  } catch {
    return { commit: 'unknown', servicesDirty: true };
  }
}

/** Full detail (timestamped, git-ignored) and a small per-scenario summary meant for review. */
function writeResults(outcome: ScenarioOutcome): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 1e9),
    node: process.version,
    loadAverageBefore: outcome.loadAverageBefore,
    shared: 'other engineers ran tests on the same 2 cores during the run',
  };
  const header = {
    runId,
    date: new Date().toISOString(),
    size: sizes.name,
    sizes,
    machine,
    code,
  };
  const detail = join(RESULTS_DIR, `${runId}-${outcome.scenario}-${sizes.name}.json`);
  writeFileSync(detail, `${JSON.stringify({ ...header, ...outcome }, null, 2)}\n`);
  // A failed or interrupted scenario keeps its detail file but never replaces a summary.
  if (cleaning || Object.keys(outcome.errors).length > 0) {
    log(`wrote ${detail} (no summary: the scenario failed or was interrupted)`);
    return;
  }
  const summary = join(
    RESULTS_DIR,
    `summary-${outcome.scenario}-${sizes.name}${standard ? '' : '-custom'}.json`,
  );
  writeFileSync(
    summary,
    `${JSON.stringify({ ...header, scenario: outcome.scenario, targets: outcome.targets, tables: outcome.tables, errors: outcome.errors }, null, 2)}\n`,
  );
  log(`wrote ${detail} and ${summary}`);
}

main().then(
  async (code) => {
    await cleanup();
    process.exit(code);
  },
  async (err: unknown) => {
    log(
      `run failed (${which}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    await cleanup();
    process.exit(1);
  },
);
