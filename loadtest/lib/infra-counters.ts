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
  /** Connections opened to the database so far (pg_stat_database.sessions). */
  pgSessions: number;
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
    /** The server's maintenance database and the deployment's database on it, if it persists. */
    private readonly database: { pg: Knex; name: string } | undefined,
  ) {}

  static open(
    redisUrl: string,
    adminUrl: string | undefined,
    databaseName: string | undefined,
  ): InfraCounters {
    return new InfraCounters(
      new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false }),
      adminUrl && databaseName
        ? {
            pg: knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 2 } }),
            name: databaseName,
          }
        : undefined,
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
    let pgSessions = 0;
    const db = this.database;
    if (db) {
      // Statistics reach the shared view when backends go idle; ask for a fresh snapshot.
      await db.pg.raw('select pg_stat_clear_snapshot()');
      const rows = (
        await db.pg.raw<{ rows: { n: string; sessions: string }[] }>(
          `select xact_commit + xact_rollback as n, sessions
             from pg_stat_database where datname = ?`,
          [db.name],
        )
      ).rows;
      pgTransactions = Number(rows[0]?.n ?? 0);
      pgSessions = Number(rows[0]?.sessions ?? 0);
    }
    return { redisCommands, redisByCommand, pgTransactions, pgSessions };
  }

  /**
   * Samples what the database's backends are doing every `everyMs` until the returned stop
   * function is called: a wait-event profile of PostgreSQL (running, waiting for a row or
   * object lock, for I/O, or mid-transaction for the gateway), as average backends per state.
   */
  sampleWaits(everyMs = 100): () => Promise<Record<string, number>> {
    const totals: Record<string, number> = {};
    let samples = 0;
    let running = true;
    const db = this.database;
    const loop = (async () => {
      while (running && db) {
        const rows = (
          await db.pg.raw<{ rows: { state: string; n: string }[] }>(
            // 'idle in transaction': mid-transaction, waiting for the gateway's next statement.
            `select case when state = 'idle in transaction' then 'idle in transaction'
                         else coalesce(wait_event_type || ':' || wait_event, 'on CPU') end as state,
                    count(*) as n
               from pg_stat_activity
              where datname = ? and state in ('active', 'idle in transaction')
                and pid <> pg_backend_pid()
              group by 1`,
            [db.name],
          )
        ).rows;
        samples += 1;
        for (const r of rows) totals[r.state] = (totals[r.state] ?? 0) + Number(r.n);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
    return async () => {
      running = false;
      await loop;
      const out: [string, number][] = Object.entries(totals).map(([k, v]) => [
        k,
        Math.round((v / Math.max(samples, 1)) * 100) / 100,
      ]);
      return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
    };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.database?.pg.destroy();
  }
}
