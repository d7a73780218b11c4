import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from './logger.js';
import { migrationSource } from './migrations/index.js';

export type Database = Knex;

// bigint columns (seq, counters) stay below 2^53 for any realistic channel; parse them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PoolSettings {
  max: number;
  /** Idle connections are closed after this long (knex's default, 30 s, empties it in a lull). */
  idleTimeoutMs: number;
}

export function createDatabase(url: string, pool: PoolSettings, log: Logger): Database {
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString: url,
      application_name: 'signalink',
      // Long-idle connections stay known to every middlebox (NAT, conntrack) on the way.
      keepAlive: true,
      keepAliveInitialDelayMillis: 60_000,
    },
    pool: { min: 0, max: pool.max, idleTimeoutMillis: pool.idleTimeoutMs },
    acquireConnectionTimeout: 10000,
    // knex reports lost connections itself; keep that in the structured log, not on stderr.
    log: {
      warn: (message: unknown) => log.warn({ detail: String(message) }, 'database'),
      error: (message: unknown) => log.error({ detail: String(message) }, 'database'),
      deprecate: (message: unknown) => log.debug({ detail: String(message) }, 'database'),
      debug: (message: unknown) => log.debug({ detail: String(message) }, 'database'),
    },
  });
}

// Any fixed number works as long as every replica agrees on it.
const MIGRATION_LOCK_KEY = 727_001;

/**
 * Runs pending migrations while holding a session-level advisory lock, so replicas that start
 * together apply them once; the others wait and then find nothing to do.
 */
export async function migrate(db: Database, log: Logger): Promise<string[]> {
  const conn = await db.client.acquireConnection();
  try {
    await db.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK_KEY]).connection(conn);
    try {
      const [, applied] = (await db.migrate.latest({
        migrationSource,
        disableMigrationsListValidation: false,
        disableTransactions: false,
      })) as [number, string[]];
      if (applied.length > 0) log.info({ applied }, 'database migrations applied');
      return applied;
    } finally {
      await db.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK_KEY]).connection(conn);
    }
  } finally {
    await db.client.releaseConnection(conn);
  }
}

export async function pingDatabase(db: Database): Promise<void> {
  await db.raw('select 1');
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';

export function isPgError(
  err: unknown,
  code: string,
): err is { code: string; constraint?: string } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
