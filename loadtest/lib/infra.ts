import { USES_POSTGRES, type ServerKind } from './deployment.js';
import type { ProcessRegistry } from './processes.js';
import { PostgresServer, RedisServer } from './servers.js';

/** The servers one server kind runs against, its own and no other kind's. */
export interface KindServers {
  redis: { url: string; pid: number | undefined };
  /** Only for the kinds that persist (USES_POSTGRES). */
  postgres?: {
    /** The maintenance database; scenarios get a fresh database each. */
    adminUrl: string;
    pid: number | undefined;
    createDatabase(name: string): Promise<string>;
  };
}

export interface Infra {
  /**
   * Each server kind gets its own Redis and, if it persists, its own PostgreSQL, started on
   * first use: while all are deployed (interleaved scenarios) none competes for another's
   * database locks, WAL or buffers, and each one's CPU and command counts are its own.
   */
  serversFor(kind: ServerKind): Promise<KindServers>;
  stop(): Promise<void>;
}

// The same settings for every kind's PostgreSQL, as scripts/test-servers.mjs starts it.
const POSTGRES_SETTINGS = { maxConnections: 400, sharedBuffers: '128MB' };

/**
 * Throw-away PostgreSQL and Redis servers (loopback, free ports, temp dirs) for the whole run.
 * Each scenario and server gets its own database and Redis key prefix on its kind's servers,
 * so runs do not see each other's data.
 */
export function startInfra(registry: ProcessRegistry): Infra {
  // Always our own servers: never point load at whatever the shell's environment names.
  delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
  delete process.env.KAFKA_BROKERS;
  const started: { stop(): Promise<void> }[] = [];
  const byKind = new Map<ServerKind, Promise<KindServers>>();
  const start = async (kind: ServerKind): Promise<KindServers> => {
    // Registered as each starts, so that a failure of the other still stops this one.
    const [redis, postgres] = await Promise.all([
      RedisServer.create(registry, `redis-${kind}`).then((server) => {
        started.push({ stop: () => server.stop() });
        return server;
      }),
      USES_POSTGRES.has(kind)
        ? PostgresServer.create(registry, { name: `postgres-${kind}`, ...POSTGRES_SETTINGS }).then(
            (server) => {
              started.push({ stop: () => server.remove() });
              return server;
            },
          )
        : undefined,
    ]);
    return {
      redis: { url: redis.url, pid: redis.pid },
      ...(postgres
        ? {
            postgres: {
              adminUrl: postgres.adminUrl,
              pid: postgres.pid,
              createDatabase: (name) => postgres.createDatabase(name),
            },
          }
        : {}),
    };
  };
  return {
    serversFor: (kind) => {
      let servers = byKind.get(kind);
      if (!servers) {
        servers = start(kind);
        byKind.set(kind, servers);
      }
      return servers;
    },
    stop: async () => {
      await Promise.allSettled([...byKind.values()]);
      await Promise.allSettled(started.map((s) => s.stop()));
    },
  };
}
