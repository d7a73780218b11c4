import type { ServerKind } from '../lib/deployment.js';
import {
  CpuMeter,
  cpuText,
  inTurn,
  profileMeasured,
  withTargets,
  type CpuUsage,
  type PerServer,
  type Scenario,
  type ScenarioContext,
  type Target,
} from '../lib/harness.js';
import { Histogram, type Summary } from '../lib/histogram.js';
import { sleep } from '../lib/paths.js';
import type { ClientSpec, CollectResult, ConnectResult, SendResult } from '../lib/protocol.js';
import { errorsText, fmt, latencyCells, type TargetCheck } from '../lib/report.js';
import { InfraCounters, redisCommandsPer } from '../lib/infra-counters.js';
import { makePopulation, type Population } from '../lib/seed.js';
import { sampleServers, serverDelta, serverText, type ServerStats } from '../lib/server-metrics.js';

const MEMBERS_PER_CHANNEL = 4;
const CONTENT_BYTES = 100;
/** The knee: the highest offered rate whose delivery p99 stays under this, losing nothing. */
export const DELIVERY_P99_LIMIT_MS = 100;
/** A step must achieve this share of its offered rate to count. */
const ACHIEVED_SHARE = 0.95;
/** The generator is busy enough to add latency of its own past these (the step is flagged). */
const GENERATOR_LOOP_P99_LIMIT_MS = 50;
const GENERATOR_SCHEDULE_LAG_LIMIT_MS = 100;
/** Coarse ramp: ×1.5 per step until a step fails; then this many bisections between. */
const RAMP_GROWTH = 1.5;
const REFINE_STEPS = 3;
const MAX_RATE = 40_000;

export interface ThroughputStep {
  offered: number;
  /** 'coarse' while ramping up, 'refine' for the bisection between the last pass and the fail. */
  phase: 'coarse' | 'refine';
  sent: number;
  acked: number;
  errors: Record<string, number>;
  /** Acked sends per second from the first send to the last ack of the step. */
  achieved: number;
  ack: Summary;
  delivery: Summary;
  deliveries: number;
  expectedDeliveries: number;
  passed: boolean;
  /** Why the step did not pass (empty when it did). */
  failures: string[];
  cpu: CpuUsage;
  generatorEventLoopP99Ms: number;
  generatorEventLoopMaxMs: number;
  generatorScheduleLagMs: number;
  /** The load workers were themselves too busy to be trusted at this step. */
  generatorLimited: boolean;
  clientErrors: Record<string, number>;
  /** Signalink's own send-handler timing and delivery-gap counters. */
  server: ServerStats | undefined;
  redisCommandsPerSend: number;
  redisByCommandPerSend: Record<string, number>;
  pgTransactionsPerSend: number;
  /** New connections to its database during the step (a pool refilling after a lull). */
  pgSessionsOpened?: number;
  pgWaits: Record<string, number>;
}

export interface ThroughputRamp {
  repetition: number;
  nodes: number;
  channels: number;
  steps: ThroughputStep[];
  /** The highest passing step (undefined: even the first failed). */
  knee: ThroughputStep | undefined;
  /** The lowest failing step above the knee (undefined: the ramp's top passed). */
  firstFail: ThroughputStep | undefined;
}

export interface ThroughputResult {
  ramps: ThroughputRamp[];
}

/** Rounds to two significant digits, so the rates read like rates. */
const nice = (r: number) => {
  const p = Math.pow(10, Math.floor(Math.log10(r)) - 1);
  return Math.round(r / p) * p;
};

/** Where a server's ramp goes next, from what passed and failed so far. */
class RampPlan {
  private lastPass: number | undefined;
  private firstFail: number | undefined;
  private refined = 0;
  next: number | undefined;

  constructor(start: number) {
    this.next = start;
  }

  record(rate: number, passed: boolean): void {
    if (passed) this.lastPass = Math.max(this.lastPass ?? 0, rate);
    else this.firstFail = Math.min(this.firstFail ?? Infinity, rate);
    if (this.firstFail === undefined) {
      const up = nice(rate * RAMP_GROWTH);
      this.next = up > MAX_RATE ? undefined : up;
      return;
    }
    if (this.lastPass === undefined || this.refined >= REFINE_STEPS) {
      this.next = undefined;
      return;
    }
    const mid = nice(Math.sqrt(this.lastPass * this.firstFail));
    this.refined += 1;
    this.next = mid > this.lastPass && mid < this.firstFail ? mid : undefined;
  }

