import { Redis } from 'ioredis';
import knexFactory, { type Knex } from 'knex';

/**
 * Work done by the shared servers over an interval: Redis commands (INFO commandstats) and
 * PostgreSQL transactions committed in one database (pg_stat_database). Divided by the sends
 * of a throughput step, they show what one message costs each dependency.
 */
export interface InfraCounts {
  redisCommands: number;
  redisByCommand: Record<string, number>;
  pgTransactions: number;
}

/** `after − before` per Redis command, divided by `per` (e.g. acked sends), largest first. */
export function redisCommandsPer(
  before: InfraCounts,
  after: InfraCounts,
  per: number,
): Record<string, number> {
  const out: [string, number][] = [];
  for (const [cmd, n] of Object.entries(after.redisByCommand)) {
    const delta = n - (before.redisByCommand[cmd] ?? 0);
    if (delta > 0 && per > 0) out.push([cmd, Math.round((delta / per) * 100) / 100]);
  }
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
}

export class InfraCounters {
  private constructor(
    private readonly redis: Redis,
    private readonly pg: Knex,
    private readonly databaseName: string | undefined,
  ) {}

  static open(redisUrl: string, adminUrl: string, databaseName: string | undefined): InfraCounters {
    return new InfraCounters(
      new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false }),
      knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } }),
      databaseName,
    );
  }

  async read(): Promise<InfraCounts> {
    const info = await this.redis.info('commandstats');
    let redisCommands = 0;
    const redisByCommand: Record<string, number> = {};
    for (const m of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
      if (m[1] === 'info') continue;
      redisCommands += Number(m[2]);
      redisByCommand[m[1]!] = Number(m[2]);
    }
    let pgTransactions = 0;
    if (this.databaseName) {
      // Statistics reach the shared view when backends go idle; ask for a fresh snapshot.
      await this.pg.raw('select pg_stat_clear_snapshot()');
      const rows = (
        await this.pg.raw<{ rows: { n: string }[] }>(
          'select xact_commit + xact_rollback as n from pg_stat_database where datname = ?',
          [this.databaseName],
        )
      ).rows;
      pgTransactions = Number(rows[0]?.n ?? 0);
    }
    return { redisCommands, redisByCommand, pgTransactions };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.pg.destroy();
  }
}
