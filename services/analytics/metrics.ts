import { Counter, type Registry } from 'prom-client';

export function createAnalyticsMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: 'signalink_analytics_events_total',
      help: 'Events read by analytics, by topic and outcome (counted, duplicate, replayed, ignored, invalid)',
      labelNames: ['topic', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
export type AnalyticsMetrics = ReturnType<typeof createAnalyticsMetrics>;
