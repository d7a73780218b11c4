import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createOperatorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    reconciles: new Counter({
      name: 'signalink_operator_reconciles_total',
      help: 'Reconciles of Signalink resources, by result (success, error, skipped)',
      labelNames: ['result'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'signalink_operator_reconcile_errors_total',
      help: 'Failed reconcile steps, by step (observe, apply, prune, status)',
      labelNames: ['step'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'signalink_operator_reconcile_duration_seconds',
      help: 'Time to reconcile one Signalink resource',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'signalink_operator_queue_depth',
      help: 'Resources waiting in the work queue',
      registers,
    }),
    leader: new Gauge({
      name: 'signalink_operator_leader',
      help: '1 while this process holds the leader Lease and reconciles',
      registers,
    }),
    watchRestarts: new Counter({
      name: 'signalink_operator_watch_restarts_total',
      help: 'List/watch loops restarted after an error or an expired resourceVersion, by watch',
      labelNames: ['watch'] as const,
      registers,
    }),
    objects: new Counter({
      name: 'signalink_operator_object_changes_total',
      help: 'Owned objects created, updated or pruned, by kind and action',
      labelNames: ['kind', 'action'] as const,
      registers,
    }),
  };
}
export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
