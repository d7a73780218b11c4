import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../services/core/config.js';
import { createDatabase, type Database } from '../../services/core/database.js';
import { createLogger } from '../../services/core/logger.js';
import { createTestDatabase } from '../support/database.js';

const log = createLogger('silent');
let database: Awaited<ReturnType<typeof createTestDatabase>>;
const pools: Database[] = [];

beforeAll(async () => {
  database = await createTestDatabase('pool');
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.destroy()));
  await database.drop();
});

function pool(idleTimeoutMs: number): Database {
  const db = createDatabase(database.url, { max: 2, idleTimeoutMs }, log);
  pools.push(db);
  return db;
}

const backendPid = async (db: Database) =>
  (await db.raw<{ rows: { pid: number }[] }>('select pg_backend_pid() as pid')).rows[0]!.pid;

// A lull longer than knex's own idle timeout (30 s) used to empty the pool, so the first sends
// after it waited for new connections and cold backends (issue 12: every interleaved benchmark
// step of Signalink began that way).
test('a pooled connection outlives a 32 s lull with the default settings', async () => {
  const db = pool(loadConfig({}).databasePoolIdleTimeoutMs);
  const before = await backendPid(db);
  await sleep(32_000);
  expect(await backendPid(db)).toBe(before);
}, 60_000);

test('a short idle timeout closes idle connections after that long', async () => {
  const db = pool(250);
  const observer = pool(600_000);
  const before = await backendPid(db);
  const deadline = Date.now() + 30_000;
  // The pool reaps about once a second; wait until the server no longer sees that backend.
  for (;;) {
    const alive = await observer.raw<{ rows: unknown[] }>(
      'select 1 from pg_stat_activity where pid = ?',
      [before],
    );
    if (alive.rows.length === 0) break;
    if (Date.now() > deadline) throw new Error(`backend ${before} still open after 30 s`);
    await sleep(200);
  }
  expect(await backendPid(db)).not.toBe(before);
}, 60_000);
