import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  deploy,
  undeploy,
  type DeployOptions,
  type Deployment,
  type ServerKind,
  type ServerNode,
} from './deployment.js';
import type { Infra } from './infra.js';
import { Inspector } from './inspector.js';
import { ROOT } from './paths.js';
import { cpuSeconds, treeCpuSeconds, type ProcessRegistry } from './processes.js';
import type { Table, TargetCheck } from './report.js';
import type { Sizes } from './sizes.js';
import { WorkerPool } from './workers.js';

export interface ScenarioContext {
  registry: ProcessRegistry;
  infra: Infra;
  sizes: Sizes;
  /** Unique for this run; part of every database name and Redis prefix. */
  runId: string;
  /** Where and what to CPU-profile (`--cpu-prof[=measured]`), if profiling. */
  profile: { dir: string; scope: ProfileScope } | undefined;
  /** Where the idle scenario writes V8 heap snapshots (`--heap-snapshot`), if asked to. */
  heapSnapshotDir: string | undefined;
  log(message: string): void;
  /**
   * Called before each measurement (a scenario, a repetition): with `--wait-quiet` it waits
   * until the machine's load is low; either way the machine's load is recorded.
   */
  beforeMeasuring(what: string): Promise<void>;
}

/**
 * `process`: each Node server profiles its whole life (`node --cpu-prof`), startup and
 * connection storms included. `measured`: only what a scenario wraps in `profileMeasured`
 * (the timed rounds or steps), through each server's inspector.
 */
export type ProfileScope = 'process' | 'measured';

export type PerServer<R> = Partial<Record<ServerKind, R>>;

export interface ScenarioOutcome<R> {
  results: PerServer<R>;
  errors: PerServer<string>;
}

export interface Scenario<R> {
  name: string;
  /** Runs the scenario against each server kind (one after the other, or interleaved). */
  run(ctx: ScenarioContext, kinds: ServerKind[]): Promise<ScenarioOutcome<R>>;
  tables(results: PerServer<R>): Table[];
  targets(results: PerServer<R>): TargetCheck[];
}

const describe = (err: unknown) =>
  err instanceof Error ? (err.stack ?? err.message) : String(err);

/** Runs `body` for each server kind in turn; a failure of one is recorded, the next still runs. */
export async function oneAfterAnother<R>(
  ctx: ScenarioContext,
  scenario: string,
  kinds: ServerKind[],
  body: (kind: ServerKind) => Promise<R>,
): Promise<ScenarioOutcome<R>> {
  const outcome: ScenarioOutcome<R> = { results: {}, errors: {} };
  for (const kind of kinds) {
    try {
      outcome.results[kind] = await body(kind);
    } catch (err) {
      outcome.errors[kind] = describe(err);
      ctx.log(`${scenario}/${kind} FAILED: ${outcome.errors[kind]}`);
    }
  }
  return outcome;
}

export interface Target {
  kind: ServerKind;
  deployment: Deployment;
  pool: WorkerPool;
}

type TargetOptions = Omit<DeployOptions, 'tag' | 'kind' | 'cpuProfileDir'>;

/**
 * Deploys each server kind with its own pool of load workers, runs `body` with all of them
 * up (so a scenario can interleave its measurements between servers), and tears everything
 * down whatever happens (the registry still SIGKILLs stragglers at the very end).
 */
export async function withTargets<T>(
  ctx: ScenarioContext,
  scenario: string,
  kinds: ServerKind[],
  options: TargetOptions,
  body: (targets: Target[]) => Promise<T>,
): Promise<T> {
  const targets: Target[] = [];
  const profileDirOf = (kind: ServerKind) =>
    ctx.profile && join(ctx.profile.dir, `${scenario}-${kind}`);
  const wholeProcess = ctx.profile?.scope === 'process';
  try {
    for (const kind of kinds) {
      ctx.log(`${scenario}/${kind}: starting ${options.nodeCount} node(s)`);
      const deployment = await deploy(ctx.registry, ctx.infra, {
        ...options,
        env: kind === 'signalink' ? { ...options.env, ...ctx.sizes.signalinkEnv } : options.env,
        kind,
        tag: `lt_${ctx.runId}_${scenario}_${kind}`,
        ...(wholeProcess ? { cpuProfileDir: profileDirOf(kind) } : {}),
        ...(ctx.profile?.scope === 'measured' ? { inspect: true } : {}),
      });
      targets.push({ kind, deployment, pool: WorkerPool.start(ctx.registry, ctx.sizes.workers) });
    }
    return await body(targets);
  } finally {
    for (const { kind, deployment, pool } of targets) {
      await pool.close();
      const profileDir = wholeProcess ? profileDirOf(kind) : undefined;
      await undeploy(deployment, profileDir ? 30_000 : 5000);
      if (profileDir) ctx.log(`CPU profiles in ${profileDir}`);
      // The servers' last output and log counts, for looking into a surprising result.
      const logDir = join(ROOT, '.cache', 'loadtest', 'logs', ctx.runId);
      mkdirSync(logDir, { recursive: true });
      for (const node of deployment.nodes) {
        writeFileSync(join(logDir, `${scenario}-${node.name}.log`), node.output());
        writeFileSync(
          join(logDir, `${scenario}-${node.name}.counts.json`),
          JSON.stringify(node.logCounts(), null, 2),
        );
      }
    }
  }
}

