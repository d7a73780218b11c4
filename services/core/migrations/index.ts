import type { Knex } from 'knex';
import * as initial from './0001_initial.js';
import * as eventPipeline from './0002_event_pipeline.js';
import * as sendFunction from './0003_send_function.js';
import * as emailDigests from './0004_email_digests.js';
import * as batchSendFunction from './0005_batch_send_function.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Migrations are imported statically so the same list works from TypeScript sources and dist.
const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_event_pipeline': eventPipeline,
  '0003_send_function': sendFunction,
  '0004_email_digests': emailDigests,
  '0005_batch_send_function': batchSendFunction,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = MIGRATIONS[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};
