import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { requiredEnv } from '../support/env.js';
import { startNode, type NodeProcess } from '../support/node-process.js';
import {
  compileK6Double,
  metricValue,
  readSummary,
  runK6,
  runK6File,
  type K6Run,
  type Summary,
} from '../support/k6-double.js';

// Every scenario of loadtest/k6, run small by the k6 test double against a real gateway (the
// api and gateway roles on real PostgreSQL and Redis, 127.0.0.1, bounded in count and time).
const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname, '../..');
const SCENARIO_TIMEOUT_MS = 240_000;
// Latency thresholds a loaded shared machine always meets: these runs prove that thresholds are
// evaluated and enforced (and the last test that an unmeetable one fails the run), not how fast
// this machine is. Users set real targets by env.
const SLOW = '60000';

// Each run's summary JSON and text output stay in test-artifacts/k6/ for a look afterwards.
const ARTIFACTS = resolve(ROOT, 'test-artifacts/k6');

let app: TestApp;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'k6-scenarios-'));
  await mkdir(ARTIFACTS, { recursive: true });
  await compileK6Double();
  app = await startTestApp({ ROLES: 'api,gateway', REGISTRATIONS_PER_HOUR_PER_IP: '10000' }, 'k6');
}, 120_000);
afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(
  script: string,
  env: Record<string, string>,
  consoleOutput?: string,
  label = script,
) {
  const summaryFile = join(ARTIFACTS, `${label.replace(/\.js$/, '')}-summary.json`);
  await rm(summaryFile, { force: true });
  const result = await runK6(script, {
    env: { BASE_URL: app.baseUrl, SUMMARY_JSON: summaryFile, ...env },
    timeoutMs: 200_000,
    ...(consoleOutput ? { consoleOutput, logFormat: 'raw' as const } : {}),
  });
  await writeFile(join(ARTIFACTS, `${label.replace(/\.js$/, '')}.txt`), `${explain(result)}\n`);
  return { result, summaryFile };
}

function explain(result: K6Run): string {
  return `exit ${result.code} after ${result.durationMs} ms\n${result.stdout}\n${result.stderr.slice(-6000)}`;
}

async function passedSummary(
  result: K6Run,
  summaryFile: string,
  expected: string[],
): Promise<Summary> {
  if (result.code !== 0) throw new Error(`the run failed: ${explain(result)}`);
  const summary = await readSummary(summaryFile);
  expect(summary.thresholds.filter((t) => !t.ok)).toEqual([]);
  expect(summary.ok).toBe(true);
  // Every threshold the scenario promises was evaluated, and nothing else.
  expect(summary.thresholds.map((t) => `${t.metric} ${t.threshold}`).sort()).toEqual(
    [...expected].sort(),
  );
  expect(result.stdout).toMatch(new RegExp(`signalink ${summary.scenario}: all thresholds passed`));
  // The summary never carries credentials.
  expect(JSON.stringify(summary)).not.toMatch(/"token"/);
  return summary;
}

const count = (s: Summary, metric: string) => metricValue(s, metric, 'count');

