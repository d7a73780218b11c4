// Every PromQL expression the operator ships (dashboard panels, alert rules) and the KEDA query
// it scales gateways on, run against a real Prometheus (Debian's, 2.42) scraping a real
// Signalink process on 127.0.0.1, with the labels the operator's ServiceMonitor puts on its
// targets. Each query must parse and evaluate; those whose series Signalink itself exports must
// return data once traffic flowed; the rules loaded into that Prometheus evaluate without error.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SignalinkClient, SignalinkRest } from '../../services/client/index.js';
import { autoscalers } from '../../services/operator/desired/autoscaling.js';
import type { DesiredContext } from '../../services/operator/desired/context.js';
import { dashboardPanels, prometheusRule } from '../../services/operator/desired/monitoring.js';
import { allApis } from '../../services/operator/observed.js';
import { parseSignalink } from '../../services/operator/spec.js';
import { createTestDatabase } from '../support/database.js';
import { requiredEnv } from '../support/env.js';
import { freePort, startNode, type NodeProcess } from '../support/node-process.js';
import { kafkaEnv, uniquePrefix } from './pipeline/kafka-support.js';

const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';
const CTX = { namespace: 'messaging', name: 'chat' };
/** The labels prometheus-operator gives a target of the operator's ServiceMonitor. */
const TARGET_LABELS = {
  namespace: CTX.namespace,
  service: `${CTX.name}-gateway`,
  pod: `${CTX.name}-gateway-7d9f8-abcde`,
  app_kubernetes_io_instance: CTX.name,
  app_kubernetes_io_component: 'gateway',
};
const WAIT_MS = 90_000;
/** A wait plus the queries around it, on a loaded machine. */
const TEST_TIMEOUT_MS = 4 * WAIT_MS;

let db: { url: string; drop(): Promise<void> };
let signalink: NodeProcess | undefined;
let prometheus: ChildProcess | undefined;
let prometheusLog = '';
let dir: string;
let promUrl: string;
const clients: SignalinkClient[] = [];
let traffic: NodeJS.Timeout | undefined;

/** The ScaledObject's query for this installation, as the operator renders it. */
function kedaQuery(): string {
  const parsed = parseSignalink({
    apiVersion: 'signalink.io/v1alpha1',
    kind: 'Signalink',
    metadata: { name: CTX.name, namespace: CTX.namespace },
    spec: {
      image: { repository: 'signalink', tag: '1.0.0' },
      database: { secretRef: { name: 'db' } },
      redis: { url: 'redis://redis:6379' },
      kafka: { bootstrapServers: 'kafka:9092' },
      jwt: { secretRef: { name: 'jwt' } },
      gateway: { autoscaling: { enabled: true } },
      autoscaling: { engine: 'keda', prometheus: { serverAddress: 'http://prometheus:9090' } },
    },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const ctx = {
    ...CTX,
    spec: parsed.spec,
    owner: {},
    apis: allApis(true),
  } as unknown as DesiredContext;
  const scaled = autoscalers(ctx).find(
    (o) => o.kind === 'ScaledObject' && o.metadata?.name === `${CTX.name}-gateway`,
  ) as { spec: { triggers: { metadata: { query: string } }[] } } | undefined;
  if (!scaled) throw new Error('the operator rendered no gateway ScaledObject');
  return scaled.spec.triggers[0]!.metadata.query;
}

interface QueryResult {
  status: string;
  error?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; value: [number, string] }[];
  };
}

/** The last answer Prometheus gave, for the message of a wait that ran out. */
let lastAnswer = '';

