import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { NOTIFIER_CONSUMER } from '../events/consumer-groups.js';
import type { RoleContext, RoleStarter } from '../role.js';
import { DeliveryWorker } from './delivery.js';
import { PgDeviceTokens } from './device-tokens.js';
import { createNotifierMetrics } from './metrics.js';
import { NotificationPlanner } from './planner.js';
import { NotificationStore } from './store.js';
import { createFirebaseSender, FcmTransport } from './transports/fcm.js';
import { LogTransport } from './transports/log.js';
import type { NotificationTransport } from './transports/transport.js';
import { WebhookTransport } from './transports/webhook.js';

// Delivered and dead notifications, and handled event ids, are kept this long for inspection.
const HISTORY_DAYS = 7;
const PRUNE_EVERY_MS = 60 * 60_000;

async function createTransport(
  config: Config['notifier'],
  ctx: RoleContext,
  log: Logger,
): Promise<NotificationTransport> {
  switch (config.transport) {
    case 'webhook':
      // Both are required by config validation when the transport is webhook.
      return new WebhookTransport({
        url: config.webhookUrl!,
        secret: config.webhookSecret!,
        timeoutMs: config.webhookTimeoutMs,
      });
    case 'fcm':
      return new FcmTransport(
        await createFirebaseSender({ serviceAccountJson: config.fcmServiceAccountJson }),
        new PgDeviceTokens(ctx.db),
      );
    case 'log':
      return new LogTransport(log);
  }
}

/** The notifier role: message.created → who is offline and wants it → transport, with retries. */
export const startNotifier: RoleStarter = async (ctx) => {
  const config = ctx.config.notifier;
  const metrics = createNotifierMetrics(ctx.metrics, ctx.db);
  const store = new NotificationStore(ctx.db);
  const transport = await createTransport(config, ctx, ctx.log);
  const worker = new DeliveryWorker({
    store,
    transport,
    bus: ctx.events.bus,
    log: ctx.log,
    metrics,
    options: {
      maxAttempts: config.maxAttempts,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
      pollIntervalMs: config.pollIntervalMs,
    },
  });
  const planner = new NotificationPlanner({ store, presence: ctx.presence, log: ctx.log, metrics });
  worker.start();
  const subscription = await ctx.events.bus.subscribe({
    groupId: NOTIFIER_CONSUMER.groupId,
    topics: [...NOTIFIER_CONSUMER.topics],
    handleBatch: async (batch) => {
      if ((await planner.handleBatch(batch)) > 0) worker.wake();
    },
  });
  const pruning = setInterval(
    () =>
      void store
        .prune(HISTORY_DAYS)
        .catch((err: unknown) => ctx.log.warn({ err }, 'notifier pruning failed')),
    PRUNE_EVERY_MS,
  );
  pruning.unref();
  ctx.log.info({ transport: transport.name }, 'notifier started');
  let stopped: Promise<void> | undefined;
  const stop = (deadline = Date.now() + 5000) => {
    clearInterval(pruning);
    stopped ??= (async () => {
      await subscription.stop();
      await worker.stop(deadline);
    })();
    return stopped;
  };
  return { drain: stop, stop: () => stop() };
};
