// A peer fuzzer on the whole REST API: schemathesis (PyPI) reads /api/openapi.json, generates
// valid and invalid requests for every operation, follows the links it infers between them, and
// checks every response: no 5xx, a documented status, a body matching the documented schema
// (so an error's code must be the one its status stands for), invalid input refused, valid
// input accepted, auth enforced, 405 for methods a path does not serve. Settings, and the few
// exceptions with their reasons, are in schemathesis.toml beside this file.
//
// Only this test: node scripts/test.mjs tests/integration/api-schemathesis.test.ts
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../support/app.js';
import { ApiClient, type TestUser } from '../support/http-client.js';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname, '../..');
const CONFIG = resolve(ROOT, 'tests/integration/schemathesis.toml');
/** Well above the ~2 minutes the run takes on a busy 2-core machine; past it the run is killed. */
const RUN_DEADLINE_MS = 6 * 60_000;

let t: TestApp;
let alice: TestUser;
let workDir: string;

/** The cached virtualenv that scripts/tools/schemathesis.sh builds (quick once built). */
async function schemathesisVenv(): Promise<string> {
  const { stdout } = await promisify(execFile)(
    'bash',
    [resolve(ROOT, 'scripts/tools/schemathesis.sh')],
    { cwd: ROOT, maxBuffer: 1 << 20, timeout: 10 * 60_000 },
  );
  const dir = stdout.trim().split('\n').pop();
  if (!dir) throw new Error('scripts/tools/schemathesis.sh printed no directory');
  return dir;
}

/** Requests the app has answered so far, from its own request-duration histogram. */
async function requestsServed(): Promise<number> {
  const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^signalink_http_request_duration_seconds_count\{[^}]*\} (\d+)/.exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

