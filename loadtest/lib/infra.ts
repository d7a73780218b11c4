import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { connect } from 'node:net';
import knexFactory from 'knex';
import { SERVER_KINDS, type ServerKind } from './deployment.js';
import { ROOT, sleep } from './paths.js';
import { freePort } from './ports.js';
import type { ProcessRegistry } from './processes.js';

interface TestServersModule {
  startTestServers(options: { kafka: boolean }): Promise<{
    env: Record<string, string>;
    stop(): Promise<void>;
    pids: { name: string; pid: number }[];
  }>;
}

export interface RedisServer {
  url: string;
  pid: number | undefined;
}

export interface Infra {
  /** The maintenance database; scenarios get a fresh database each. */
  adminUrl: string;
  postgresPid: number | undefined;
  /**
   * One Redis per server kind, so that while all are deployed (interleaved scenarios) each
   * one's Redis CPU and command counts are its own.
   */
  redis: Record<ServerKind, RedisServer>;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts one throw-away PostgreSQL and Redis (scripts/test-servers.mjs, loopback, free ports)
 * for the whole run. Each scenario and server gets its own database and Redis key prefix, so
 * runs do not see each other's data.
 */
export async function startInfra(registry: ProcessRegistry): Promise<Infra> {
  // A runtime path keeps TypeScript from needing declarations for the plain .mjs helper.
  const modulePath = pathToFileURL(join(ROOT, 'scripts', 'test-servers.mjs')).href;
  const mod = (await import(modulePath)) as TestServersModule;
  // Always our own servers: never point load at whatever DATABASE_URL / REDIS_URL the shell has.
  delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
  delete process.env.KAFKA_BROKERS;
  const servers = await mod.startTestServers({ kafka: false });
  for (const { name, pid } of servers.pids) registry.note(name, pid);
  const adminUrl = servers.env.DATABASE_URL!;
  const redisUrl = servers.env.REDIS_URL!;
  const redis = {
    signalink: { url: redisUrl, pid: servers.pids.find((p) => p.name === 'redis')?.pid },
  } as Record<ServerKind, RedisServer>;
  try {
    for (const kind of SERVER_KINDS)
      if (kind !== 'signalink') redis[kind] = await startRedis(registry, kind);
  } catch (err) {
    await servers.stop();
    throw err;
  }
  for (const url of [adminUrl, ...Object.values(redis).map((r) => r.url)]) {
    const host = new URL(url).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost')
      throw new Error(`refusing to load-test a non-loopback server: ${url}`);
  }
  return {
    adminUrl,
    postgresPid: servers.pids.find((p) => p.name === 'postgres')?.pid,
    redis,
    createDatabase: async (name) => {
      const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
      try {
        await admin.raw(`create database ${name}`);
      } finally {
        await admin.destroy();
      }
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    stop: () => servers.stop(),
  };
}

/** Another throw-away Redis (a peer's), started the way scripts/test-servers.mjs does. */
async function startRedis(registry: ProcessRegistry, kind: ServerKind): Promise<RedisServer> {
  const port = await freePort();
  const { child } = registry.spawn(
    `redis-${kind}`,
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { PATH: process.env.PATH },
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error('redis-server exited (is it installed?)');
    const open = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (open) return { url: `redis://127.0.0.1:${port}`, pid: child.pid };
    if (Date.now() > deadline) throw new Error('redis-server did not start within 20 s');
    await sleep(100);
  }
}
