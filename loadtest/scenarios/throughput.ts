import type { ServerKind } from '../lib/deployment.js';
import {
  CpuMeter,
  cpuText,
  inTurn,
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
import { errorsText, fmt, latencyCells } from '../lib/report.js';
import { InfraCounters, redisCommandsPer } from '../lib/infra-counters.js';
import { makePopulation, type Population } from '../lib/seed.js';
import { sampleServers, serverDelta, serverText, type ServerStats } from '../lib/server-metrics.js';

const MEMBERS_PER_CHANNEL = 4;
const CONTENT_BYTES = 100;
const ACK_P99_LIMIT_MS = 100;
const TARGET_RATIO = 0.6;
const WARMUP_MS = 3000;

export interface ThroughputStep {
  offered: number;
  sent: number;
  acked: number;
  errors: Record<string, number>;
  /** Acked sends per second from the first send to the last ack of the step. */
  achieved: number;
  ack: Summary;
  delivery: Summary;
  deliveries: number;
  expectedDeliveries: number;
  cpu: CpuUsage;
  generatorEventLoopP99Ms: number;
  /** Signalink's own send-handler timing and delivery-gap counters. */
  server: ServerStats | undefined;
  /** Redis commands and PostgreSQL transactions per acked send (all nodes, whole step). */
  redisCommandsPerSend: number;
  redisByCommandPerSend: Record<string, number>;
  pgTransactionsPerSend: number;
  /** Average PostgreSQL backends per state (wait event) during the step. */
  pgWaits: Record<string, number>;
}

export interface ThroughputResult {
  channels: number;
  steps: ThroughputStep[];
  /** The highest step with ack p99 under the limit and no errors. */
  best: ThroughputStep | undefined;
}

/** Server-side CPU per acked send: what one persisted, delivered message costs the machine. */
function cpuPerSend(s: ThroughputStep): string {
  if (s.acked <= 0) return '-';
  const ms = (pct: number) => (pct * 10 * s.cpu.seconds) / s.acked;
  const gw = ms(s.cpu.gateways.reduce((a, b) => a + b, 0));
  // The baseline has no PostgreSQL: its share is absent, not zero.
  // (Saved results turn NaN into null.)
  const pg = Number.isFinite(s.cpu.postgres) ? ms(s.cpu.postgres) : NaN;
  const redis = ms(s.cpu.redis);
  const total = gw + (Number.isFinite(pg) ? pg : 0) + redis;
  return `${fmt(total, 2)} (${fmt(gw, 2)}+${fmt(pg, 2)}+${fmt(redis, 2)})`;
}

const waitsText = (w: Record<string, number>): string =>
  Object.entries(w)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '-';

/** A step counts only if every send was acked and the p99 stayed under the limit. */
const passes = (s: ThroughputStep) =>
  s.ack.p99 < ACK_P99_LIMIT_MS && s.acked === s.sent && s.sent > 0;

export const throughput: Scenario<ThroughputResult> = {
  name: 'throughput',

  run(ctx, kinds) {
    const { channels, rates, stepMs, stopAboveP99Ms } = ctx.sizes.throughput;
    const population = makePopulation('tp', channels, MEMBERS_PER_CHANNEL);
    return withTargets(ctx, 'throughput', kinds, { nodeCount: 2, population }, async (targets) => {
      const runs: ThroughputRun[] = [];
      try {
        for (const target of targets) runs.push(await prepare(ctx, target, population));
        for (const r of runs) await r.step(rates[0]!, WARMUP_MS);
        const results: PerServer<ThroughputResult> = {};
        for (const r of runs) results[r.kind] = { channels, steps: [], best: undefined };
        const active = new Set(runs.map((r) => r.kind));
        // Each rate is measured for every server before the next rate, in alternating order,
        // so both face the same (shared, changing) machine.
        for (let i = 0; i < rates.length && active.size > 0; i++) {
          const offered = rates[i]!;
          for (const r of inTurn(runs, i)) {
            if (!active.has(r.kind)) continue;
            const result = results[r.kind]!;
            const s = await r.step(offered, stepMs);
            result.steps.push(s);
            ctx.log(
              `throughput/${r.kind}: offered ${offered}/s achieved ${fmt(s.achieved)}/s ack p99 ${fmt(s.ack.p99)} ms errors ${errorsText(s.errors)} (${cpuText(s.cpu)}; send handler ${serverText(s.server)}; per send: ${fmt(s.redisCommandsPerSend)} redis cmds, ${fmt(s.pgTransactionsPerSend)} pg xacts)`,
            );
            if (passes(s)) result.best = s;
            const errorRate = s.sent > 0 ? (s.sent - s.acked) / s.sent : 1;
            if (s.ack.p99 > stopAboveP99Ms || errorRate > 0.01) active.delete(r.kind);
            // Let a backlog from this step drain so the next one starts clean.
            await sleep(1000);
          }
        }
        return { results, errors: {} };
      } finally {
        for (const r of runs) await r.close();
      }
    });
  },

  tables(results) {
    const entries = Object.entries(results) as [ServerKind, ThroughputResult][];
    return [
      {
        title: `throughput: ${entries[0]?.[1].channels ?? ''} four-member channels across two gateways, fixed offered rates (ms)`,
        columns: [
          'server',
          'offered/s',
          'achieved/s',
          'sent',
          'errors',
          'ack p50',
          'p95',
          'p99',
          'max',
          'delivery p50',
          'p95',
          'p99',
          'max',
          'deliveries',
          'CPU (% of a core)',
          'gen loop p99 ms',
          'inside the send handler',
          'server CPU ms/send (gw+pg+redis)',
          'redis cmds/send',
          'pg xacts/send',
          'pg backends busy (avg)',
        ],
        rows: entries.flatMap(([kind, r]) =>
          r.steps.map((s) => [
            kind,
            s.offered,
            fmt(s.achieved),
            s.sent,
            errorsText(s.errors),
            ...latencyCells(s.ack),
            ...latencyCells(s.delivery),
            `${s.deliveries}/${s.expectedDeliveries}`,
            cpuText(s.cpu),
            fmt(s.generatorEventLoopP99Ms),
            serverText(s.server),
            cpuPerSend(s),
            fmt(s.redisCommandsPerSend),
            fmt(s.pgTransactionsPerSend),
            waitsText(s.pgWaits),
          ]),
        ),
      },
    ];
  },

  targets(results) {
    const s = results.signalink;
    const b = results.baseline;
    const sBest = s?.best?.achieved ?? 0;
    const bBest = b?.best?.achieved ?? NaN;
    const ratio = sBest / bBest;
    const bTopped = b && b.best === b.steps[b.steps.length - 1];
    return [
      {
        scenario: 'throughput',
        target: `sends/s at ack p99 < ${ACK_P99_LIMIT_MS} ms ≥ ${TARGET_RATIO}× baseline`,
        signalink: s ? `${fmt(sBest)}/s` : '-',
        baseline: b ? `${fmt(bBest)}/s${bTopped ? ' (ramp top: a lower bound)' : ''}` : '-',
        met: s && b && Number.isFinite(ratio) ? ratio >= TARGET_RATIO : null,
        detail: Number.isFinite(ratio) ? `${fmt(ratio, 2)}× the baseline` : 'needs both servers',
      },
    ];
  },
};

/** One server's side of the interleaved ramp. */
interface ThroughputRun {
  kind: ServerKind;
  step(offered: number, durationMs: number): Promise<ThroughputStep>;
  close(): Promise<void>;
}

async function prepare(
  ctx: ScenarioContext,
  target: Target,
  population: Population,
): Promise<ThroughputRun> {
  const { kind, deployment, pool } = target;
  // Two members of each channel per gateway, so every message crosses nodes. Each worker
  // holds whole channels and every member sends to its own channel.
  const parts: ClientSpec[][] = Array.from({ length: pool.size }, () => []);
  const users = new Map(population.users.map((u) => [u.id, u]));
  [...population.channels.values()].forEach((members, c) => {
    for (const [m, userId] of members.entries()) {
      const user = users.get(userId)!;
      parts[c % pool.size]!.push(deployment.client(user, m < MEMBERS_PER_CHANNEL / 2 ? 0 : 1));
    }
  });
  const connects = await pool.each<ConnectResult>((i) => ({
    type: 'connect',
    clients: parts[i]!,
    sdk: false,
    concurrency: 20,
    timeoutMs: 30_000,
  }));
  const failed = connects.reduce((n, r) => n + (r?.failed ?? 0), 0);
  if (failed > 0) throw new Error(`throughput/${kind}: ${failed} clients could not connect`);

  const counters = InfraCounters.open(
    deployment.redisUrl,
    ctx.infra.adminUrl,
    deployment.databaseName,
  );
  const step = async (offered: number, durationMs: number) => {
    await pool.all({ type: 'arm', perMessage: false, keepIds: false });
    const urls = deployment.nodes.map((n) => n.url);
    const serverBefore = await sampleServers(urls);
    const countsBefore = await counters.read();
    const stopWaits = counters.sampleWaits();
    const meter = new CpuMeter(deployment, ctx.infra);
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
    const server = serverDelta(serverBefore, await sampleServers(urls));
    // Past the PostgreSQL statistics flush interval (1 s), so the step's commits count.
    await sleep(1100);
    const countsAfter = await counters.read();
    const ack = new Histogram();
    const delivery = new Histogram();
    const errors: Record<string, number> = {};
    let sent = 0;
    let acked = 0;
    let first = Infinity;
    let last = 0;
    for (const s of sends) {
      if (!s) continue;
      ack.merge(s.ackMs);
      sent += s.sent;
      acked += s.ok;
      first = Math.min(first, s.firstSendAt);
      last = Math.max(last, s.lastAckAt);
      for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + v;
    }
    for (const c of collected) delivery.merge(c.receiveMs);
    const result: ThroughputStep = {
      offered,
      sent,
      acked,
      errors,
      achieved: last > first ? acked / ((last - first) / 1000) : 0,
      ack: ack.summary(),
      delivery: delivery.summary(),
      deliveries: collected.reduce((n, r) => n + r.deliveries, 0),
      expectedDeliveries: acked * MEMBERS_PER_CHANNEL,
      cpu,
      generatorEventLoopP99Ms: Math.max(...collected.map((c) => c.eventLoopP99Ms)),
      server,
      redisCommandsPerSend:
        acked > 0 ? (countsAfter.redisCommands - countsBefore.redisCommands) / acked : NaN,
      redisByCommandPerSend: redisCommandsPer(countsBefore, countsAfter, acked),
      pgWaits,
      pgTransactionsPerSend:
        acked > 0 ? (countsAfter.pgTransactions - countsBefore.pgTransactions) / acked : NaN,
    };
    return result;
  };

  return { kind, step, close: () => counters.close() };
}
