// Throw-away PostgreSQL and Redis servers for the load runs and the chaos suite, each of
// which can be stopped and started again on the same port (PostgreSQL with the same data).
// Loopback only, temp dirs, stopped by pid.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { sleep } from './paths.js';
import { freePort } from './ports.js';
import type { ProcessRegistry } from './processes.js';

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A server process that can be stopped and started again with the same arguments. */
abstract class RestartableServer {
  protected child: ChildProcess | undefined;
  protected output: () => string = () => '';

  constructor(
    protected readonly registry: ProcessRegistry,
    readonly name: string,
    readonly port: number,
  ) {}

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }

  protected abstract command(): { cmd: string; args: string[]; uid?: number; gid?: number };
  protected abstract ready(): Promise<boolean>;

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) return;
    const { cmd, args, uid, gid } = this.command();
    const spawned = this.registry.spawn(
      this.name,
      cmd,
      args,
      { PATH: process.env.PATH },
      {
        uid,
        gid,
      },
    );
    this.child = spawned.child;
    this.output = spawned.output;
    const child = spawned.child;
    await until(
      `${this.name} did not accept connections`,
      async () => {
        if (child.exitCode !== null)
          throw new Error(`${this.name} exited: ${this.output().slice(-2000)}`);
        return this.ready();
      },
      timeoutMs,
    );
  }

  /** SIGKILL is a crash; SIGINT/SIGTERM a clean shutdown. Resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited(child);
    clearTimeout(killer);
  }
}

function findPostgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (or PG_BIN)');
  return join(base, versions[0]!, 'bin');
}

/** PostgreSQL refuses to run as root: then it runs as the `postgres` system user. */
function postgresIdentity(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * PostgreSQL with fsync=off (as the test harness runs it): a clean shutdown (SIGINT, "fast")
 * writes everything out and a restart keeps it; a crash of the postmaster (SIGKILL) does too,
 * since the operating system still holds the unsynced pages. What fsync=off gives up is only
 * surviving a crash of the machine, which no experiment here causes.
 */
export interface PostgresSettings {
  /** The process name in the registry (and in the run's process list). */
  name?: string;
  maxConnections?: number;
  sharedBuffers?: string;
}

export class PostgresServer extends RestartableServer {
  private readonly bin = findPostgresBin();
  private readonly id = postgresIdentity();
  private constructor(
    registry: ProcessRegistry,
    port: number,
    private readonly dir: string,
    private readonly settings: Required<PostgresSettings>,
  ) {
    super(registry, settings.name, port);
  }

  static async create(
    registry: ProcessRegistry,
    settings: PostgresSettings = {},
  ): Promise<PostgresServer> {
    const dir = mkdtempSync(join(tmpdir(), 'signalink-pg-'));
    const server = new PostgresServer(registry, await freePort(), dir, {
      name: 'postgres',
      maxConnections: 300,
      sharedBuffers: '64MB',
      ...settings,
    });
    if (server.id.uid !== undefined) chownSync(dir, server.id.uid, server.id.gid!);
    execFileSync(
      join(server.bin, 'initdb'),
      ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
      { ...server.id, stdio: 'ignore' },
    );
    await server.start();
    return server;
  }

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  protected command() {
    return {
      cmd: join(this.bin, 'postgres'),
      args: [
        ['-D', join(this.dir, 'data')],
        ['-p', String(this.port)],
        ['-h', '127.0.0.1'],
        ['-k', this.dir],
        ['-c', 'fsync=off'],
        ['-c', 'synchronous_commit=off'],
        ['-c', 'full_page_writes=off'],
        ['-c', `max_connections=${this.settings.maxConnections}`],
        ['-c', `shared_buffers=${this.settings.sharedBuffers}`],
      ].flat(),
      ...this.id,
    };
  }

  protected async ready(): Promise<boolean> {
    try {
      execFileSync(
        join(this.bin, 'pg_isready'),
        ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres'],
        { stdio: 'ignore' },
      );
      return true;
    } catch {
      return false;
    }
  }

  async createDatabase(name: string): Promise<string> {
    const admin = knexFactory({
      client: 'pg',
      connection: this.adminUrl,
      pool: { min: 0, max: 1 },
    });
    try {
      await admin.raw(`create database "${name}"`);
    } finally {
      await admin.destroy();
    }
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async remove(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Redis without persistence: a restart comes back empty, as a Redis pod without a volume. */
export class RedisServer extends RestartableServer {
  static async create(registry: ProcessRegistry, name = 'redis'): Promise<RedisServer> {
    const server = new RedisServer(registry, name, await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  protected command() {
    return {
      cmd: 'redis-server',
      args: [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
    };
  }

  protected async ready(): Promise<boolean> {
    try {
      execFileSync('redis-cli', ['-p', String(this.port), 'ping'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
}
