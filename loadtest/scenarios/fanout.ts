import type { ServerKind } from '../lib/deployment.js';
import {
  combineCpu,
  CpuMeter,
  cpuText,
  inTurn,
  profileMeasured,
  withTargets,
  type CpuUsage,
  type PerServer,
  type Scenario,
  type Target,
} from '../lib/harness.js';
import { Histogram, type Summary } from '../lib/histogram.js';
import { sleep } from '../lib/paths.js';
import type { CollectResult, ConnectResult, SendResult } from '../lib/protocol.js';
import { errorsText, fmt, latencyCells } from '../lib/report.js';
import { makePopulation, type Population } from '../lib/seed.js';
import {
  sampleServers,
  serverDelta,
  serverText,
  type ServerSample,
  type ServerStats,
} from '../lib/server-metrics.js';
import { deal } from '../lib/workers.js';

const CONTENT_BYTES = 100;
const TARGET_RATIO = 1.2;
/** The size the target is judged at. */
const TARGET_MEMBERS = 1000;

export interface FanoutResult {
  sizes: FanoutSize[];
}

export interface FanoutSize {
  members: number;
  ratePerSecond: number;
  sent: number;
  acked: number;
  sendErrors: Record<string, number>;
  expectedDeliveries: number;
  deliveries: number;
  /** Send → receipt, one sample per member per message. */
  delivery: Summary;
  /** Send → receipt by the last member, one sample per message that reached everyone. */
  lastMember: Summary;
  incompleteMessages: number;
  ack: Summary;
  cpu: CpuUsage;
  generatorEventLoopP99Ms: number;
  /** Signalink's own send-handler timing and delivery-gap counters. */
  server: ServerStats | undefined;
}

export const fanout: Scenario<FanoutResult> = {
  name: 'fanout',

  async run(ctx, kinds) {
    const { messages, warmup, rounds, maxDeliveriesPerSecond } = ctx.sizes.fanout;
    const results: PerServer<FanoutResult> = {};
    for (const kind of kinds) results[kind] = { sizes: [] };
    for (const members of ctx.sizes.fanout.members) {
      // Big channels get fewer messages per second, so the generator keeps up with receiving.
      const ratePerSecond = Math.min(
        ctx.sizes.fanout.ratePerSecond,
        Math.max(1, Math.floor(maxDeliveriesPerSecond / members)),
      );
      const count = Math.max(
        rounds,
        Math.round((messages * ratePerSecond) / ctx.sizes.fanout.ratePerSecond),
      );
      await ctx.beforeMeasuring(`fan-out to ${members} members`);
      const population = makePopulation('fanout', 1, members);
      const channelId = [...population.channels.keys()][0]!;
      const perRound = Math.ceil(count / rounds);
      const label = `fanout-${members}`;
      await withTargets(ctx, label, kinds, { nodeCount: 2, population }, async (targets) => {
        const runs = new Map<ServerKind, FanoutRun>();
        for (const target of targets)
          runs.set(target.kind, await prepare(target, population, channelId));
        for (const [kind, r] of runs) {
          // Warm-up messages (JIT, connection pools) are sent and then forgotten.
          await r.send(warmup, ratePerSecond);
          ctx.log(`${label}/${kind}: warmed up`);
        }
        await sleep(1000);
        for (const r of runs.values()) r.serverBefore = await sampleServers(r.urls);
        // Rounds alternate between the servers, so all see the same (shared, changing) machine.
        await profileMeasured(ctx, label, targets, async () => {
          for (let round = 0; round < rounds; round++) {
            for (const target of inTurn(targets, round)) {
              const r = runs.get(target.kind)!;
              ctx.log(
                `${label}/${target.kind}: round ${round + 1}/${rounds}, ${perRound} messages at ${ratePerSecond}/s to ${members} members`,
              );
              await r.round(perRound, ratePerSecond);
            }
          }
        });
        for (const [kind, r] of runs) {
          const size = await r.finish(members, ratePerSecond);
          results[kind]!.sizes.push(size);
          ctx.log(
            `${label}/${kind}: delivery p99 ${fmt(size.delivery.p99)} ms, last member p99 ${fmt(size.lastMember.p99)} ms, ${size.incompleteMessages} incomplete`,
          );
        }
      });
    }
    return { results, errors: {} };
  },

  tables(results) {
    const entries = Object.entries(results).flatMap(([kind, r]) =>
      r.sizes.map((size) => [kind, size] as [ServerKind, FanoutSize]),
    );
    return [
      {
        title:
          'fanout: send → receipt latency (ms) to every member of one channel across two gateways',
        columns: ['server', 'members', 'msgs/s', 'measure', 'samples', 'p50', 'p95', 'p99', 'max'],
        rows: entries.flatMap(([kind, r]) => [
          [
            kind,
            r.members,
            r.ratePerSecond,
            'each delivery',
            r.delivery.count,
            ...latencyCells(r.delivery),
          ],
          [
            kind,
            r.members,
            r.ratePerSecond,
            'last member',
            r.lastMember.count,
            ...latencyCells(r.lastMember),
          ],
          [kind, r.members, r.ratePerSecond, 'sender ack', r.ack.count, ...latencyCells(r.ack)],
        ]),
      },
      {
        title: 'fanout: counts and CPU',
        columns: [
          'server',
          'members',
          'sent',
          'acked',
          'send errors',
          'deliveries',
          'expected',
          'incomplete msgs',
          'CPU (% of a core)',
          'gen loop p99 ms',
          'inside the send handler',
        ],
        rows: entries.map(([kind, r]) => [
          kind,
          r.members,
          r.sent,
          r.acked,
          errorsText(r.sendErrors),
          r.deliveries,
          r.expectedDeliveries,
          r.incompleteMessages,
          cpuText(r.cpu),
          fmt(r.generatorEventLoopP99Ms),
          serverText(r.server),
        ]),
      },
    ];
  },

  targets(results) {
    const at = (kind: ServerKind) =>
      results[kind]?.sizes.find((x) => x.members === TARGET_MEMBERS) ?? results[kind]?.sizes[0];
    const s = at('signalink');
    const v = at('vanilla');
    const ratio = s && v ? s.delivery.p99 / v.delivery.p99 : NaN;
    const values = Object.fromEntries(
      (Object.keys(results) as ServerKind[]).map((kind) => {
        const x = at(kind);
        return [kind, x ? `${fmt(x.delivery.p99)} ms (${x.members})` : '-'];
      }),
    );
    return [
      {
        scenario: 'fanout',
        target: `delivery p99 ≤ ${TARGET_RATIO}× vanilla`,
        values,
        met: Number.isFinite(ratio) ? ratio <= TARGET_RATIO && s!.incompleteMessages === 0 : null,
        detail: Number.isFinite(ratio)
          ? `${fmt(ratio, 2)}× vanilla`
          : 'needs signalink and vanilla',
      },
    ];
  },
};

