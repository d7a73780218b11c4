import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import knexFactory from 'knex';
import { ROOT } from './paths.js';
import type { ProcessRegistry } from './processes.js';

interface TestServersModule {
  startTestServers(options: { kafka: boolean }): Promise<{
    env: Record<string, string>;
    stop(): Promise<void>;
    pids: { name: string; pid: number }[];
  }>;
}

export interface Infra {
  /** The maintenance database; scenarios get a fresh database each. */
  adminUrl: string;
  redisUrl: string;
  postgresPid: number | undefined;
  redisPid: number | undefined;
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
  for (const url of [adminUrl, redisUrl]) {
    const host = new URL(url).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost')
      throw new Error(`refusing to load-test a non-loopback server: ${url}`);
  }
  return {
    adminUrl,
    redisUrl,
    postgresPid: servers.pids.find((p) => p.name === 'postgres')?.pid,
    redisPid: servers.pids.find((p) => p.name === 'redis')?.pid,
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
