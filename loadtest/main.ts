/**
 * Gateway benchmark orchestrator: `npm run loadtest -- <idle|fanout|throughput|crash|all>
 * [options]` (loadtest/README.md). Starts throw-away PostgreSQL and Redis on loopback, then
 * for each scenario runs Signalink and its peers (vanilla Socket.IO, the hand-wired stack,
 * Centrifugo) with the same load, prints the tables and writes loadtest/results/.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { centrifugoBinary, SERVER_KINDS, type ServerKind } from './lib/deployment.js';
import type { ProfileScope, Scenario, ScenarioContext } from './lib/harness.js';
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
    `usage: npm run loadtest -- <${SCENARIOS.map((s) => s.name).join('|')}|all> [--small] [--servers=${SERVER_KINDS.join(',')}] [--workers=N] [--cpu-prof[=measured]] [--heap-snapshot] [--start-rate=N] [--step-ms=N] [--nodes=1,2,3] [--repeat=N] [--members=100,1000,5000] [--wait-quiet=LOAD[,MINUTES]] [--signalink-env=KEY=VALUE,...]\n`,
  );
  process.exit(2);
}

const numbers = (arg: string, prefix: string) => arg.slice(prefix.length).split(',').map(Number);

function parseArgs(argv: string[]) {
  let which: string | undefined;
  let sizes: Sizes = SIZES.full;
  let servers: ServerKind[] = [...SERVER_KINDS];
  let workers: number | undefined;
  let profile: ProfileScope | undefined;
  let heapSnapshot = false;
  let startRate: number | undefined;
  let stepMs: number | undefined;
  let nodes: number[] | undefined;
  let repeat: number | undefined;
  let members: number[] | undefined;
  let quiet: QuietRule | undefined;
  let signalinkEnv: Record<string, string> | undefined;
  for (const arg of argv) {
    if (arg === '--small') sizes = SIZES.small;
    else if (arg === '--cpu-prof') profile = 'process';
    else if (arg === '--cpu-prof=measured') profile = 'measured';
    else if (arg === '--heap-snapshot') heapSnapshot = true;
    else if (arg.startsWith('--start-rate=')) startRate = Number(arg.slice(13));
    else if (arg.startsWith('--step-ms=')) stepMs = Number(arg.slice('--step-ms='.length));
    else if (arg.startsWith('--nodes=')) nodes = numbers(arg, '--nodes=');
    else if (arg.startsWith('--repeat=')) repeat = Number(arg.slice('--repeat='.length));
    else if (arg.startsWith('--members=')) members = numbers(arg, '--members=');
    else if (arg.startsWith('--wait-quiet=')) {
      const [load, minutes] = numbers(arg, '--wait-quiet=');
      if (!(load! > 0) || (minutes !== undefined && !(minutes > 0 && minutes <= 60)))
        usage('--wait-quiet=LOAD[,MINUTES], e.g. --wait-quiet=1.0,3');
      quiet = { load: load!, minutes: minutes ?? 3 };
    } else if (arg.startsWith('--servers=')) {
      servers = arg
        .slice('--servers='.length)
        .split(',')
        .map((s) => s.trim()) as ServerKind[];
      if (servers.some((s) => !SERVER_KINDS.includes(s))) usage(`unknown server in ${arg}`);
    } else if (arg.startsWith('--signalink-env=')) {
      signalinkEnv = {};
      for (const pair of arg.slice('--signalink-env='.length).split(',')) {
        const m = /^([A-Z][A-Z0-9_]*)=([^,]*)$/.exec(pair.trim());
        if (!m) usage(`--signalink-env wants KEY=VALUE pairs, got "${pair}"`);
        signalinkEnv[m![1]!] = m![2]!;
      }
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
  const tp = { ...sizes.throughput };
  if (startRate !== undefined) {
    if (!(startRate >= 1 && startRate <= 20_000)) usage('--start-rate must be 1..20000');
    tp.start = startRate;
  }
  if (stepMs !== undefined) {
    if (!(stepMs >= 1000 && stepMs <= 120_000)) usage('--step-ms must be 1000..120000');
    tp.stepMs = stepMs;
  }
  if (nodes) {
    if (nodes.some((n) => !Number.isInteger(n) || n < 1 || n > 4)) usage('--nodes: 1..4 each');
    tp.nodes = nodes;
  }
  if (repeat !== undefined) {
    if (!Number.isInteger(repeat) || repeat < 1 || repeat > 10) usage('--repeat must be 1..10');
    tp.repetitions = repeat;
  }
  sizes = { ...sizes, throughput: tp, ...(signalinkEnv ? { signalinkEnv } : {}) };
  if (members) {
    if (members.some((m) => !Number.isInteger(m) || m < 2 || m > 10_000))
      usage('--members: 2..10000 each');
    sizes = { ...sizes, fanout: { ...sizes.fanout, members } };
  }
  // Only a plain run (every server, stock sizes, no profiler) may replace a committed summary.
  const standard =
    servers.length === SERVER_KINDS.length &&
    profile === undefined &&
    !heapSnapshot &&
    startRate === undefined &&
    stepMs === undefined &&
    nodes === undefined &&
    repeat === undefined &&
    members === undefined &&
    workers === undefined &&
    signalinkEnv === undefined;
  return { which, scenarios, sizes, servers, profile, heapSnapshot, standard, quiet };
}

interface QuietRule {
  /** Highest 1-minute load average that counts as quiet. */
  load: number;
  /** For how long it must stay below, sampled every 10 s. */
  minutes: number;
}