/** One server's side of the interleaved fan-out measurement. */
interface FanoutRun {
  urls: string[];
  serverBefore: ServerSample | undefined;
  send(count: number, ratePerSecond: number): Promise<SendResult>;
  round(count: number, ratePerSecond: number): Promise<void>;
  finish(members: number, ratePerSecond: number): Promise<FanoutSize>;
}

async function prepare(
  target: Target,
  population: Population,
  channelId: string,
): Promise<FanoutRun> {
  const { kind, deployment, pool } = target;
  // Members alternate between the two gateways; user 0 (the sender) is worker 0's first.
  const specs = population.users.map((u, i) => deployment.client(u, i % 2));
  const parts = deal(specs, pool.size);
  const connects = await pool.each<ConnectResult>((i) => ({
    type: 'connect',
    clients: parts[i]!,
    sdk: false,
    concurrency: 20,
    timeoutMs: 30_000,
  }));
  const failed = connects.reduce((n, r) => n + (r?.failed ?? 0), 0);
  if (failed > 0) throw new Error(`fanout/${kind}: ${failed} members could not connect`);

  const delivery = new Histogram();
  const lastMember = new Histogram();
  const ack = new Histogram();
  const sendErrors: Record<string, number> = {};
  const cpu: CpuUsage[] = [];
  let sent = 0;
  let acked = 0;
  let deliveries = 0;
  let incompleteMessages = 0;
  let generatorEventLoopP99Ms = 0;
  const urls = deployment.nodes.map((n) => n.url);

  const send = (count: number, ratePerSecond: number) =>
    pool.request<SendResult>(0, {
      type: 'send',
      senders: [{ client: 0, channelId }],
      ratePerSecond,
      maxCount: count,
      durationMs: (count / ratePerSecond) * 1000 + 5000,
      ackTimeoutMs: 10_000,
      contentBytes: CONTENT_BYTES,
      keepAcked: false,
    });

  const run: FanoutRun = {
    urls,
    serverBefore: undefined,
    send,
    async round(count, ratePerSecond) {
      await pool.all({ type: 'arm', perMessage: true, keepIds: false });
      const meter = new CpuMeter(deployment);
      const result = await send(count, ratePerSecond);
      await sleep(2000);
      const collected = await pool.all<CollectResult>({ type: 'collect' });
      cpu.push(meter.stop(collected.reduce((n, r) => n + r.cpuMs, 0)));
      sent += result.sent;
      acked += result.ok;
      ack.merge(result.ackMs);
      for (const [k, v] of Object.entries(result.errors)) sendErrors[k] = (sendErrors[k] ?? 0) + v;
      const perMessage = new Map<string, [number, number]>();
      for (const c of collected) {
        delivery.merge(c.receiveMs);
        deliveries += c.deliveries;
        generatorEventLoopP99Ms = Math.max(generatorEventLoopP99Ms, c.eventLoopP99Ms);
        for (const [id, n, max] of c.perMessage) {
          const e = perMessage.get(id);
          if (e) {
            e[0] += n;
            e[1] = Math.max(e[1], max);
          } else perMessage.set(id, [n, max]);
        }
      }
      for (const [n, max] of perMessage.values()) {
        if (n >= population.users.length) lastMember.record(max);
        else incompleteMessages += 1;
      }
      incompleteMessages += Math.max(0, result.ok - perMessage.size);
    },
    async finish(members, ratePerSecond) {
      return {
        members,
        ratePerSecond,
        sent,
        acked,
        sendErrors,
        expectedDeliveries: acked * members,
        deliveries,
        delivery: delivery.summary(),
        lastMember: lastMember.summary(),
        incompleteMessages,
        ack: ack.summary(),
        cpu: combineCpu(cpu),
        generatorEventLoopP99Ms,
        server: serverDelta(run.serverBefore, await sampleServers(urls)),
      };
    },
  };
  return run;
}
