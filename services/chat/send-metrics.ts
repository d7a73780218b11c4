import { Histogram, type Registry } from 'prom-client';
import type { GroupCommitHooks } from './group-commit.js';

/** How the send group commit behaves: batch sizes and how long each write took. */
export function sendBatchMetrics(registry: Registry): GroupCommitHooks {
  const registers = [registry];
  const size = new Histogram({
    name: 'signalink_send_batch_messages',
    help: 'Sends written per batch (one round trip and one transaction each)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers,
  });
  const seconds = new Histogram({
    name: 'signalink_send_batch_write_seconds',
    help: 'Time to write and commit one batch of sends',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  return {
    onBatch: (items, _bytes, elapsedMs) => {
      size.observe(items);
      seconds.observe(elapsedMs / 1000);
    },
  };
}
