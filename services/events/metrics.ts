import { Counter, Gauge, type Registry } from 'prom-client';

/** Metrics every bus engine reports, labelled with logical topic and group names. */
export function createBusMetrics(registry: Registry) {
  return {
    published: new Counter({
      name: 'signalink_events_published_total',
      help: 'Events accepted by the event bus, by topic',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    consumed: new Counter({
      name: 'signalink_events_consumed_total',
      help: 'Events handled by a consumer group, by group and topic',
      labelNames: ['group', 'topic'] as const,
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'signalink_consumer_lag',
      help: 'Events in a partition not yet handled by the consumer group (as of its last batch)',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers: [registry],
    }),
  };
}
export type BusMetrics = ReturnType<typeof createBusMetrics>;
