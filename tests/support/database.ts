import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { requiredEnv } from './env.js';

/** A fresh, empty database on the test PostgreSQL server; drop() removes it. */
export async function createTestDatabase(
  label = 'test',
): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(requiredEnv('DATABASE_URL'));
  const name = `signalink_${label.replace(/\W/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin: Knex = knexFactory({
    client: 'pg',
    connection: base.toString(),
    pool: { min: 0, max: 1 },
  });
  try {
    await admin.raw(`create database "${name}"`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again: Knex = knexFactory({
        client: 'pg',
        connection: base.toString(),
        pool: { min: 0, max: 1 },
      });
      try {
        await again.raw(`drop database if exists "${name}" with (force)`);
      } finally {
        await again.destroy();
      }
    },
  };
}
