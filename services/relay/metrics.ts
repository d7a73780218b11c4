import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Database } from '../core/database.js';

export function createRelayMetrics(registry: Registry, db: Database) {
  return {
    active: new Gauge({
      name: 'signalink_relay_active',
      help: '1 while this process holds the relay lease and publishes the outbox',
      registers: [registry],
    }),
    publishFailures: new Counter({
      name: 'signalink_relay_publish_failures_total',
      help: 'Outbox batches the event bus did not accept (retried with backoff)',
      registers: [registry],
    }),
    lag: new Histogram({
      name: 'signalink_relay_lag_seconds',
      help: 'Time from an outbox row being written to it being published and marked',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    pruned: new Counter({
      name: 'signalink_outbox_pruned_total',
      help: 'Published outbox rows deleted after the retention period',
      registers: [registry],
    }),
    // Read from PostgreSQL at scrape time, so every replica (standbys too) reports the backlog.
    backlog: new Gauge({
      name: 'signalink_outbox_backlog',
      help: 'Outbox rows not yet published to the event bus',
      registers: [registry],
      async collect() {
        const row = (await db('outbox').whereNull('published_at').count({ n: '*' }).first()) as
          { n: number | string } | undefined;
        this.set(Number(row?.n ?? 0));
      },
    }),
    oldestAge: new Gauge({
      name: 'signalink_outbox_oldest_unpublished_age_seconds',
      help: 'Age of the oldest outbox row not yet published (0 when none)',
      registers: [registry],
      async collect() {
        const row = (await db('outbox')
          .whereNull('published_at')
          .first(
            db.raw('coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age'),
          )) as { age: number } | undefined;
        this.set(Number(row?.age ?? 0));
      },
    }),
  };
}
export type RelayMetrics = ReturnType<typeof createRelayMetrics>;
