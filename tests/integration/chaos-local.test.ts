// A bounded subset of the local chaos suite (`npm run chaos -- local NAME`, docs/chaos.md) on
// real PostgreSQL, Redis and three Kafka brokers of its own, three gateway processes behind a
// real HAProxy, and relay, analytics and notifier processes, with the k6 chaos companion
// running through the k6 double. The three that matter most and fit the time budget:
// - gateway-sigkill: the delivery guarantee itself (acked = durable, every member gets every
//   message once after reconnecting) across a crash;
// - kafka-broker-kill: the event pipeline (outbox -> relay -> Kafka -> analytics) keeps its
//   exactly-once count while a broker dies, with replication 3 and min.insync.replicas 2;
// - scale-out-rebalance: issue 9's rebalancing, end to end: load on two gateways, the third
//   joins, connections converge by the gateways' own rule with zero messages lost.
// The other six (drain, all brokers down, Redis and PostgreSQL restarts, relay and analytics
// kills) run with `npm run chaos -- local all`; the pipeline tests cover relay and analytics
// kills and brokers down at the component level (tests/integration/pipeline).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haproxyConfig } from '../../loadtest/chaos/haproxy.js';
import { runChaosCommand, runLocalExperiments } from '../../loadtest/chaos/main.js';
import { compileK6Double } from '../support/k6-double.js';

const SUBSET = ['gateway-sigkill', 'kafka-broker-kill', 'scale-out-rebalance'];
/** Kafka start plus three experiments of a few minutes each on a loaded 2-core machine. */
const SUITE_TIMEOUT_MS = 30 * 60_000;

it('the generated HAProxy configuration is one HAProxy accepts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-check-'));
  try {
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(
      file,
      haproxyConfig({
        port: 18080,
        servers: [
          { name: 'gateway-1', port: 18081 },
          { name: 'gateway-2', port: 18082 },
        ],
      }),
    );
    const out = execFileSync('haproxy', ['-c', '-f', file], {
      env: { PATH: `${process.env.PATH}:/usr/sbin` },
    }).toString();
    expect(out).toMatch(/Configuration file is valid/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(() => haproxyConfig({ port: 1, servers: [] })).toThrow(/at least one/);
  expect(() =>
    haproxyConfig({
      port: 1,
      servers: [
        { name: 'a', port: 2 },
        { name: 'a', port: 3 },
      ],
    }),
  ).toThrow(/duplicate/);
});

it('lists the experiments, and refuses unknown ones and modes', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
  expect(await runChaosCommand(['local', '--list'], io)).toBe(0);
  expect(out).toEqual([
    'gateway-sigkill',
    'gateway-sigterm',
    'scale-out-rebalance',
    'kafka-broker-kill',
    'kafka-all-brokers-down',
    'redis-restart',
    'postgres-restart',
    'relay-kill',
    'analytics-kill',
  ]);
  expect(await runChaosCommand(['local', 'gateway-nap'], io)).toBe(2);
  expect(err.join('\n')).toMatch(/unknown experiment\(s\): gateway-nap/);
  expect(await runChaosCommand(['remote', 'gateway-sigkill'], io)).toBe(2);
  expect(await runChaosCommand(['local'], io)).toBe(2);
});

it(
  `${SUBSET.join(', ')}: each ends with its verdict line, zero loss, measured recovery`,
  async () => {
    await compileK6Double();
    const lines: string[] = [];
    const log: string[] = [];
    const results = await runLocalExperiments(SUBSET, {
      out: (l) => lines.push(l),
      err: (l) => {
        log.push(l);
        if (process.env.CHAOS_TEST_VERBOSE === '1') process.stderr.write(`${l}\n`);
      },
    });
    const explain = () => log.filter((l) => !l.includes('verify: channel')).join('\n');
    expect(results.map((r) => r.name)).toEqual(SUBSET);
    // One verdict line per experiment, and nothing else on stdout.
    expect(lines).toHaveLength(SUBSET.length);
    SUBSET.forEach((name, i) => {
      const m = new RegExp(
        `^chaos ${name}: acked=(\\d+) lost=(\\d+) duplicated=(\\d+) gaps=(\\d+) recovered_in_ms=(\\d+)$`,
      ).exec(lines[i]!);
      if (!m) throw new Error(`not a verdict line: ${lines[i]}\n${explain()}`);
      if (!results[i]!.ok)
        throw new Error(`${name} failed (${results[i]!.reasons.join('; ')}):\n${explain()}`);
      expect(Number(m[1])).toBeGreaterThan(0);
      expect([m[2], m[3], m[4]]).toEqual(['0', '0', '0']);
      expect(results[i]!.recoveredInMs).toBeDefined();
    });
    // The third gateway ended up holding connections that the first two shed.
    const rebalance = results[2]!.details.find((d) => d.startsWith('converged:'));
    expect(rebalance).toBeDefined();
    const moved = Number(/(\d+) connections moved to the new gateway/.exec(rebalance!)?.[1]);
    expect(moved).toBeGreaterThan(0);
  },
  SUITE_TIMEOUT_MS,
);
