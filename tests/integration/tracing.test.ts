import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDatabase } from '../support/database.js';
import { CONDITION_TIMEOUT_MS } from '../support/deadlines.js';
import { requiredEnv } from '../support/env.js';
import { startNode, type NodeProcess } from '../support/node-process.js';

/** The child's access log lines for GET /api/v1/users/me, parsed. */
function accessLog(n: NodeProcess): { trace_id?: string; span_id?: string }[] {
  return n
    .output()
    .split('\n')
    .filter((l) => l.includes('"http request"') && l.includes('/api/v1/users/me'))
    .map((l) => JSON.parse(l) as { trace_id?: string; span_id?: string });
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + CONDITION_TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A stand-in OTLP/HTTP collector: records every export the process sends.
let collector: Server;
const exports: { path: string; body: string }[] = [];
let db: { url: string; drop(): Promise<void> };
let node: NodeProcess | undefined;

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      exports.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  db = await createTestDatabase('tracing');
});

afterAll(async () => {
  await node?.kill('SIGKILL');
  collector.close();
  await db.drop();
});

test('with OTEL_EXPORTER_OTLP_ENDPOINT set, requests are traced and logs carry the trace ids', async () => {
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  node = await startNode({
    ROLES: 'api',
    DATABASE_URL: db.url,
    REDIS_URL: requiredEnv('REDIS_URL'),
    JWT_SECRET: 'tracing-test-secret-tracing-test-secret-01',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_SERVICE_NAME: 'signalink-tracing-test',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    LOG_LEVEL: 'debug',
  });
  const res = await fetch(`${node.url}/api/v1/users/me`);
  expect(res.status).toBe(401);
  const traced = () =>
    exports.filter((e) => e.path === '/v1/traces' && e.body.includes('/api/v1/users/me'));
  // The export (batched) and the access log line (the child's stdout) arrive on their own.
  const n = node;
  await waitUntil(
    () => traced().length > 0 && accessLog(n).length > 0,
    'a trace export and the access log line',
  );
  expect(traced()[0]!.body).toContain('signalink-tracing-test');
  const [line] = accessLog(node);
  expect(line!.trace_id).toMatch(/^[0-9a-f]{32}$/);
  expect(line!.span_id).toMatch(/^[0-9a-f]{16}$/);
  // The exported spans belong to the same trace the log names.
  expect(traced().some((e) => e.body.includes(line!.trace_id!))).toBe(true);
}, 120_000); // starts a process that loads the OpenTelemetry SDK

test('without the endpoint, the access log has no trace ids (tracing is not loaded)', async () => {
  const plain = await startNode({
    ROLES: 'api',
    DATABASE_URL: db.url,
    REDIS_URL: requiredEnv('REDIS_URL'),
    JWT_SECRET: 'tracing-test-secret-tracing-test-secret-01',
    LOG_LEVEL: 'debug',
  });
  try {
    await fetch(`${plain.url}/api/v1/users/me`);
    await waitUntil(() => accessLog(plain).length > 0, 'the access log line');
    expect(accessLog(plain)[0]).not.toHaveProperty('trace_id');
  } finally {
    await plain.kill();
  }
}, 120_000);