beforeAll(async () => {
  // The fuzzer sends thousands of requests as one user from one address, fast: every limit is
  // raised here; api-limits.test.ts proves the limits themselves.
  t = await startTestApp(
    {
      ROLES: 'api,relay,analytics',
      API_RATE_LIMIT_PER_MINUTE: '10000000',
      LOGIN_ATTEMPTS_PER_15_MINUTES: '10000000',
      REGISTRATIONS_PER_HOUR_PER_IP: '10000000',
      MESSAGE_RATE_PER_SECOND: '100000',
      MESSAGE_RATE_BURST: '100000',
      CHANNEL_MESSAGE_RATE_PER_SECOND: '100000',
      ACCESS_TOKEN_TTL_SECONDS: '3600',
    },
    'api_schemathesis',
  );
  // Fixed names: lists ordered by name then read alike in every run, and so does the fuzzer.
  const register = async (username: string): Promise<TestUser> => {
    const anon = new ApiClient(t.baseUrl);
    const res = await anon.post('/auth/register', {
      username,
      email: `${username}@example.test`,
      password: 'correct horse battery',
    });
    if (res.status !== 201) throw new Error(`register ${username}: ${res.status}`);
    return {
      id: res.body.user.id,
      username,
      accessToken: res.body.accessToken,
      refreshToken: res.body.refreshToken,
      api: anon.withToken(res.body.accessToken),
    };
  };
  alice = await register('alice');
  const bob = await register('bob');
  // Resources the fuzzer's user can reach, so that ids it picks up from responses lead to real
  // channels, members and messages: owned, joined (so leaving can succeed), private and direct.
  const created = async (res: Promise<{ status: number; body: { id: string } }>) => {
    const r = await res;
    if (r.status !== 201) throw new Error(`seeding failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id;
  };
  const own = await created(
    alice.api.post('/channels', { name: 'fuzzed', type: 'public', memberIds: [bob.id] }),
  );
  const joined = await created(
    bob.api.post('/channels', { name: 'bobs', type: 'public', memberIds: [alice.id] }),
  );
  await created(alice.api.post('/channels', { name: 'secret', type: 'private' }));
  const direct = await created(
    alice.api.post('/channels', { type: 'direct', memberIds: [bob.id] }),
  );
  for (const [channel, sender] of [
    [own, alice],
    [own, bob],
    [joined, bob],
    [direct, alice],
  ] as const) {
    await created(
      sender.api.post(`/channels/${channel}/messages`, {
        clientMsgId: `seed-${channel}-${sender.id}`,
        content: `hello from ${sender.username}`,
      }),
    );
  }
  await created(alice.api.post('/devices', { token: 'seed-device-token', platform: 'android' }));
  workDir = await mkdtemp(join(tmpdir(), 'signalink-schemathesis-'));
});

afterAll(async () => {
  await t?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface RunReport {
  test_cases: { generated: number };
  failures: { code: string; title: string; count: number; operations: string[] }[];
  errors: unknown[];
  operations: { total: number; tested: number; errored: number };
  warnings: Record<string, unknown[]>;
}

/** The failures section of schemathesis's output (each with its curl), long lines shortened. */
function failureDetails(output: string): string {
  const start = output.indexOf('= FAILURES =');
  if (start < 0) return output.slice(-4000);
  const end = output.search(/\n=+ (WARNINGS|SUMMARY) =+/);
  return output
    .slice(start, end > start ? end : undefined)
    .split('\n')
    .map((line) => (line.length > 400 ? `${line.slice(0, 400)} …` : line))
    .join('\n')
    .slice(0, 20_000);
}

test(
  'schemathesis finds nothing: every operation, its links and every response check',
  async () => {
    const venv = await schemathesisVenv();
    // SCHEMATHESIS_REPORT_DIR keeps the reports, with every request and response (ndjson).
    const keep = process.env.SCHEMATHESIS_REPORT_DIR;
    const reportDir = keep ? resolve(keep) : join(workDir, 'report');
    const before = await requestsServed();
    const started = Date.now();
    const child = spawn(
      join(venv, 'bin', 'python'),
      [
        '-m',
        'schemathesis.cli',
        '--config-file',
        CONFIG,
        'run',
        `${t.baseUrl}/api/openapi.json`,
        '--header',
        `Authorization: Bearer ${alice.accessToken}`,
        '--report',
        keep ? 'json,junit,ndjson' : 'json,junit',
        '--report-dir',
        reportDir,
        '--no-color',
      ],
      // Its own process group, so the deadline can stop it and anything it started.
      {
        cwd: workDir,
        // A fixed string hash order, so sets of values picked up from responses iterate alike.
        env: { ...process.env, PYTHONHASHSEED: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, RUN_DEADLINE_MS);
    const exitCode = await new Promise<number | null>((res, rej) => {
      child.once('error', rej);
      child.once('exit', (code) => res(code));
    }).finally(() => clearTimeout(deadline));
    const seconds = (Date.now() - started) / 1000;
    if (timedOut)
      throw new Error(
        `schemathesis did not finish within ${RUN_DEADLINE_MS / 1000} s; its output:\n${output.slice(-4000)}`,
      );

    // Names carry the start time: the newest is this run's.
    const reportFile = (await readdir(reportDir).catch(() => []))
      .filter((f) => f.endsWith('.json'))
      .sort()
      .pop();
    if (!reportFile)
      throw new Error(
        `schemathesis wrote no JSON report (exit ${exitCode}):\n${output.slice(-4000)}`,
      );
    const report = JSON.parse(await readFile(join(reportDir, reportFile), 'utf8')) as RunReport;
    const served = (await requestsServed()) - before;
    const missingData = (report.warnings.missing_test_data ?? []).join(', ') || 'none';
    const phases = [
      ...output.matchAll(/^\s*\S+\s+(Examples|Coverage|Fuzzing|Stateful) \(in ([\d.]+)s\)/gm),
    ]
      .map(([, phase = '', s]) => `${phase.toLowerCase()} ${Math.round(Number(s))} s`)
      .join(', ');
    process.stdout.write(
      `[schemathesis] ${report.test_cases.generated} test cases generated, ${served} requests ` +
        `served, ${report.operations.tested}/${report.operations.total} operations, ` +
        `${seconds.toFixed(0)} s (${phases}); operations whose inputs never reached anything: ` +
        `${missingData}\n`,
    );

    expect(report.operations.total).toBeGreaterThanOrEqual(30);
    expect(report.test_cases.generated).toBeGreaterThan(500);
    const findings = report.failures.map(
      (f) => `${f.code} ${f.title} (${f.count}): ${f.operations.join(', ')}`,
    );
    if (findings.length > 0 || report.errors.length > 0 || exitCode !== 0) {
      throw new Error(
        `schemathesis exited ${exitCode} with ${findings.length} finding(s) and ` +
          `${report.errors.length} error(s):\n${findings.join('\n')}\n\n${failureDetails(output)}`,
      );
    }
  },
  RUN_DEADLINE_MS + 120_000,
);
