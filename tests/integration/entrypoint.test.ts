import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import knexFactory from 'knex';
import { createTestDatabase } from '../support/database.js';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname ?? '.', '../..');

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'dist/main.js'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => res({ code, stdout, stderr }));
  });
}

test('`migrate` run by several replicas at once applies the schema once and every run succeeds', async () => {
  const db = await createTestDatabase('migrate');
  try {
    const runs = await Promise.all([1, 2, 3].map(() => run(['migrate'], { DATABASE_URL: db.url })));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    const knex = knexFactory({ client: 'pg', connection: db.url });
    try {
      const applied = await knex('knex_migrations').select('name');
      expect(applied.map((r: { name: string }) => r.name)).toEqual(
        expect.arrayContaining(['0001_initial']),
      );
      expect(new Set(applied.map((r: { name: string }) => r.name)).size).toBe(applied.length);
      const tables = await knex.raw(
        `select table_name from information_schema.tables where table_schema = 'public'`,
      );
      const names = tables.rows.map((r: { table_name: string }) => r.table_name);
      expect(names).toEqual(
        expect.arrayContaining([
          'users',
          'refresh_tokens',
          'channels',
          'channel_members',
          'messages',
          'reactions',
          'devices',
          'notification_preferences',
          'outbox',
        ]),
      );
    } finally {
      await knex.destroy();
    }
  } finally {
    await db.drop();
  }
});

test.each([
  [{ PORT: 'not-a-port' }, 'PORT'],
  [{ ROLES: 'api,chatbot' }, 'ROLES'],
  [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL'],
  [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
  [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
  [{ NOTIFIER_TRANSPORT: 'webhook' }, 'NOTIFIER_WEBHOOK_URL'],
])('a bad configuration (%j) stops the process with a message naming %s', async (env, variable) => {
  const result = await run([], env);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(variable);
  expect(result.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
});

test('an unknown command is refused', async () => {
  const result = await run(['frobnicate'], {});
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('unknown command');
});