/**
 * Runs `body` (a scenario's timed part) with every Node server's CPU profiler on when the run
 * profiles the measured part only (`--cpu-prof=measured`), and writes one profile per node to
 * `<profiles>/<scenario>-<kind>/<node>.cpuprofile`; otherwise just runs `body`.
 */
export async function profileMeasured<T>(
  ctx: ScenarioContext,
  scenario: string,
  targets: Target[],
  body: () => Promise<T>,
): Promise<T> {
  const profile = ctx.profile;
  if (profile?.scope !== 'measured') return body();
  const profiled: { kind: ServerKind; node: ServerNode; inspector: Inspector }[] = [];
  try {
    for (const { kind, deployment } of targets) {
      if (kind === 'centrifugo') continue;
      for (const node of deployment.nodes) {
        const inspector = await Inspector.attach(node.output);
        profiled.push({ kind, node, inspector });
        await inspector.startCpuProfile();
      }
    }
    const result = await body();
    for (const { kind, node, inspector } of profiled) {
      const dir = join(profile.dir, `${scenario}-${kind}`);
      mkdirSync(dir, { recursive: true });
      await inspector.writeCpuProfile(join(dir, `${node.name}.cpuprofile`));
    }
    ctx.log(`CPU profiles of the measured part in ${profile.dir}`);
    return result;
  } finally {
    for (const { inspector } of profiled) inspector.close();
  }
}

/** One server kind at a time: `withTargets` for a single kind. */
export function withDeployment<T>(
  ctx: ScenarioContext,
  scenario: string,
  kind: ServerKind,
  options: TargetOptions,
  body: (deployment: Deployment, pool: WorkerPool) => Promise<T>,
): Promise<T> {
  return withTargets(ctx, scenario, [kind], options, ([t]) => body(t!.deployment, t!.pool));
}

/** Alternates the order of servers from round to round, so neither always goes first. */
export const inTurn = <T>(items: T[], round: number): T[] =>
  round % 2 === 0 ? items : [...items].reverse();

/** CPU use per process group over an interval, in percent of one core. */
export interface CpuUsage {
  gateways: number[];
  /** NaN for the peers that do not use PostgreSQL. */
  postgres: number;
  redis: number;
  loadWorkers: number;
  /** The machine's 1-minute load average at the end (others share these 2 cores). */
  loadAverage: number;
  /** Length of the interval. */
  seconds: number;
}

export class CpuMeter {
  private readonly start = Date.now();
  private readonly marks: number[];

  constructor(private readonly deployment: Deployment) {
    this.marks = this.read();
  }

  private read(): number[] {
    const postgresPid = this.deployment.postgres?.pid;
    return [
      ...this.deployment.nodes.map((n) => cpuSeconds(n.pid)),
      postgresPid ? treeCpuSeconds(postgresPid) : NaN,
      this.deployment.redisPid ? cpuSeconds(this.deployment.redisPid) : NaN,
    ];
  }

  /** Usage since construction; `workerCpuMs` is what the workers reported for the interval. */
  stop(workerCpuMs: number): CpuUsage {
    const seconds = (Date.now() - this.start) / 1000;
    const now = this.read();
    const pct = (i: number) => ((now[i]! - this.marks[i]!) / seconds) * 100;
    const n = this.deployment.nodes.length;
    return {
      gateways: this.deployment.nodes.map((_, i) => pct(i)),
      postgres: pct(n),
      redis: pct(n + 1),
      loadWorkers: workerCpuMs / 10 / seconds,
      loadAverage: loadavg()[0]!,
      seconds,
    };
  }
}

/** Time-weighted average of several intervals' CPU use (interleaved rounds of one server). */
export function combineCpu(parts: CpuUsage[]): CpuUsage {
  const total = parts.reduce((s, p) => s + p.seconds, 0);
  const avg = (f: (p: CpuUsage) => number) =>
    total > 0 ? parts.reduce((s, p) => s + f(p) * p.seconds, 0) / total : NaN;
  const nodes = Math.max(0, ...parts.map((p) => p.gateways.length));
  return {
    gateways: Array.from({ length: nodes }, (_, i) => avg((p) => p.gateways[i] ?? 0)),
    postgres: avg((p) => p.postgres),
    redis: avg((p) => p.redis),
    loadWorkers: avg((p) => p.loadWorkers),
    loadAverage: avg((p) => p.loadAverage),
    seconds: total,
  };
}

const pctText = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)}%` : '-');

export const cpuText = (c: CpuUsage | undefined): string =>
  c
    ? `gw ${c.gateways.map((g) => g.toFixed(0)).join('+')}% pg ${pctText(c.postgres)} redis ${pctText(c.redis)} gen ${pctText(c.loadWorkers)} (load ${c.loadAverage.toFixed(1)})`
    : '-';
