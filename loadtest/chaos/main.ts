// `npm run chaos -- local NAME [NAME ...]`, `npm run chaos -- local all`,
// `npm run chaos -- local --list`: fault experiments against processes on this machine (see
// docs/chaos.md). Each experiment ends with the PROTOCOL.md line
// `chaos NAME: acked=N lost=N duplicated=N gaps=N recovered_in_ms=N`; the exit status is 0 only
// when every experiment passed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/paths.js';
import { ProcessRegistry } from '../lib/processes.js';
import { EXPERIMENTS, experimentNamed } from './experiments.js';
import { ensureK6Double } from './load.js';
import { runExperiment, type ExperimentResult } from './runner.js';
import { startInfra } from './system.js';

export const CHAOS_USAGE = `usage: npm run chaos -- local NAME [NAME ...]   run experiments (or "all")
       npm run chaos -- local --list            name the experiments, one a line
       npm run chaos -- local --describe        the same, with what each breaks`;

/** Longest a whole invocation may take: one experiment is a few minutes at most. */
const PER_EXPERIMENT_BOUND_MS = 12 * 60_000;

export interface ChaosIo {
  out(line: string): void;
  err(line: string): void;
}

export async function runChaosCommand(argv: string[], io: ChaosIo): Promise<number> {
  const [mode, ...rest] = argv;
  if (mode !== 'local') {
    io.err(CHAOS_USAGE);
    io.err(
      mode
        ? `unknown mode "${mode}" (only "local"; the kubectl experiments are scripts/chaos/*.sh, make chaos)`
        : '',
    );
    return 2;
  }
  if (rest.includes('--list')) {
    for (const e of EXPERIMENTS) io.out(e.name);
    return 0;
  }
  if (rest.includes('--describe')) {
    for (const e of EXPERIMENTS) io.out(`${e.name}: ${e.description}; healthy when ${e.recovery}`);
    return 0;
  }
  const names = rest.includes('all') ? EXPERIMENTS.map((e) => e.name) : rest;
  if (names.length === 0) {
    io.err(CHAOS_USAGE);
    return 2;
  }
  const unknown = names.filter((n) => !experimentNamed(n));
  if (unknown.length > 0) {
    io.err(`unknown experiment(s): ${unknown.join(', ')}; npm run chaos -- local --list`);
    return 2;
  }
  const results = await runLocalExperiments(names, io);
  return results.every((r) => r.ok) ? 0 : 1;
}

/** Starts the shared servers once, runs each experiment on a deployment of its own, stops all. */
export async function runLocalExperiments(
  names: string[],
  io: ChaosIo,
  registry = new ProcessRegistry(process.env.CHAOS_PID_FILE ?? join(ROOT, '.cache/chaos/pids')),
): Promise<ExperimentResult[]> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(ROOT, '.cache/chaos/runs', stamp);
  mkdirSync(dir, { recursive: true });
  const bound = setTimeout(() => {
    io.err(
      `[chaos] over the ${names.length * PER_EXPERIMENT_BOUND_MS} ms bound; stopping everything`,
    );
    void registry.killAll().then(() => process.exit(3));
  }, names.length * PER_EXPERIMENT_BOUND_MS);
  bound.unref();
  const results: ExperimentResult[] = [];
  let infra: Awaited<ReturnType<typeof startInfra>> | undefined;
  try {
    await ensureK6Double();
    io.err('[chaos] starting PostgreSQL, Redis and three Kafka brokers on 127.0.0.1');
    infra = await startInfra(registry);
    for (const name of names) {
      const result = await runExperiment(experimentNamed(name)!, {
        registry,
        infra,
        dir,
        out: (line) => io.err(line),
      });
      results.push(result);
      io.out(result.line);
    }
  } finally {
    clearTimeout(bound);
    await infra?.stop();
    await registry.killAll();
    writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    io.err(`[chaos] ledgers, reports and process logs: ${dir}`);
  }
  return results;
}

const isMain = process.argv[1]?.endsWith('/chaos/main.js');
if (isMain) {
  const code = await runChaosCommand(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  }).catch((err: unknown) => {
    process.stderr.write(
      `[chaos] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 2;
  });
  process.exit(code);
}
