// `node dist/main.js smoke` (the chart's helm test and the kind CI job) against real Signalink
// processes: a round trip that works, one through a gateway and a separate API process, and the
// ways it must fail loudly (nothing listening, wrong credentials, bad arguments).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createTestDatabase } from '../support/database.js';
import { requiredEnv } from '../support/env.js';
import { freePort, startNode, type NodeProcess } from '../support/node-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SMOKE_TIMEOUT_MS = 90_000;

let db: { url: string; drop(): Promise<void> };
let env: Record<string, string>;
const nodes: NodeProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('smoke');
  env = {
    DATABASE_URL: db.url,
    REDIS_URL: requiredEnv('REDIS_URL'),
    REDIS_KEY_PREFIX: `sm${randomBytes(3).toString('hex')}:`,
    JWT_SECRET: 'smoke-test-secret-smoke-test-secret-0123456789',
  };
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
  await db?.drop();
});

async function node(roles: string): Promise<NodeProcess> {
  const n = await startNode({ ...env, ROLES: roles });
  nodes.push(n);
  return n;
}

function smoke(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'dist/main.js'), 'smoke', ...args], {
      cwd: ROOT,
      env: { ...process.env, BASE_URL: '', SMOKE_LOGIN: '', SMOKE_PASSWORD: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('exit', (code) => res({ code, stdout, stderr }));
  });
}

test(
  'a round trip through one api,gateway process: every step reported ok, exit 0',
  async () => {
    const n = await node('api,gateway');
    const run = await smoke(['--url', n.url, '--timeout-ms', '60000']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    for (const step of ['ready', 'sign-in', 'channel', 'connect', 'round-trip', 'read-back']) {
      expect(run.stdout).toMatch(new RegExp(`^smoke: ${step} ok \\(\\d+ ms\\)`, 'm'));
    }
    expect(run.stdout).toMatch(/smoke: round-trip ok .*acked and delivered to the other socket/);
    expect(run.stdout.trim().split('\n').pop()).toBe('smoke: round trip ok');
  },
  SMOKE_TIMEOUT_MS,
);

test(
  'sockets on a gateway process, REST on a separate api process (--api-url), as JSON',
  async () => {
    const [gateway, api] = await Promise.all([node('gateway'), node('api')]);
    const run = await smoke(['--url', gateway.url, '--api-url', api.url, '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      ok: boolean;
      steps: { step: string; ok: boolean }[];
    };
    expect(result.ok).toBe(true);
    expect(result.steps.map((s) => `${s.step}:${s.ok}`)).toEqual([
      'ready:true',
      'sign-in:true',
      'channel:true',
      'connect:true',
      'round-trip:true',
      'read-back:true',
    ]);
  },
  SMOKE_TIMEOUT_MS,
);

test(
  'nothing listening: the ready step fails within the deadline and the exit is 1',
  async () => {
    const port = await freePort();
    const started = Date.now();
    const run = await smoke(['--url', `http://127.0.0.1:${port}`, '--timeout-ms', '3000']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^smoke: ready FAILED .*readyz never answered 200/m);
    expect(run.stdout).not.toMatch(/sign-in/);
    expect(run.stdout.trim().split('\n').pop()).toBe('smoke: round trip FAILED');
    // It gave up at its own deadline rather than hanging (generous bound for a loaded machine).
    expect(Date.now() - started).toBeLessThan(30_000);
  },
  SMOKE_TIMEOUT_MS,
);

test(
  'a wrong password fails the sign-in step with the API error and stops there',
  async () => {
    const n = nodes[0] ?? (await node('api,gateway'));
    const run = await smoke([
      '--url',
      n.url,
      '--login',
      'nobody-here',
      '--password',
      'wrong-password',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^smoke: ready ok/m);
    expect(run.stdout).toMatch(/^smoke: sign-in FAILED/m);
    expect(run.stdout).not.toMatch(/^smoke: channel/m);
  },
  SMOKE_TIMEOUT_MS,
);

test.each([
  [[], '--url URL is required'],
  [['--url', 'ftp://x'], '--url must be an http(s) URL'],
  [['--url', 'http://x', '--login', 'a'], '--login and --password go together'],
  [['--url', 'http://x', '--timeout-ms', '5'], '--timeout-ms must be at least 1000'],
  [['--url', 'http://x', '--colour'], "Unknown option '--colour'"],
])('bad arguments %j: exit 2 naming the problem', async (args, message) => {
  const run = await smoke(args);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain(message);
  expect(run.stderr).toContain('usage: node dist/main.js smoke');
});