/** `node dist/main.js verify` on a ledger, logging in as the run's owner. */
function verifyLedger(ledger: string, baseUrl: string, extra: string[] = []) {
  return promisify(execFile)(
    process.execPath,
    [
      resolve(ROOT, 'dist/main.js'),
      'verify',
      '--ledger',
      ledger,
      '--base-url',
      baseUrl,
      '--password',
      'signalink-load-test',
      ...extra,
    ],
    { cwd: dir },
  ).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

describe('k6 scenarios against the real gateway', () => {
  it(
    'chat load: the offered rate is sent, every acked message reaches every member once, thresholds hold',
    async () => {
      const { result, summaryFile } = await run('chat-load.js', {
        CHANNELS: '6',
        MEMBERS: '3',
        USERS: '9',
        VUS: '3',
        RATE: '15',
        DURATION: '4s',
        CONNECT_WINDOW: '3s',
        ACK_P99_MS: SLOW,
        DELIVERY_P99_MS: SLOW,
      });
      const s = await passedSummary(result, summaryFile, [
        `signalink_ack_ms p(99)<${SLOW}`,
        `signalink_delivery_ms p(99)<${SLOW}`,
        'signalink_send_failed rate<=0.01',
        'signalink_connect_failed rate<=0.01',
        'signalink_messages_acked count>0',
        'signalink_messages_lost count==0',
        'signalink_seq_gaps count==0',
        'signalink_clients_behind count==0',
        'signalink_order_violations count==0',
      ]);
      const acked = count(s, 'signalink_messages_acked');
      // 15/s for 4 s, open loop: all 60 were sent and acked.
      expect(acked).toBe(60);
      expect(metricValue(s, 'signalink_send_failed', 'fails')).toBe(60);
      expect(metricValue(s, 'signalink_ack_ms', 'count')).toBe(60);
      // Each message is held by the one socket of each of its channel's 3 members.
      expect(count(s, 'signalink_messages_received')).toBe(acked * 3);
      expect(count(s, 'signalink_messages_expected')).toBe(acked * 3);
      expect(metricValue(s, 'signalink_delivery_ms', 'count')).toBe(
        count(s, 'signalink_messages_delivered'),
      );
      expect(count(s, 'signalink_connections')).toBe(9);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'idle soak: ramps to the socket target, holds it without drops, and every socket answers at the end',
    async () => {
      const { result, summaryFile } = await run('idle-soak.js', {
        SOCKETS: '24',
        SOCKETS_PER_VU: '4',
        SOCKETS_PER_USER: '3',
        CHANNEL_SIZE: '4',
        RAMP: '3s',
        HOLD: '3s',
        CONNECT_P95_MS: SLOW,
        PROBE_P99_MS: SLOW,
      });
      const s = await passedSummary(result, summaryFile, [
        `signalink_connect_ms p(95)<${SLOW}`,
        'signalink_connect_failed rate<=0.01',
        'signalink_connections count>=24',
        'signalink_socket_drops count==0',
        'signalink_probe_failed rate==0',
        `signalink_probe_ms p(99)<${SLOW}`,
      ]);
      expect(count(s, 'signalink_connections')).toBe(24);
      expect(metricValue(s, 'signalink_probe_failed', 'fails')).toBe(24);
      // One iteration per VU: the hold lasted to the end of the stages.
      expect(count(s, 'iterations')).toBe(6);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'large-channel fan-out: every announcement reaches every member, latency measured per delivery',
    async () => {
      const { result, summaryFile } = await run('fanout.js', {
        MEMBERS: '20',
        SOCKETS_PER_VU: '5',
        RATE: '4',
        DURATION: '3s',
        CONNECT_WINDOW: '4s',
        DELIVERY_P99_MS: SLOW,
        SEND_P99_MS: SLOW,
      });
      const s = await passedSummary(result, summaryFile, [
        `signalink_delivery_ms p(99)<${SLOW}`,
        `signalink_rest_send_ms p(99)<${SLOW}`,
        'signalink_send_failed rate<=0.01',
        'signalink_connect_failed rate<=0.01',
        'signalink_messages_acked count>0',
        'signalink_seq_gaps count==0',
        'signalink_clients_behind count==0',
        'signalink_order_violations count==0',
        'checks rate>=0.99',
      ]);
      const acked = count(s, 'signalink_messages_acked');
      expect(acked).toBeGreaterThanOrEqual(10);
      expect(count(s, 'signalink_messages_received')).toBe(acked * 20);
      expect(count(s, 'signalink_messages_expected')).toBe(acked * 20);
      // The members were connected before the first announcement: all of it came live.
      expect(metricValue(s, 'signalink_delivery_ms', 'count')).toBe(acked * 20);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'reconnect storm: every client drops at once, comes back, and catches up what was written meanwhile',
    async () => {
      const { result, summaryFile } = await run('reconnect-storm.js', {
        CLIENTS: '20',
        SOCKETS_PER_VU: '5',
        SOCKETS_PER_USER: '2',
        CHANNELS: '3',
        WRITE_RATE: '10',
        WARMUP: '4s',
        OUTAGE: '1s',
        JITTER: '1s',
        AFTER: '3s',
        RECONNECT_P99_MS: SLOW,
        CATCHUP_P99_MS: SLOW,
        DELIVERY_P99_MS: SLOW,
      });
      const s = await passedSummary(result, summaryFile, [
        `signalink_reconnect_ms p(99)<${SLOW}`,
        `signalink_catchup_ms p(99)<${SLOW}`,
        'signalink_reconnects count>=20',
        'signalink_reconnect_gave_up count==0',
        'signalink_connect_failed rate<=0.01',
        `signalink_delivery_ms p(99)<${SLOW}`,
        'signalink_send_failed rate<=0.01',
        'signalink_seq_gaps count==0',
        'signalink_clients_behind count==0',
        'signalink_order_violations count==0',
        'checks rate>=0.99',
      ]);
      expect(count(s, 'signalink_reconnects')).toBe(20);
      expect(metricValue(s, 'signalink_catchup_ms', 'count')).toBe(20);
      // What was written while the clients were away came through channel.sync.
      expect(count(s, 'signalink_messages_synced')).toBeGreaterThan(0);
      expect(count(s, 'signalink_messages_received')).toBe(count(s, 'signalink_messages_expected'));
      expect(count(s, 'signalink_messages_expected')).toBeGreaterThan(0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'chaos companion: its ledger verifies clean, and the verifier catches a message removed afterwards',
    async () => {
      const ledger = join(dir, 'ledger.log');
      const { result, summaryFile } = await run(
        'chaos-companion.js',
        {
          CHANNELS: '4',
          MEMBERS: '3',
          USERS: '6',
          VUS: '2',
          RATE: '10',
          DURATION: '4s',
          CONNECT_WINDOW: '3s',
          QUIET: '1s',
        },
        ledger,
      );
      const s = await passedSummary(result, summaryFile, [
        'signalink_messages_acked count>0',
        'signalink_send_failed rate<=0.01',
        'signalink_reconnect_gave_up count==0',
        'signalink_messages_lost count==0',
        'signalink_seq_gaps count==0',
        'signalink_clients_behind count==0',
        'signalink_order_violations count==0',
      ]);
      const acked = count(s, 'signalink_messages_acked');
      expect(acked).toBe(40);

      const verify = (extra: string[] = []) =>
        promisify(execFile)(
          process.execPath,
          [
            resolve(ROOT, 'dist/main.js'),
            'verify',
            '--ledger',
            ledger,
            '--base-url',
            app.baseUrl,
            '--password',
            'signalink-load-test',
            ...extra,
          ],
          { cwd: dir },
        ).then(
          (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
          (e: { code: number; stdout: string; stderr: string }) => ({
            code: e.code,
            stdout: e.stdout,
            stderr: e.stderr,
          }),
        );

      const clean = await verify([
        '--report',
        join(dir, 'report.json'),
        '--name',
        'no-fault',
        '--recovered-in-ms',
        '0',
      ]);
      if (clean.code !== 0) throw new Error(`verify failed: ${clean.stdout}\n${clean.stderr}`);
      const lines = clean.stdout.trim().split('\n');
      expect(lines.at(-1)).toBe(
        `chaos no-fault: acked=${acked} lost=0 duplicated=0 gaps=0 recovered_in_ms=0`,
      );
      expect(clean.stdout).toMatch(/verdict: PASS/);
      const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
      expect(report.totals).toMatchObject({
        channels: 4,
        acked,
        stored: acked,
        lost: 0,
        duplicated: 0,
        unexpected: 0,
        gaps: 0,
        mismatched: 0,
        receiversBehind: 0,
        // 6 users in 4 channels of 3: 12 (receiver, channel) pairs, each receiving every message.
        receivers: 12,
        receipts: acked * 3,
      });

      // Remove one acked message behind the system's back: lost, and the hole it leaves.
      const db = new pg.Client({ connectionString: app.databaseUrl });
      await db.connect();
      try {
        const victim = report.channels[0];
        await db.query('delete from messages where channel_id = $1 and seq = $2', [
          victim.channelId,
          1,
        ]);
      } finally {
        await db.end();
      }
      const broken = await verify();
      expect(broken.code).toBe(1);
      expect(broken.stdout.trim().split('\n').at(-1)).toBe(
        `acked=${acked} lost=1 duplicated=0 gaps=1`,
      );
      expect(broken.stdout).toMatch(
        /verdict: FAIL \(1 acked message\(s\) lost; 1 seq\(s\) missing below the heads; 3 ack\(s\) or receipt\(s\) disagree with the store\)/,
      );
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'chaos companion under a real fault: the gateway is SIGKILLed mid-run and restarted, the load goes on, the ledger verifies clean',
    async () => {
      const db = await createTestDatabase('k6chaos');
      const env = {
        DATABASE_URL: db.url,
        REDIS_URL: requiredEnv('REDIS_URL'),
        REDIS_KEY_PREFIX: `kc${randomBytes(3).toString('hex')}:`,
        JWT_SECRET: 'k6-chaos-secret-k6-chaos-secret-k6-chaos',
        ROLES: 'api,gateway',
        REGISTRATIONS_PER_HOUR_PER_IP: '10000',
      };
      const nodes: NodeProcess[] = [];
      try {
        const first = await startNode(env);
        nodes.push(first);
        const ledger = join(dir, 'chaos-ledger.log');
        const summaryFile = join(ARTIFACTS, 'chaos-companion-sigkill-summary.json');
        const running = runK6('chaos-companion.js', {
          env: {
            BASE_URL: first.url,
            SUMMARY_JSON: summaryFile,
            CHANNELS: '3',
            MEMBERS: '3',
            USERS: '6',
            VUS: '2',
            RATE: '10',
            DURATION: '10s',
            CONNECT_WINDOW: '3s',
            QUIET: '1s',
          },
          consoleOutput: ledger,
          logFormat: 'raw',
          timeoutMs: 200_000,
        });
        // Kill the only gateway once sends are being acked, then start it again on its port.
        const deadline = Date.now() + 120_000;
        for (;;) {
          const text = await readFile(ledger, 'utf8').catch(() => '');
          if ((text.match(/"kind":"ack"/g) ?? []).length >= 15) break;
          if (Date.now() > deadline)
            throw new Error(
              `the companion acked fewer than 15 sends in 120 s:\n${text.slice(-2000)}`,
            );
          await new Promise((r) => setTimeout(r, 200));
        }
        await first.kill('SIGKILL');
        const second = await startNode({ ...env, PORT: String(first.port) });
        nodes.push(second);
        const result = await running;
        await writeFile(join(ARTIFACTS, 'chaos-companion-sigkill.txt'), `${explain(result)}\n`);
        const s = await passedSummary(result, summaryFile, [
          'signalink_messages_acked count>0',
          'signalink_send_failed rate<=0.01',
          'signalink_reconnect_gave_up count==0',
          'signalink_messages_lost count==0',
          'signalink_seq_gaps count==0',
          'signalink_clients_behind count==0',
          'signalink_order_violations count==0',
        ]);
        // Every client lost its connection and came back.
        expect(count(s, 'signalink_socket_drops')).toBe(6);
        expect(count(s, 'signalink_reconnects')).toBe(6);
        expect(count(s, 'signalink_messages_acked')).toBe(100);

        const verdict = await verifyLedger(ledger, second.url, [
          '--name',
          'gateway-sigkill',
          '--recovered-in-ms',
          '0',
          '--report',
          join(dir, 'chaos-report.json'),
        ]);
        if (verdict.code !== 0)
          throw new Error(`verify failed: ${verdict.stdout}\n${verdict.stderr}`);
        expect(verdict.stdout.trim().split('\n').at(-1)).toBe(
          'chaos gateway-sigkill: acked=100 lost=0 duplicated=0 gaps=0 recovered_in_ms=0',
        );
        const report = JSON.parse(await readFile(join(dir, 'chaos-report.json'), 'utf8'));
        expect(report.totals).toMatchObject({
          acked: 100,
          unexpected: 0,
          mismatched: 0,
          receiversBehind: 0,
          receivers: 9,
        });
        // Sends cut off by the kill were retried with the same clientMsgId: stored once each.
        expect(report.totals.stored).toBe(100);
      } finally {
        await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
        await db.drop();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'a threshold the system cannot meet fails the run with k6’s exit code, and the summary says which',
    async () => {
      const { result, summaryFile } = await run(
        'chat-load.js',
        {
          CHANNELS: '2',
          MEMBERS: '2',
          USERS: '2',
          VUS: '1',
          RATE: '5',
          DURATION: '2s',
          CONNECT_WINDOW: '2s',
          ACK_P99_MS: '0.001',
          DELIVERY_P99_MS: SLOW,
        },
        undefined,
        'chat-load-impossible-threshold',
      );
      expect(result.code).toBe(99);
      const summary = await readSummary(summaryFile);
      expect(summary.ok).toBe(false);
      expect(summary.thresholds.filter((t) => !t.ok)).toEqual([
        { metric: 'signalink_ack_ms', threshold: 'p(99)<0.001', ok: false },
      ]);
      // The other thresholds were evaluated too, and passed.
      expect(summary.thresholds.filter((t) => t.ok)).toHaveLength(8);
      expect(result.stdout).toMatch(/THRESHOLDS FAILED/);
      expect(result.stderr).toMatch(/thresholds on metrics 'signalink_ack_ms' have been crossed/);
    },
    SCENARIO_TIMEOUT_MS,
  );
});

describe('the k6 double refuses what it does not implement', () => {
  const script = async (name: string, body: string) => {
    const file = join(dir, name);
    await writeFile(file, body);
    return file;
  };

  it('an unknown executor, a threshold on a metric nobody defined, an unknown module: each stops the run', async () => {
    const unknownExecutor = await script(
      'executor.js',
      "export const options = { scenarios: { a: { executor: 'externally-controlled', vus: 1 } } };\nexport default function () {}\n",
    );
    const r1 = await runK6File(unknownExecutor, { env: {}, timeoutMs: 60_000 });
    expect(r1.code).toBe(104);
    expect(r1.stderr).toMatch(/options\.scenarios\.a\.executor/);

    const unknownMetric = await script(
      'metric.js',
      "export const options = { scenarios: { a: { executor: 'per-vu-iterations' } }, thresholds: { nope: ['count==0'] } };\nexport default function () {}\n",
    );
    const r2 = await runK6File(unknownMetric, { env: {}, timeoutMs: 60_000 });
    expect(r2.code).toBe(104);
    expect(r2.stderr).toMatch(/no metric name \\?"nope\\?" found/);

    const unknownModule = await script(
      'module.js',
      "import { group } from 'k6/experimental/browser';\nexport const options = { scenarios: { a: { executor: 'per-vu-iterations' } } };\nexport default function () { group(); }\n",
    );
    const r3 = await runK6File(unknownModule, { env: {}, timeoutMs: 60_000 });
    expect(r3.code).toBe(107);
    expect(r3.stderr).toMatch(/does not provide \\?"k6\/experimental\/browser\\?"/);
  }, 120_000);
});
