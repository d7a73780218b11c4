import { loadavg } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  deploy,
  undeploy,
  type DeployOptions,
  type Deployment,
  type ServerKind,
} from './deployment.js';
import type { Infra } from './infra.js';
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
  /** Where servers write V8 CPU profiles (`--cpu-prof`), if profiling. */
  profileDir: string | undefined;
  log(message: string): void;
}

export interface Scenario<R> {
  name: string;
  run(ctx: ScenarioContext, kind: ServerKind): Promise<R>;
  tables(results: Partial<Record<ServerKind, R>>): Table[];
  targets(results: Partial<Record<ServerKind, R>>): TargetCheck[];
}

/**
 * Deploys one server kind with a fresh pool of load workers, runs `body`, and tears both
 * down whatever happens (the registry still SIGKILLs stragglers at the very end).
 */
export async function withDeployment<T>(
  ctx: ScenarioContext,
  options: Omit<DeployOptions, 'tag'> & { scenario: string },
  body: (deployment: Deployment, pool: WorkerPool) => Promise<T>,
): Promise<T> {
  const tag = `lt_${ctx.runId}_${options.scenario}_${options.kind}`;
  ctx.log(`${options.scenario}/${options.kind}: starting ${options.nodeCount} node(s)`);
  const cpuProfileDir =
    ctx.profileDir && join(ctx.profileDir, `${options.scenario}-${options.kind}`);
  const deployment = await deploy(ctx.registry, ctx.infra, { ...options, tag, cpuProfileDir });
  const pool = WorkerPool.start(ctx.registry, ctx.sizes.workers);
  try {
    return await body(deployment, pool);
  } finally {
    await pool.close();
    await undeploy(deployment, cpuProfileDir ? 30_000 : 5000);
    if (cpuProfileDir) ctx.log(`CPU profiles in ${cpuProfileDir}`);
    // The servers' last output (warnings, errors), for looking into a surprising result.
    const logDir = join(ROOT, '.cache', 'loadtest', 'logs', ctx.runId);
    mkdirSync(logDir, { recursive: true });
    for (const node of deployment.nodes) {
      writeFileSync(join(logDir, `${options.scenario}-${node.name}.log`), node.output());
      writeFileSync(
        join(logDir, `${options.scenario}-${node.name}.counts.json`),
        JSON.stringify(node.logCounts(), null, 2),
      );
    }
  }
}

/** CPU use per process group over an interval, in percent of one core. */
export interface CpuUsage {
  gateways: number[];
  postgres: number;
  redis: number;
  loadWorkers: number;
  /** The machine's 1-minute load average at the end (others share these 2 cores). */
  loadAverage: number;
  /** Length of the interval. */
  seconds: number;
}

export class CpuMeter {
  private start = Date.now();
  private readonly marks: number[];

  constructor(
    private readonly gatewayPids: number[],
    private readonly infra: Infra,
  ) {
    this.marks = this.read();
  }

  private read(): number[] {
    return [
      ...this.gatewayPids.map((pid) => cpuSeconds(pid)),
      this.infra.postgresPid ? treeCpuSeconds(this.infra.postgresPid) : NaN,
      this.infra.redisPid ? cpuSeconds(this.infra.redisPid) : NaN,
    ];
  }

  /** Usage since construction; `workerCpuMs` is what the workers reported for the interval. */
  stop(workerCpuMs: number): CpuUsage {
    const seconds = (Date.now() - this.start) / 1000;
    const now = this.read();
    const pct = (i: number) => ((now[i]! - this.marks[i]!) / seconds) * 100;
    const n = this.gatewayPids.length;
    return {
      gateways: this.gatewayPids.map((_, i) => pct(i)),
      postgres: pct(n),
      redis: pct(n + 1),
      loadWorkers: workerCpuMs / 10 / seconds,
      loadAverage: loadavg()[0]!,
      seconds,
    };
  }
}

export const cpuText = (c: CpuUsage | undefined): string =>
  c
    ? `gw ${c.gateways.map((g) => g.toFixed(0)).join('+')}% pg ${c.postgres.toFixed(0)}% redis ${c.redis.toFixed(0)}% gen ${c.loadWorkers.toFixed(0)}% (load ${c.loadAverage.toFixed(1)})`
    : '-';
