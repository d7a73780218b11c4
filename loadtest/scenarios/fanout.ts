import type { ServerKind } from '../lib/deployment.js';
import { CpuMeter, cpuText, withDeployment, type CpuUsage, type Scenario } from '../lib/harness.js';
import { Histogram, type Summary } from '../lib/histogram.js';
import { sleep } from '../lib/paths.js';
import type { CollectResult, ConnectResult, SendResult } from '../lib/protocol.js';
import { errorsText, fmt, latencyCells } from '../lib/report.js';
import { makePopulation } from '../lib/seed.js';
import { sampleServers, serverDelta, serverText, type ServerStats } from '../lib/server-metrics.js';
import { deal } from '../lib/workers.js';

const CONTENT_BYTES = 100;
const TARGET_RATIO = 1.3;

export interface FanoutResult {
  members: number;
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

  async run(ctx, kind) {
    const { members, messages, warmup, ratePerSecond } = ctx.sizes.fanout;
    const population = makePopulation('fanout', 1, members);
    const channelId = [...population.channels.keys()][0]!;
    return withDeployment(
      ctx,
      { scenario: 'fanout', kind, nodeCount: 2, population },
      async (deployment, pool) => {
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

        const sendCommand = (count: number) =>
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
        // Warm-up messages (JIT, connection pools) are sent and then forgotten.
        await sendCommand(warmup);
        await sleep(1000);
        await pool.all({ type: 'arm', perMessage: true, keepIds: false });
        const meter = new CpuMeter(
          deployment.nodes.map((n) => n.pid),
          ctx.infra,
        );
        ctx.log(`fanout/${kind}: ${messages} messages at ${ratePerSecond}/s to ${members} members`);
        const urls = deployment.nodes.map((n) => n.url);
        const serverBefore = await sampleServers(urls);
        const sent = await sendCommand(messages);
        await sleep(2000);
        const collected = await pool.all<CollectResult>({ type: 'collect' });
        const cpu = meter.stop(collected.reduce((n, r) => n + r.cpuMs, 0));
        const server = serverDelta(serverBefore, await sampleServers(urls));

        const delivery = new Histogram();
        const lastMember = new Histogram();
        const perMessage = new Map<string, [number, number]>();
        for (const c of collected) {
          delivery.merge(c.receiveMs);
          for (const [id, n, max] of c.perMessage) {
            const e = perMessage.get(id);
            if (e) {
              e[0] += n;
              e[1] = Math.max(e[1], max);
            } else perMessage.set(id, [n, max]);
          }
        }
        let incompleteMessages = 0;
        for (const [n, max] of perMessage.values()) {
          if (n >= members) lastMember.record(max);
          else incompleteMessages += 1;
        }
        incompleteMessages += Math.max(0, sent.ok - perMessage.size);
        return {
          members,
          sent: sent.sent,
          acked: sent.ok,
          sendErrors: sent.errors,
          expectedDeliveries: sent.ok * members,
          deliveries: collected.reduce((n, r) => n + r.deliveries, 0),
          delivery: delivery.summary(),
          lastMember: lastMember.summary(),
          incompleteMessages,
          ack: Histogram.from(sent.ackMs).summary(),
          cpu,
          generatorEventLoopP99Ms: Math.max(...collected.map((c) => c.eventLoopP99Ms)),
          server,
        };
      },
    );
  },

  tables(results) {
    const entries = Object.entries(results) as [ServerKind, FanoutResult][];
    return [
      {
        title:
          'fanout: send → receipt latency (ms) to every member of one channel across two gateways',
        columns: ['server', 'measure', 'samples', 'p50', 'p95', 'p99', 'max'],
        rows: entries.flatMap(([kind, r]) => [
          [kind, 'each delivery', r.delivery.count, ...latencyCells(r.delivery)],
          [kind, 'last member', r.lastMember.count, ...latencyCells(r.lastMember)],
          [kind, 'sender ack', r.ack.count, ...latencyCells(r.ack)],
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
    const s = results.signalink;
    const b = results.baseline;
    const ratio = s && b ? s.delivery.p99 / b.delivery.p99 : NaN;
    return [
      {
        scenario: 'fanout',
        target: `delivery p99 ≤ ${TARGET_RATIO}× baseline`,
        signalink: s ? `${fmt(s.delivery.p99)} ms` : '-',
        baseline: b ? `${fmt(b.delivery.p99)} ms` : '-',
        met: Number.isFinite(ratio) ? ratio <= TARGET_RATIO && s!.incompleteMessages === 0 : null,
        detail: Number.isFinite(ratio) ? `${fmt(ratio, 2)}× the baseline` : 'needs both servers',
      },
    ];
  },
};