  get phase(): 'coarse' | 'refine' {
    return this.firstFail === undefined ? 'coarse' : 'refine';
  }
}

function judge(s: Omit<ThroughputStep, 'passed' | 'failures'>): string[] {
  const failures: string[] = [];
  if (s.sent === 0) failures.push('nothing sent');
  if (s.acked < s.sent) failures.push(`${s.sent - s.acked} not acked`);
  if (s.deliveries < s.expectedDeliveries)
    failures.push(`${s.expectedDeliveries - s.deliveries} deliveries lost or later than 1 s`);
  if (!(s.delivery.p99 < DELIVERY_P99_LIMIT_MS))
    failures.push(`delivery p99 ${fmt(s.delivery.p99)} ms`);
  if (s.achieved < ACHIEVED_SHARE * s.offered) failures.push(`achieved ${fmt(s.achieved)}/s`);
  return failures;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Knees of one server at one node count: each repetition's, their median and spread. */
export function kneesOf(r: ThroughputResult | undefined, nodes: number) {
  const ramps = (r?.ramps ?? []).filter((x) => x.nodes === nodes);
  const knees = ramps.map((x) => x.knee?.achieved ?? 0);
  const m = median(knees);
  const spread = knees.length > 1 ? Math.max(...knees.map((k) => Math.abs(k - m) / m)) : NaN;
  const topped = ramps.some((x) => x.knee !== undefined && x.firstFail === undefined);
  const generatorLimited = ramps.some((x) => x.firstFail?.generatorLimited === true);
  return { ramps, knees, median: m, spread, topped, generatorLimited };
}

export const throughput: Scenario<ThroughputResult> = {
  name: 'throughput',

  async run(ctx, kinds) {
    const { channels, start, stepMs, nodes, repetitions, warmupRate, warmupMs } =
      ctx.sizes.throughput;
    const results: PerServer<ThroughputResult> = {};
    for (const kind of kinds) results[kind] = { ramps: [] };
    for (const nodeCount of nodes) {
      for (let rep = 1; rep <= repetitions; rep++) {
        await ctx.beforeMeasuring(`throughput with ${nodeCount} node(s), repetition ${rep}`);
        const population = makePopulation('tp', channels, MEMBERS_PER_CHANNEL);
        const label = `throughput-n${nodeCount}-r${rep}`;
        await withTargets(ctx, label, kinds, { nodeCount, population }, async (targets) => {
          const runs: ThroughputRun[] = [];
          try {
            for (const target of targets)
              runs.push(await prepare(ctx, target, population, nodeCount));
            // Warm-up (JIT, pools, caches): measured like a step, then forgotten.
            for (const r of runs) await r.step(warmupRate, warmupMs, 'coarse');
            const plans = new Map(runs.map((r) => [r.kind, new RampPlan(start)]));
            const ramps = new Map<ServerKind, ThroughputRamp>();
            for (const r of runs) {
              const ramp: ThroughputRamp = {
                repetition: rep,
                nodes: nodeCount,
                channels,
                steps: [],
                knee: undefined,
                firstFail: undefined,
              };
              ramps.set(r.kind, ramp);
              results[r.kind]!.ramps.push(ramp);
            }
            await profileMeasured(ctx, label, targets, async () => {
              // Rounds: each server still ramping takes its next step, in alternating order, so
              // all of them face the same (shared, changing) machine.
              for (let round = 0; ; round++) {
                const active = runs.filter((r) => plans.get(r.kind)!.next !== undefined);
                if (active.length === 0) break;
                for (const r of inTurn(active, round)) {
                  const plan = plans.get(r.kind)!;
                  const offered = plan.next!;
                  const s = await r.step(offered, stepMs, plan.phase);
                  const ramp = ramps.get(r.kind)!;
                  ramp.steps.push(s);
                  plan.record(offered, s.passed);
                  if (s.passed && (ramp.knee === undefined || offered > ramp.knee.offered))
                    ramp.knee = s;
                  if (
                    !s.passed &&
                    (ramp.firstFail === undefined || offered < ramp.firstFail.offered)
                  )
                    ramp.firstFail = s;
                  ctx.log(
                    `${label}/${r.kind}: offered ${offered}/s achieved ${fmt(s.achieved)}/s delivery p99 ${fmt(s.delivery.p99)} ms ack p99 ${fmt(s.ack.p99)} ms ${s.passed ? 'PASS' : `FAIL (${s.failures.join('; ')})`} errors ${errorsText(s.errors)} gen loop p99 ${fmt(s.generatorEventLoopP99Ms)} ms lag ${fmt(s.generatorScheduleLagMs)} ms (${cpuText(s.cpu)}; ${serverText(s.server)}; per send: ${fmt(s.redisCommandsPerSend)} redis cmds, ${fmt(s.pgTransactionsPerSend, 2)} pg xacts; ${s.pgSessionsOpened ?? '-'} pg connections opened; pg backends ${
                      Object.entries(s.pgWaits ?? {})
                        .map(([k, v]) => `${k} ${v}`)
                        .join(', ') || '-'
                    })`,
                  );
                  // A backlog from an overloaded step drains before the next one starts.
                  await sleep(s.passed ? 1000 : 3000);
                }
              }
            });
          } finally {
            for (const r of runs) await r.close();
          }
        });
      }
    }
    return { results, errors: {} };
  },

  tables(results) {
    const entries = Object.entries(results) as [ServerKind, ThroughputResult][];
    const allNodes = [...new Set(entries.flatMap(([, r]) => r.ramps.map((x) => x.nodes)))].sort();
    return [
      {
        title: `throughput: knee = highest offered rate with delivery p99 < ${DELIVERY_P99_LIMIT_MS} ms, every send acked and delivered (sends/s)`,
        columns: [
          'server',
          'gateways',
          'knee per repetition',
          'median',
          'spread (max dev. from median)',
          'first failing step',
          'generator at the failing step',
        ],
        rows: entries.flatMap(([kind, r]) =>
          allNodes.map((n) => {
            const k = kneesOf(r, n);
            return [
              kind,
              n,
              k.ramps
                .map((x) => `${fmt(x.knee?.achieved ?? 0)}${x.firstFail ? '' : ' (top)'}`)
                .join(', '),
              fmt(k.median),
              Number.isFinite(k.spread) ? `±${fmt(k.spread * 100, 0)} %` : '-',
              k.ramps
                .map((x) =>
                  x.firstFail
                    ? `${x.firstFail.offered}/s: ${x.firstFail.failures.join('; ')}`
                    : '-',
                )
                .join(' | '),
              k.ramps
                .map((x) =>
                  x.firstFail
                    ? `loop p99 ${fmt(x.firstFail.generatorEventLoopP99Ms)} ms, lag ${fmt(x.firstFail.generatorScheduleLagMs)} ms${x.firstFail.generatorLimited ? ' (LIMITED)' : ''}`
                    : '-',
                )
                .join(' | '),
            ];
          }),
        ),
      },
      {
        title: `throughput: every step, ${entries[0]?.[1].ramps[0]?.channels ?? ''} four-member channels, members spread over the gateways (ms)`,
        columns: [
          'server',
          'gw',
          'rep',
          'offered/s',
          'achieved/s',
          'result',
          'errors',
          'delivery p50',
          'p95',
          'p99',
          'max',
          'ack p50',
          'p95',
          'p99',
          'max',
          'deliveries',
          'CPU (% of a core)',
          'gen loop p99/max ms',
          'gen lag ms',
          'inside the server',
          'server CPU ms/send (gw+pg+redis)',
          'redis cmds/send',
          'pg xacts/send',
        ],
        rows: entries.flatMap(([kind, r]) =>
          r.ramps.flatMap((ramp) =>
            ramp.steps.map((s) => [
              kind,
              ramp.nodes,
              ramp.repetition,
              s.offered,
              fmt(s.achieved),
              s.passed ? 'pass' : `FAIL: ${s.failures.join('; ')}`,
              errorsText(s.errors),
              ...latencyCells(s.delivery),
              ...latencyCells(s.ack),
              `${s.deliveries}/${s.expectedDeliveries}`,
              cpuText(s.cpu),
              `${fmt(s.generatorEventLoopP99Ms)}/${fmt(s.generatorEventLoopMaxMs)}`,
              fmt(s.generatorScheduleLagMs),
              serverText(s.server),
              cpuPerSend(s),
              fmt(s.redisCommandsPerSend),
              fmt(s.pgTransactionsPerSend, 2),
            ]),
          ),
        ),
      },
    ];
  },

  targets(results) {
    const nodes = [...new Set(Object.values(results).flatMap((r) => r.ramps.map((x) => x.nodes)))];
    // The targets are judged on the two-gateway run (the one with repetitions).
    const n = nodes.includes(2) ? 2 : (nodes[0] ?? 2);
    const k = Object.fromEntries(
      (['signalink', 'vanilla', 'handwired', 'centrifugo'] as const).map((kind) => [
        kind,
        kneesOf(results[kind], n),
      ]),
    ) as Record<ServerKind, ReturnType<typeof kneesOf>>;
    const values = Object.fromEntries(
      Object.entries(k)
        .filter(([kind]) => results[kind as ServerKind])
        .map(([kind, x]) => [
          kind,
          `${fmt(x.median)}/s${x.topped ? ' (ramp top: lower bound)' : ''}${x.generatorLimited ? ' (generator-limited)' : ''}`,
        ]),
    );
    const s = k.signalink.median;
    const checks: TargetCheck[] = [];
    const ratio = (other: ServerKind, min: number, label: string) => {
      const r = s / k[other].median;
      checks.push({
        scenario: 'throughput',
        target: label,
        values,
        met: results.signalink && results[other] && Number.isFinite(r) ? r >= min : null,
        detail: Number.isFinite(r) ? `${fmt(r, 2)}× ${other} (${n} gateways)` : `needs ${other}`,
      });
    };
    ratio(
      'vanilla',
      0.3,
      'persisted sends/s at delivery p99 < 100 ms ≥ 0.3× vanilla (stretch 0.5×)',
    );
    ratio('handwired', 3, '≥ 3× the hand-wired stack');
    ratio('centrifugo', 1, '≥ Centrifugo with history');
    const spread = k.signalink.spread;
    checks.push({
      scenario: 'throughput',
      target: 'Signalink knee within ±20 % over three runs',
      values: Object.fromEntries(
        Object.entries(k)
          .filter(([kind]) => results[kind as ServerKind])
          .map(([kind, x]) => [
            kind,
            Number.isFinite(x.spread) ? `±${fmt(x.spread * 100, 0)} %` : '-',
          ]),
      ),
      met: Number.isFinite(spread) && k.signalink.knees.length >= 3 ? spread <= 0.2 : null,
      detail: `knees ${k.signalink.knees.map((x) => fmt(x)).join(', ')}`,
    });
    return checks;
  },
};

/** Server-side CPU per acked send: what one persisted, delivered message costs the machine. */
function cpuPerSend(s: ThroughputStep): string {
  if (s.acked <= 0) return '-';
  const ms = (pct: number) => (pct * 10 * s.cpu.seconds) / s.acked;
  const gw = ms(s.cpu.gateways.reduce((a, b) => a + b, 0));
  // Peers without PostgreSQL have no share, not a zero one (saved results turn NaN into null).
  const pg = Number.isFinite(s.cpu.postgres) ? ms(s.cpu.postgres) : NaN;
  const redis = ms(s.cpu.redis);
  const total = gw + (Number.isFinite(pg) ? pg : 0) + redis;
  return `${fmt(total, 2)} (${fmt(gw, 2)}+${fmt(pg, 2)}+${fmt(redis, 2)})`;
}

/** One server's side of the interleaved ramp. */
interface ThroughputRun {
  kind: ServerKind;
  step(
    offered: number,
    durationMs: number,
    phase: ThroughputStep['phase'],
  ): Promise<ThroughputStep>;
  close(): Promise<void>;
}

async function prepare(
  ctx: ScenarioContext,
  target: Target,
  population: Population,
  nodeCount: number,
): Promise<ThroughputRun> {
  const { kind, deployment, pool } = target;
  // Members of each channel spread over the gateways, so messages cross nodes. Each worker
  // holds whole channels and every member sends to its own channel.
  const parts: ClientSpec[][] = Array.from({ length: pool.size }, () => []);
  const users = new Map(population.users.map((u) => [u.id, u]));
  [...population.channels.values()].forEach((members, c) => {
    for (const [m, userId] of members.entries())
      parts[c % pool.size]!.push(deployment.client(users.get(userId)!, m % nodeCount));
  });
  const connects = await pool.each<ConnectResult>((i) => ({
    type: 'connect',
    clients: parts[i]!,
    sdk: false,
    concurrency: 20,
    timeoutMs: 30_000,
  }));
  const failed = connects.reduce((n, r) => n + (r?.failed ?? 0), 0);
  if (failed > 0)
    throw new Error(
      `throughput/${kind}: ${failed} clients could not connect: ${JSON.stringify(connects.map((c) => c?.errors))}`,
    );

  const counters = InfraCounters.open(
    deployment.redisUrl,
    deployment.postgres?.adminUrl,
    deployment.databaseName,
  );
  const step = async (offered: number, durationMs: number, phase: ThroughputStep['phase']) => {
    await pool.all({ type: 'arm', perMessage: false, keepIds: false });
    const urls = deployment.nodes.map((n) => n.url);
    const serverBefore = kind === 'signalink' ? await sampleServers(urls) : undefined;
    const countsBefore = await counters.read();
    const stopWaits = counters.sampleWaits();
    const meter = new CpuMeter(deployment);
    const sends = await pool.each<SendResult>((i) => ({
      type: 'send',
      senders: parts[i]!.map((c, index) => ({ client: index, channelId: c.channelIds[0]! })),
      ratePerSecond: offered / pool.size,
      durationMs,
      maxCount: Number.MAX_SAFE_INTEGER,
      ackTimeoutMs: 10_000,
      contentBytes: CONTENT_BYTES,
      keepAcked: false,
    }));
    await sleep(1000);
    const collected = await pool.all<CollectResult>({ type: 'collect' });
    const cpu = meter.stop(collected.reduce((n, r) => n + r.cpuMs, 0));
    const pgWaits = await stopWaits();
    const server =
      kind === 'signalink' ? serverDelta(serverBefore, await sampleServers(urls)) : undefined;
    // Past the PostgreSQL statistics flush interval (1 s), so the step's commits count.
    if (deployment.databaseName) await sleep(1100);
    const countsAfter = await counters.read();
    const ack = new Histogram();
    const delivery = new Histogram();
    const errors: Record<string, number> = {};
    const clientErrors: Record<string, number> = {};
    let sent = 0;
    let acked = 0;
    let first = Infinity;
    let last = 0;
    let lag = 0;
    for (const s of sends) {
      if (!s) continue;
      ack.merge(s.ackMs);
      sent += s.sent;
      acked += s.ok;
      first = Math.min(first, s.firstSendAt);
      last = Math.max(last, s.lastAckAt);
      lag = Math.max(lag, s.scheduleLagMs);
      for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + v;
    }
    for (const c of collected) {
      delivery.merge(c.receiveMs);
      for (const [k, v] of Object.entries(c.clientErrors))
        clientErrors[k] = (clientErrors[k] ?? 0) + v;
    }
    const loopP99 = Math.max(...collected.map((c) => c.eventLoopP99Ms));
    const partial = {
      offered,
      phase,
      sent,
      acked,
      errors,
      achieved: last > first ? acked / ((last - first) / 1000) : 0,
      ack: ack.summary(),
      delivery: delivery.summary(),
      deliveries: collected.reduce((n, r) => n + r.deliveries, 0),
      expectedDeliveries: acked * MEMBERS_PER_CHANNEL,
      cpu,
      generatorEventLoopP99Ms: loopP99,
      generatorEventLoopMaxMs: Math.max(...collected.map((c) => c.eventLoopMaxMs)),
      generatorScheduleLagMs: lag,
      generatorLimited:
        loopP99 > GENERATOR_LOOP_P99_LIMIT_MS || lag > GENERATOR_SCHEDULE_LAG_LIMIT_MS,
      clientErrors,
      server,
      redisCommandsPerSend:
        acked > 0 ? (countsAfter.redisCommands - countsBefore.redisCommands) / acked : NaN,
      redisByCommandPerSend: redisCommandsPer(countsBefore, countsAfter, acked),
      pgWaits,
      pgTransactionsPerSend:
        acked > 0 ? (countsAfter.pgTransactions - countsBefore.pgTransactions) / acked : NaN,
      pgSessionsOpened: countsAfter.pgSessions - countsBefore.pgSessions,
    };
    const failures = judge(partial);
    return { ...partial, passed: failures.length === 0, failures };
  };

  return { kind, step, close: () => counters.close() };
}
