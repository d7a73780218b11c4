import type pg from 'pg';
import type { RoleStarter } from '../role.js';
import { createRelayMetrics } from './metrics.js';
import { OutboxRelay } from './outbox-relay.js';

/** The relay role: outbox → event bus (docs/pipeline.md). */
export const startRelay: RoleStarter = async (ctx) => {
  // The relay's lease connection uses the same settings as the pool (knex keeps them resolved).
  const connection = (ctx.db.client as { connectionSettings: pg.ClientConfig }).connectionSettings;
  const relay = new OutboxRelay({
    connection,
    bus: ctx.events.bus,
    log: ctx.log,
    metrics: createRelayMetrics(ctx.metrics, ctx.db),
    options: ctx.config.relay,
  });
  // Topics exist from the start, not from the first message; publishing retries it anyway.
  ctx.events.bus
    .prepare()
    .catch((err: unknown) => ctx.log.warn({ err }, 'event bus not ready yet; the relay retries'));
  relay.start();
  return { drain: (deadline) => relay.drain(deadline), stop: () => relay.stop() };
};