async function query(expr: string): Promise<QueryResult> {
  const res = await fetch(`${promUrl}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }),
  });
  const body = (await res.json()) as QueryResult;
  lastAnswer = `${expr} -> ${JSON.stringify(body).slice(0, 600)}`;
  return body;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not happen within ${WAIT_MS} ms (last error: ${String(last ?? 'none')}; last answer: ${lastAnswer})\nprometheus log:\n${prometheusLog.slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  db = await createTestDatabase('monitoring');
  signalink = await startNode({
    // Every role but the operator, so relay, consumer and notifier series exist too.
    ROLES: 'api,gateway,relay,analytics,notifier',
    DATABASE_URL: db.url,
    REDIS_URL: requiredEnv('REDIS_URL'),
    REDIS_KEY_PREFIX: `mq${randomBytes(3).toString('hex')}:`,
    JWT_SECRET: 'monitoring-test-secret-monitoring-test-secret',
    ...kafkaEnv(uniquePrefix('monitoring')),
  });

  dir = await mkdtemp(join(tmpdir(), 'signalink-prometheus-'));
  const rule = prometheusRule({ ...CTX, spec: { monitoring: {} } } as unknown as DesiredContext);
  await writeFile(
    join(dir, 'rules.yaml'),
    stringify({ groups: rule.spec!.groups }, { lineWidth: 0 }),
  );
  await writeFile(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yaml')],
      scrape_configs: [
        {
          job_name: `${CTX.name}-gateway`,
          metrics_path: '/metrics',
          static_configs: [{ targets: [`127.0.0.1:${signalink.port}`], labels: TARGET_LABELS }],
        },
      ],
    }),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.on(
    'error',
    (err) => (prometheusLog += `spawn failed: ${err.message} (apt-get install prometheus)\n`),
  );
  prometheus.stdout!.on('data', (d: Buffer) => (prometheusLog = (prometheusLog + d).slice(-20000)));
  prometheus.stderr!.on('data', (d: Buffer) => (prometheusLog = (prometheusLog + d).slice(-20000)));
  await eventually('Prometheus ready', async () =>
    (await fetch(`${promUrl}/-/ready`)).ok ? true : undefined,
  );

  // Traffic only once Prometheus holds a first sample, so every counter's increase shows.
  await eventually('the first scrape', async () => {
    const r = await query('up{namespace="messaging"}');
    return r.data?.result[0]?.value[1] === '1' ? true : undefined;
  });
  // What users do: three of them in a channel, alice on two devices, bob on one, carol offline
  // (so the notifier has someone to notify), messages, history reads and a refused request.
  const suffix = randomBytes(3).toString('hex');
  const register = async (who: string) => {
    const rest = new SignalinkRest({ url: signalink!.url });
    const session = await rest.register({
      username: `${who}${suffix}`,
      email: `${who}${suffix}@example.com`,
      password: 'correct horse battery',
    });
    return { rest, id: session.user.id };
  };
  const [alice, bob, carol] = await Promise.all([
    register('alice'),
    register('bob'),
    register('carol'),
  ]);
  const channel = await alice.rest.createChannel({
    name: `ops-${suffix}`,
    type: 'private',
    memberIds: [bob.id, carol.id],
  });
  for (const rest of [alice.rest, alice.rest, bob.rest]) {
    const c = new SignalinkClient({ url: signalink.url, token: rest });
    clients.push(c);
    await c.connect();
    c.track(channel.id, 0);
  }
  // A steady trickle for the whole file (rates stay above zero), bounded in count.
  let sent = 0;
  const sender = clients[0]!;
  traffic = setInterval(() => {
    if (sent >= 400) return;
    sent++;
    void sender.send(channel.id, `message ${sent}`).catch(() => undefined);
    if (sent % 10 === 0) {
      void bob.rest.history(channel.id).catch(() => undefined);
      void fetch(`${signalink!.url}/api/v1/users/me`).catch(() => undefined); // a 401
    }
  }, 250);
}, 180_000);

afterAll(async () => {
  clearInterval(traffic);
  for (const c of clients) c.close();
  prometheus?.kill('SIGTERM');
  await signalink?.kill('SIGTERM');
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, TEST_TIMEOUT_MS);

/** Series only kube-state-metrics exports: there is none here, so no data is expected. */
const needsKubeStateMetrics = (expr: string) => /\bkube_[a-z_]+/.test(expr);

test(
  'the scrape carries the ServiceMonitor labels and traffic shows in rate()',
  async () => {
    const up = await eventually('up == 1 for the target', async () => {
      const r = await query(`up{namespace="messaging",app_kubernetes_io_instance="chat"}`);
      return r.data?.result[0]?.value[1] === '1' ? r.data.result[0] : undefined;
    });
    expect(up.metric).toMatchObject(TARGET_LABELS);
    await eventually('the sends in rate(signalink_gateway_messages_sent_total[5m])', async () => {
      const r = await query(
        `sum(rate(signalink_gateway_messages_sent_total{namespace="messaging"}[5m])) > 0`,
      );
      return r.data?.result.length ? true : undefined;
    });
  },
  TEST_TIMEOUT_MS,
);

test(
  'the KEDA query counts exactly the sockets that are open',
  async () => {
    const expr = kedaQuery();
    expect(expr).toBe(
      'sum(signalink_gateway_connections{namespace="messaging",service="chat-gateway"})',
    );
    const value = await eventually('the KEDA query returning 3', async () => {
      const r = await query(expr);
      if (r.status !== 'success') throw new Error(r.error);
      const v = r.data?.result[0]?.value[1];
      return v === '3' ? v : undefined;
    });
    expect(value).toBe('3');
    clients[2]!.close();
    await eventually('the KEDA query following a closed socket down to 2', async () => {
      const r = await query(expr);
      return r.data?.result[0]?.value[1] === '2' ? true : undefined;
    });
  },
  TEST_TIMEOUT_MS,
);

test(
  'every dashboard query parses and evaluates; each one Signalink feeds returns data',
  async () => {
    // Wait until the slowest series (consumer lag, relay lag) have samples.
    await eventually('consumer lag and relay lag series', async () => {
      const lag = await query('signalink_consumer_lag{namespace="messaging"}');
      const relay = await query('signalink_relay_lag_seconds_count{namespace="messaging"}');
      return lag.data?.result.length && relay.data?.result.length ? true : undefined;
    });
    const verdicts: string[] = [];
    for (const panel of dashboardPanels(CTX)) {
      for (const { expr } of panel.exprs) {
        const r = await eventually(`"${panel.title}" answering`, async () => {
          const res = await query(expr);
          if (res.status !== 'success') return res; // a parse error is final
          if (needsKubeStateMetrics(expr) || res.data!.result.length > 0) return res;
          return undefined;
        });
        const data = r.status === 'success' && r.data!.result.length > 0;
        verdicts.push(
          `${panel.title}: ${r.status}${r.error ? ` ${r.error}` : ''}${data ? ' data' : ' no data'}`,
        );
        expect({ panel: panel.title, expr, status: r.status, error: r.error }).toEqual({
          panel: panel.title,
          expr,
          status: 'success',
          error: undefined,
        });
        expect({ panel: panel.title, data }).toEqual({
          panel: panel.title,
          data: !needsKubeStateMetrics(expr),
        });
      }
    }
    process.stderr.write(`[monitoring] ${verdicts.join('\n[monitoring] ')}\n`);
  },
  TEST_TIMEOUT_MS,
);

test(
  'every alert expression evaluates, and the loaded rules run without error',
  async () => {
    const rule = prometheusRule({ ...CTX, spec: { monitoring: {} } } as unknown as DesiredContext);
    for (const r of rule.spec!.groups![0]!.rules!) {
      const res = await query(String(r.expr));
      expect({ alert: r.alert, status: res.status, error: res.error }).toEqual({
        alert: r.alert,
        status: 'success',
        error: undefined,
      });
    }
    const rules = await eventually('every loaded rule evaluated once', async () => {
      const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
        data: {
          groups: {
            rules: { name: string; health: string; lastError?: string; state: string }[];
          }[];
        };
      };
      const all = res.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((x) => x.health !== 'unknown') ? all : undefined;
    });
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual(
      [],
    );
    expect(rules.map((r) => r.name).sort()).toEqual(
      rule.spec!.groups![0]!.rules!.map((r) => r.alert).sort(),
    );
    // A healthy installation: its gateway is up and a relay holds the lease.
    const state = Object.fromEntries(rules.map((r) => [r.name, r.state]));
    expect(state.SignalinkGatewaysDown).toBe('inactive');
    expect(state.SignalinkNoActiveRelay).toBe('inactive');
  },
  TEST_TIMEOUT_MS,
);

test(
  'when the process goes, SignalinkGatewaysDown goes pending',
  async () => {
    for (const c of clients.splice(0)) c.close();
    await signalink!.kill('SIGTERM');
    signalink = undefined;
    await eventually('SignalinkGatewaysDown pending or firing', async () => {
      const res = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as {
        data: { alerts: { labels: { alertname: string }; state: string }[] };
      };
      return res.data.alerts.some((a) => a.labels.alertname === 'SignalinkGatewaysDown')
        ? true
        : undefined;
    });
  },
  TEST_TIMEOUT_MS,
);
