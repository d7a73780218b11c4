import { Counter, Gauge, type Registry } from 'prom-client';
import type { Knex } from 'knex';

export function createNotifierMetrics(registry: Registry, db: Knex) {
  return {
    decisions: new Counter({
      name: 'signalink_notifier_decisions_total',
      help: 'Recipients considered for a new message, by decision (notify, online, muted, channel_off, not_mentioned)',
      labelNames: ['decision'] as const,
      registers: [registry],
    }),
    emailDecisions: new Counter({
      name: 'signalink_notifier_email_decisions_total',
      help: 'Recipients considered for an email digest, by decision (digest, online, muted, channel_off, email_off, not_mentioned)',
      labelNames: ['decision'] as const,
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'signalink_notifier_deliveries_total',
      help: 'Delivery attempts by transport and outcome (delivered, skipped, suppressed, retry, dead_lettered)',
      labelNames: ['transport', 'outcome'] as const,
      registers: [registry],
    }),
    invalidEvents: new Counter({
      name: 'signalink_notifier_invalid_events_total',
      help: 'Events the notifier skipped because they did not match the contract',
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'signalink_notifier_pending',
      help: 'Notifications waiting for delivery or a retry',
      registers: [registry],
      async collect() {
        const row = (await db('notifications')
          .where({ status: 'pending' })
          .count({ n: '*' })
          .first()) as { n: number | string } | undefined;
        this.set(Number(row?.n ?? 0));
      },
    }),
    digestsPending: new Gauge({
      name: 'signalink_notifier_email_digests_pending',
      help: 'Email digests collecting messages, due, or waiting for a retry',
      registers: [registry],
      async collect() {
        const row = (await db('email_digests')
          .whereIn('status', ['open', 'sending'])
          .count({ n: '*' })
          .first()) as { n: number | string } | undefined;
        this.set(Number(row?.n ?? 0));
      },
    }),
  };
}
export type NotifierMetrics = ReturnType<typeof createNotifierMetrics>;
