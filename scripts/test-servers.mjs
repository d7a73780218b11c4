// Starts throw-away PostgreSQL, Redis and Kafka-protocol brokers for tests and local runs.
// Every server listens on 127.0.0.1 on a free port, keeps its files in a temp dir and is
// stopped by pid. Plain JavaScript so it runs before anything is compiled.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chownSync, existsSync, readdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

export async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

async function waitFor(what, probe, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms: ${lastError ?? ''}`);
}

function tcpOpen(port) {
  return new Promise((res) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      res(true);
    });
    sock.once('error', () => res(false));
  });
}

function findPostgresBin() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base))
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql-15) and PG_BIN is not set',
    );
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no initdb under /usr/lib/postgresql/*/bin');
  return join(base, versions[0], 'bin');
}

/** PostgreSQL refuses to run as root; run it as the `postgres` system user in that case. */
function postgresIdentity() {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

function track(children, name, child) {
  child.on('exit', (code, signal) => {
    if (!child.stoppedOnPurpose)
      process.stderr.write(`[test-servers] ${name} exited (code ${code}, signal ${signal})\n`);
  });
  children.push({ name, child });
  return child;
}

async function startPostgres(children, dirs) {
  const bin = findPostgresBin();
  const id = postgresIdentity();
  const dir = mkdtempSync(join(tmpdir(), 'signalink-pg-'));
  dirs.push(dir);
  if (id.uid !== undefined) chownSync(dir, id.uid, id.gid);
  const data = join(dir, 'data');
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
    { ...id, stdio: 'ignore' },
  );
  const port = await freePort();
  const child = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-k',
      dir,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=400',
      '-c',
      'shared_buffers=128MB',
    ],
    { ...id, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  track(children, 'postgres', child);
  await waitFor('postgres', async () => {
    if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
    try {
      execFileSync(
        join(bin, 'pg_isready'),
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'],
        { stdio: 'ignore' },
      );
      return true;
    } catch {
      return false;
    }
  });
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

async function startRedis(children, dirs) {
  const dir = mkdtempSync(join(tmpdir(), 'signalink-redis-'));
  dirs.push(dir);
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore' },
  );
  track(children, 'redis', child);
  await waitFor('redis', async () => {
    if (child.exitCode !== null)
      throw new Error('redis-server exited (is it installed? apt-get install redis-server)');
    return tcpOpen(port);
  });
  return `redis://127.0.0.1:${port}`;
}

/** Builds (cached) and starts the librdkafka mock cluster: 3 brokers on consecutive free ports. */
async function startKafka(children) {
  const out = join(ROOT, '.cache', 'kafka-mock');
  execFileSync('bash', [join(ROOT, 'tests', 'kafka-mock', 'build.sh')], {
    env: { ...process.env, OUT_DIR: out },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // The broker needs four consecutive free ports (three brokers and the control port). Another
  // process can take one between our probe and its bind, so a failed start is retried.
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const base = await consecutiveFreePorts(4);
    try {
      const child = await launchMockBroker(out, base, children);
      return { brokers: child.brokers, controlPort: base + 3 };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function consecutiveFreePorts(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = await freePort();
    if (p + count >= 65535) continue;
    let free = true;
    for (let i = 1; i < count && free; i++) free = !(await tcpOpen(p + i));
    if (free) return p;
  }
  throw new Error(`no run of ${count} free ports found`);
}

async function launchMockBroker(out, base, children) {
  const topics = [
    'signalink.messages:6',
    'signalink.receipts:6',
    'signalink.presence:6',
    'signalink.notifications.dlq:3',
  ];
  const args = [
    '-b',
    '3',
    '-p',
    String(base),
    '-c',
    String(base + 3),
    ...topics.flatMap((t) => ['-t', t]),
  ];
  const child = spawn(join(out, 'mockbroker'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const brokers = await new Promise((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error('kafka mock did not print BOOTSTRAP'));
    }, 20000);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /BOOTSTRAP=(\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      rej(new Error(`kafka mock exited early (${code ?? signal}): ${stderr.trim()}`));
    });
  });
  track(children, 'kafka-mock', child);
  return { brokers };
}

/**
 * Starts whatever the environment does not already provide. Returns the environment to give
 * to tests and a stop function that kills every started server by pid and removes temp dirs.
 */
export async function startTestServers({ kafka = true } = {}) {
  const children = [];
  const dirs = [];
  const env = {};
  const stop = async () => {
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            child.stoppedOnPurpose = true;
            child.once('exit', res);
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    const [db, redis, kf] = await Promise.all([
      process.env.DATABASE_URL ? process.env.DATABASE_URL : startPostgres(children, dirs),
      process.env.REDIS_URL ? process.env.REDIS_URL : startRedis(children, dirs),
      process.env.KAFKA_BROKERS || !kafka ? undefined : startKafka(children),
    ]);
    env.DATABASE_URL = db;
    env.REDIS_URL = redis;
    if (process.env.KAFKA_BROKERS) env.KAFKA_BROKERS = process.env.KAFKA_BROKERS;
    else if (kf) {
      env.KAFKA_BROKERS = kf.brokers;
      env.KAFKA_MOCK_CONTROL_PORT = String(kf.controlPort);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, stop, pids: children.map(({ name, child }) => ({ name, pid: child.pid })) };
}

export const currentUser = () => userInfo().username;
