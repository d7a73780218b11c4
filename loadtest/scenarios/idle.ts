import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerKind } from '../lib/deployment.js';
import { oneAfterAnother, withDeployment, type Scenario } from '../lib/harness.js';
import { Histogram, type Summary } from '../lib/histogram.js';
import { Inspector } from '../lib/inspector.js';
import { sleep } from '../lib/paths.js';
import { rssKb } from '../lib/processes.js';
import type { CollectResult, ConnectResult } from '../lib/protocol.js';
import { errorsText, fmt, latencyCells } from '../lib/report.js';
import { makePopulation } from '../lib/seed.js';
import { deal } from '../lib/workers.js';

/** Idle users belong to one 10-member channel each, so every socket joins real rooms. */
const MEMBERS_PER_CHANNEL = 10;
const TARGET_KB = 15;

export interface IdleStep {
  target: number;
  connected: number;
  failed: number;
  errors: Record<string, number>;
  rssKb: number;
  /** (RSS now − RSS before any connection) / connections held, both after a full GC. */
  kbPerConnection: number;
  /** The V8 heap's share of that. */
  heapKbPerConnection: number;
  connect: Summary;
}

export interface IdleResult {
  rssBeforeKb: number;
  heapBeforeKb: number;
  steps: IdleStep[];
}

export const idle: Scenario<IdleResult> = {
  name: 'idle',

  run(ctx, kinds) {
    return oneAfterAnother(ctx, 'idle', kinds, async (kind) => {
      await ctx.beforeMeasuring(`idle memory of ${kind}`);
      const { steps, settleMs, connectConcurrency } = ctx.sizes.idle;
      const total = steps[steps.length - 1]!;
      const population = makePopulation(
        'idle',
        Math.ceil(total / MEMBERS_PER_CHANNEL),
        MEMBERS_PER_CHANNEL,
      );
      return withDeployment(
        ctx,
        'idle',
        kind,
        { nodeCount: 1, population, inspect: kind !== 'centrifugo' },
        async (deployment, pool) => {
          const node = deployment.nodes[0]!;
          // Node servers: memory after a full collection, so garbage from the handshakes is not
          // counted. Centrifugo (Go) cannot be asked to collect from outside: its RSS as it is
          // once it stops moving, and no heap figure.
          const inspector = kind === 'centrifugo' ? undefined : await Inspector.attach(node.output);
          const sample = async () => {
            if (!inspector) return { rss: rssKb(node.pid), heap: rssKb(node.pid) };
            await inspector.collectGarbage();
            await sleep(500);
            return { rss: rssKb(node.pid), heap: (await inspector.heapUsed()) / 1024 };
          };
          // Connecting sockets trigger presence updates to their channel mates; on a busy
          // machine the clients read them late and the server holds them in write buffers for
          // a while. Wait until the live heap stops moving, so that backlog is not counted.
          const measure = async () => {
            let last = await sample();
            for (let i = 0; i < 10; i++) {
              await sleep(2000);
              const now = await sample();
              const settled = Math.abs(now.heap - last.heap) <= 0.01 * last.heap;
              last = now;
              if (settled) break;
            }
            return last;
          };
          // For attribution only (`heap-summary.js` diffs two of them): writing one costs the
          // server memory of its own, so RSS figures of a run with snapshots are not comparable.
          const snapshotDir = inspector && ctx.heapSnapshotDir;
          if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
          const snapshot = async (label: string) => {
            if (!snapshotDir) return;
            const file = join(snapshotDir, `idle-${kind}-${label}.heapsnapshot`);
            await inspector.writeHeapSnapshot(file);
            ctx.log(`idle/${kind}: heap snapshot in ${file}`);
          };
          await sleep(settleMs);
          const before = await measure();
          await snapshot('0');
          const result: IdleResult = {
            rssBeforeKb: before.rss,
            heapBeforeKb: before.heap,
            steps: [],
          };
          let held = 0;
          for (const target of steps) {
            const batch = population.users.slice(held, target).map((u) => deployment.client(u, 0));
            const parts = deal(batch, pool.size);
            const replies = await pool.each<ConnectResult>((i) => ({
              type: 'connect',
              clients: parts[i]!,
              sdk: false,
              concurrency: connectConcurrency,
              timeoutMs: 30_000,
            }));
            held = target;
            const hist = new Histogram();
            const errors: Record<string, number> = {};
            let failed = 0;
            for (const r of replies) {
              if (!r) continue;
              hist.merge(r.connectMs);
              failed += r.failed;
              for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
            }
            // Let the sockets go quiet (presence heartbeats, first pings) before measuring.
            await sleep(settleMs);
            const live = await pool.all<CollectResult>({ type: 'collect' });
            const connected = live.reduce((n, r) => n + r.connected, 0);
            const now = await measure();
            const step: IdleStep = {
              target,
              connected,
              failed,
              errors,
              rssKb: now.rss,
              kbPerConnection: connected > 0 ? (now.rss - before.rss) / connected : NaN,
              heapKbPerConnection:
                connected > 0 && inspector ? (now.heap - before.heap) / connected : NaN,
              connect: hist.summary(),
            };
            result.steps.push(step);
            ctx.log(
              `idle/${kind}: ${connected}/${target} connected, RSS ${fmt(now.rss / 1024)} MB, ${fmt(step.kbPerConnection, 2)} KB/conn (heap ${fmt(step.heapKbPerConnection, 2)})`,
            );
            await snapshot(String(connected));
          }
          inspector?.close();
          return result;
        },
      );
    });
  },

  tables(results) {
    const rows: (string | number)[][] = [];
    for (const [kind, r] of Object.entries(results) as [ServerKind, IdleResult][]) {
      for (const s of r.steps) {
        rows.push([
          kind,
          s.target,
          s.connected,
          errorsText(s.errors),
          fmt(r.rssBeforeKb / 1024),
          fmt(s.rssKb / 1024),
          fmt(s.kbPerConnection, 2),
          fmt(s.heapKbPerConnection, 2),
          ...latencyCells(s.connect),
        ]);
      }
    }
    return [
      {
        title: 'idle: connections held by one gateway, RSS per idle authenticated connection',
        columns: [
          'server',
          'target',
          'connected',
          'failed',
          'RSS before MB',
          'RSS after MB',
          'KB/conn',
          'heap KB/conn',
          'connect p50 ms',
          'p95',
          'p99',
          'max',
        ],
        rows,
      },
    ];
  },

  targets(results) {
    const last = (r?: IdleResult) => r?.steps[r.steps.length - 1];
    const s = last(results.signalink);
    const values = Object.fromEntries(
      Object.entries(results).map(([kind, r]) => {
        const x = last(r);
        return [kind, x ? `${fmt(x.kbPerConnection, 2)} KB @ ${x.connected}` : '-'];
      }),
    );
    return [
      {
        scenario: 'idle',
        target: `≤ ${TARGET_KB} KB RSS per idle authenticated connection`,
        values,
        met: s && s.failed === 0 ? s.kbPerConnection <= TARGET_KB : s ? false : null,
        detail: s
          ? `${fmt((s.kbPerConnection / TARGET_KB) * 100, 0)}% of the budget${s.failed ? `, ${s.failed} connections failed` : ''}`
          : 'not run',
      },
    ];
  },
};