/** The machine's load around each measurement, for the report. */
interface LoadRecord {
  what: string;
  at: string;
  loadAverage: [number, number, number];
  waitedSeconds: number;
  /** With --wait-quiet: whether the machine was quiet when the measurement started. */
  quiet: boolean | null;
}

const MAX_QUIET_WAIT_MS = 45 * 60_000;

const { which, scenarios, sizes, servers, profile, heapSnapshot, standard, quiet } = parseArgs(
  process.argv.slice(2),
);
const loadRecords: LoadRecord[] = [];

/** Waits (with --wait-quiet) until the load stayed low for the rule's minutes, and records it. */
async function beforeMeasuring(what: string): Promise<void> {
  const began = Date.now();
  let quietSince: number | undefined;
  let wasQuiet: boolean | null = null;
  if (quiet) {
    wasQuiet = false;
    while (Date.now() - began < MAX_QUIET_WAIT_MS) {
      const load = loadavg()[0]!;
      if (load < quiet.load) quietSince ??= Date.now();
      else quietSince = undefined;
      if (quietSince !== undefined && Date.now() - quietSince >= quiet.minutes * 60_000) {
        wasQuiet = true;
        break;
      }
      if ((Date.now() - began) % 60_000 < 10_000)
        log(`waiting for a quiet machine before ${what}: load ${load.toFixed(2)}`);
      await new Promise((r) => setTimeout(r, 10_000));
    }
    if (!wasQuiet)
      log(
        `the machine never got quiet within ${MAX_QUIET_WAIT_MS / 60_000} min; measuring ${what} anyway`,
      );
  }
  const record: LoadRecord = {
    what,
    at: new Date().toISOString(),
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100) as [number, number, number],
    waitedSeconds: Math.round((Date.now() - began) / 1000),
    quiet: wasQuiet,
  };
  loadRecords.push(record);
  log(`measuring ${what}: load average ${record.loadAverage.join(' ')}`);
}
const runId = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(2).toString('hex')}`;
const profiling = profile && {
  dir: join(ROOT, '.cache', 'loadtest', 'profiles', runId),
  scope: profile,
};
const heapSnapshotDir = heapSnapshot
  ? join(ROOT, '.cache', 'loadtest', 'heap-snapshots', runId)
  : undefined;
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
  infra = startInfra(registry);
  // Every kind's servers start now, before anything is timed, not at its first deployment.
  for (const kind of servers) await infra.serversFor(kind);
  // Centrifugo is built (or found in the tool cache) before anything is timed.
  if (servers.includes('centrifugo')) log(`centrifugo: ${centrifugoBinary()}`);
  const ctx: ScenarioContext = {
    registry,
    infra,
    sizes,
    runId,
    profile: profiling,
    heapSnapshotDir,
    log,
    beforeMeasuring,
  };
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
    /** Load averages at the start of each measurement (and whether --wait-quiet found it quiet). */
    load: loadRecords,
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
