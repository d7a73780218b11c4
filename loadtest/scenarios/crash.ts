import { killNode, type ServerKind } from '../lib/deployment.js';
import { oneAfterAnother, withDeployment, type Scenario } from '../lib/harness.js';
import { nowMs, sleep } from '../lib/paths.js';
import type {
  AckedMessage,
  CollectResult,
  ConnectResult,
  FailoverResult,
  SendResult,
  SettleResult,
} from '../lib/protocol.js';
import { errorsText, fmt } from '../lib/report.js';
import { makePopulation } from '../lib/seed.js';
import { deal } from '../lib/workers.js';

const CONTENT_BYTES = 100;
const SETTLE_TIMEOUT_MS = 30_000;
/** The baseline has nothing to catch up with; this only lets in-flight broadcasts land. */
const BASELINE_SETTLE_MS = 3000;

export interface CrashResult {
  clients: number;
  clientsMoved: number;
  failoverErrors: Record<string, number>;
  failoverMs: number;
  sent: number;
  acked: number;
  sendErrors: Record<string, number>;
  /** Acked messages that at least one member of the channel never received. */
  lostMessages: number;
  /** (member, acked message) pairs that never arrived. */
  missingDeliveries: number;
  expectedDeliveries: number;
  /** Missing deliveries of the worst-off client, and on average per client that moved. */
  worstClientMissing: number;
  meanMissingPerMovedClient: number;
  duplicates: number;
  settle?: SettleResult;
}

