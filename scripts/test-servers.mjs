// Starts throw-away PostgreSQL, Redis and Apache Kafka for tests and local runs.
// Every server listens on 127.0.0.1 on a free port, keeps its files in a temp dir and is
// stopped by pid. Plain JavaScript so it runs before anything is compiled.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chownSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { startKafkaCluster } from './kafka-cluster.mjs';
import { freePort, tcpOpen } from './ports.mjs';

export { freePort };

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

/** Raised when a server process ends while starting: most often its port was taken meanwhile. */
class ExitedDuringStart extends Error {}

/**
 * Starts a server on a probed free port; another process can take the port between the probe
 * and the server's bind, so a server that exits while starting is tried again on another port.
 */
async function onFreePort(start) {
  let last;
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      return await start(await freePort());
    } catch (err) {
      if (!(err instanceof ExitedDuringStart)) throw err;
      last = err;
    }
  }
  throw last;
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
  return onFreePort((port) => launchPostgres(children, bin, id, dir, data, port));
}

async function launchPostgres(children, bin, id, dir, data, port) {
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
    if (child.exitCode !== null) throw new ExitedDuringStart(`postgres exited: ${stderr}`);
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
  return onFreePort((port) => launchRedis(children, dir, port));
}

async function launchRedis(children, dir, port) {
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
      throw new ExitedDuringStart(
        'redis-server exited (is it installed? apt-get install redis-server)',
      );
    return tcpOpen(port);
  });
  return `redis://127.0.0.1:${port}`;
}

/** Real Apache Kafka, one combined broker+controller (scripts/kafka-cluster.mjs). */
async function startKafka(children) {
  const cluster = await startKafkaCluster({ brokers: 1 });
  children.push({ name: 'kafka', child: cluster.nodes[0].child, stop: cluster.stop });
  return { brokers: cluster.bootstrap };
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
      children.map(({ child, stop: stopIt }) =>
        stopIt
          ? stopIt()
          : new Promise((res) => {
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
    else if (kf) env.KAFKA_BROKERS = kf.brokers;
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    env,
    stop,
    pids: children
      .filter(({ child }) => child)
      .map(({ name, child }) => ({ name, pid: child.pid })),
  };
}

export const currentUser = () => userInfo().username;