export const crash: Scenario<CrashResult> = {
  name: 'crash',

  run(ctx, kinds) {
    return oneAfterAnother(ctx, 'crash', kinds, async (kind) => {
      await ctx.beforeMeasuring(`crash of ${kind}`);
      const { channels, membersPerChannel, ratePerSecond, durationMs, killAtMs, reconnectDelayMs } =
        ctx.sizes.crash;
      const population = makePopulation('crash', channels, membersPerChannel);
      return withDeployment(
        ctx,
        'crash',
        kind,
        { nodeCount: 2, population },
        async (deployment, pool) => {
          // Node 0 survives; node 1 is killed.
          const victim = deployment.nodes[1]!;
          // Signalink clients use the SDK (seq tracking, sync on reconnect); Centrifugo clients
          // resubscribe from their last stream position (history recovery); the Socket.IO peers'
          // clients are plain Socket.IO clients, which is all those servers offer.
          const sdk = kind === 'signalink';
          const specs = population.users.map((u, i) => deployment.client(u, i % 2));
          // Where clients connect (a WebSocket URL for Centrifugo, the node's URL otherwise).
          const clientUrl = (nodeIndex: number) =>
            deployment.client(population.users[0]!, nodeIndex).url;
          const parts = deal(specs, pool.size);
          const connects = await pool.each<ConnectResult>((i) => ({
            type: 'connect',
            clients: parts[i]!,
            sdk,
            concurrency: 10,
            timeoutMs: 30_000,
          }));
          const failed = connects.reduce((n, r) => n + (r?.failed ?? 0), 0);
          if (failed > 0) throw new Error(`crash/${kind}: ${failed} clients could not connect`);
          await pool.all({ type: 'arm', perMessage: false, keepIds: true });

          ctx.log(
            `crash/${kind}: ${specs.length} clients sending ${ratePerSecond}/s for ${durationMs} ms; SIGKILL at ${killAtMs} ms`,
          );
          const sending = pool.each<SendResult>((i) => ({
            type: 'send',
            senders: parts[i]!.map((c, index) => ({ client: index, channelId: c.channelIds[0]! })),
            ratePerSecond: ratePerSecond / pool.size,
            durationMs,
            maxCount: Number.MAX_SAFE_INTEGER,
            ackTimeoutMs: 5000,
            contentBytes: CONTENT_BYTES,
            keepAcked: true,
          }));
          await sleep(killAtMs);
          await killNode(victim);
          const killedAt = nowMs();
          const moves = await pool.all<FailoverResult>({
            type: 'failover',
            fromUrl: clientUrl(1),
            toUrl: clientUrl(0),
            delayMs: reconnectDelayMs,
          });
          const failoverMs = nowMs() - killedAt;
          ctx.log(
            `crash/${kind}: victim killed; its clients were back within ${fmt(failoverMs)} ms`,
          );
          const sends = await sending;

          const acked: AckedMessage[] = sends.flatMap((s) => s?.acked ?? []);
          let settle: SettleResult | undefined;
          if (sdk) {
            const heads: Record<string, number> = {};
            for (const m of acked) heads[m.channelId] = Math.max(heads[m.channelId] ?? 0, m.seq);
            const settles = await pool.all<SettleResult>({
              type: 'settle',
              heads,
              timeoutMs: SETTLE_TIMEOUT_MS,
            });
            settle = settles.reduce(
              (t, s) => ({ caughtUp: t.caughtUp + s.caughtUp, behind: t.behind + s.behind }),
              { caughtUp: 0, behind: 0 },
            );
          } else await sleep(BASELINE_SETTLE_MS);
          const collected = await pool.all<CollectResult>({ type: 'collect' });

          const received = new Map<string, Set<string>>();
          for (const c of collected)
            for (const [userId, ids] of c.received) received.set(userId, new Set(ids));
          const movedUsers = new Set(
            specs.filter((s) => s.url === clientUrl(1)).map((s) => s.userId),
          );
          const missingByUser = new Map<string, number>();
          let lostMessages = 0;
          let missingDeliveries = 0;
          for (const m of acked) {
            let lost = false;
            for (const userId of population.channels.get(m.channelId) ?? []) {
              if (received.get(userId)?.has(m.id)) continue;
              lost = true;
              missingDeliveries += 1;
              missingByUser.set(userId, (missingByUser.get(userId) ?? 0) + 1);
            }
            if (lost) lostMessages += 1;
          }
          const movedMissing = [...movedUsers].reduce((n, u) => n + (missingByUser.get(u) ?? 0), 0);
          const sendErrors: Record<string, number> = {};
          for (const s of sends)
            for (const [k, v] of Object.entries(s?.errors ?? {}))
              sendErrors[k] = (sendErrors[k] ?? 0) + v;
          const moved = moves.reduce((n, m) => n + m.moved, 0);
          const failoverErrors: Record<string, number> = {};
          for (const m of moves)
            for (const [k, v] of Object.entries(m.errors))
              failoverErrors[k] = (failoverErrors[k] ?? 0) + v;
          return {
            clients: specs.length,
            clientsMoved: moved,
            failoverErrors,
            failoverMs,
            sent: sends.reduce((n, s) => n + (s?.sent ?? 0), 0),
            acked: acked.length,
            sendErrors,
            lostMessages,
            missingDeliveries,
            expectedDeliveries: acked.length * membersPerChannel,
            worstClientMissing: Math.max(0, ...missingByUser.values()),
            meanMissingPerMovedClient: movedUsers.size ? movedMissing / movedUsers.size : 0,
            duplicates: collected.reduce((n, c) => n + c.duplicates, 0),
            ...(settle ? { settle } : {}),
          };
        },
      );
    });
  },

  tables(results) {
    const entries = Object.entries(results) as [ServerKind, CrashResult][];
    return [
      {
        title: 'crash: SIGKILL one of two gateways mid-run, its clients reconnect to the other',
        columns: [
          'server',
          'clients',
          'moved',
          'all back (ms)',
          'sent',
          'acked',
          'send errors (not acked)',
          'acked msgs lost',
          'missing deliveries',
          'expected deliveries',
          'worst client missing',
          'mean missing / moved client',
          'duplicates',
          'caught up',
        ],
        rows: entries.map(([kind, r]) => [
          kind,
          r.clients,
          r.clientsMoved,
          fmt(r.failoverMs, 0),
          r.sent,
          r.acked,
          errorsText(r.sendErrors),
          r.lostMessages,
          r.missingDeliveries,
          r.expectedDeliveries,
          r.worstClientMissing,
          fmt(r.meanMissingPerMovedClient),
          r.duplicates,
          r.settle ? `${r.settle.caughtUp}/${r.settle.caughtUp + r.settle.behind}` : 'n/a',
        ]),
      },
    ];
  },

  targets(results) {
    const s = results.signalink;
    const values = Object.fromEntries(
      Object.entries(results).map(([kind, r]) => [kind, `${r.lostMessages} lost of ${r.acked}`]),
    );
    const peers = (Object.entries(results) as [ServerKind, CrashResult][])
      .filter(([kind]) => kind !== 'signalink')
      .map(([kind, r]) => `${kind} misses ${fmt(r.meanMissingPerMovedClient)} per moved client`);
    return [
      {
        scenario: 'crash',
        target: '0 acked messages lost',
        values,
        met: s ? s.lostMessages === 0 && s.acked > 0 : null,
        detail: s
          ? [
              `${s.missingDeliveries} missing deliveries, ${s.duplicates} duplicates`,
              ...peers,
            ].join('; ')
          : 'not run',
      },
    ];
  },
};
