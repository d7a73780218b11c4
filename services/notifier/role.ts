import type { Server } from 'node:http';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { NOTIFIER_CONSUMER } from '../events/consumer-groups.js';
import type { RoleContext, RoleStarter } from '../role.js';
import { DeliveryWorker, type DeliveryOptions } from './delivery.js';
import { PgDeviceTokens } from './device-tokens.js';
import { DigestStore, type DigestJob } from './digest-store.js';
import { createNotifierMetrics } from './metrics.js';
import { NotificationPlanner } from './planner.js';
import type { Notification } from './rules.js';
import { NotificationStore } from './store.js';
import {
  EmailDigestTransport,
  LogMailSender,
  SmtpMailSender,
  type MailSender,
} from './transports/email.js';
import { createFirebaseSender, FcmTransport } from './transports/fcm.js';
import { LogTransport } from './transports/log.js';
import type { NotificationTransport } from './transports/transport.js';
import { WebhookTransport } from './transports/webhook.js';

/** Links in emails when PUBLIC_URL is not set: this server, as seen from this machine. */
function localUrl(server: Server): string {
  const address = server.address();
  return `http://localhost:${typeof address === 'object' && address ? address.port : ''}`;
}

// Delivered and dead notifications, finished digests, and handled event ids, are kept this
// long for inspection.
const HISTORY_DAYS = 7;
const PRUNE_EVERY_MS = 60 * 60_000;

async function createPushTransport(
  transport: NonNullable<Config['notifier']['transport']>,
  config: Config['notifier'],
  ctx: RoleContext,
  log: Logger,
): Promise<NotificationTransport> {
  switch (transport) {
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

/**
 * The notifier role: message.created → who is offline and wants it → the push transport
 * (with retries) and/or email digests (one per member and channel per window, same retries).
 */
export const startNotifier: RoleStarter = async (ctx) => {
  const config = ctx.config.notifier;
  const metrics = createNotifierMetrics(ctx.metrics, ctx.db);
  const digests = new DigestStore(ctx.db);
  const store = new NotificationStore(ctx.db, digests);
  const options: DeliveryOptions = {
    maxAttempts: config.maxAttempts,
    retryBaseMs: config.retryBaseMs,
    retryMaxMs: config.retryMaxMs,
    pollIntervalMs: config.pollIntervalMs,
  };
  const common = { bus: ctx.events.bus, log: ctx.log, metrics, options };

  let pushWorker: DeliveryWorker<Notification> | undefined;
  if (config.transport) {
    pushWorker = new DeliveryWorker<Notification>({
      ...common,
      queue: store,
      transport: await createPushTransport(config.transport, config, ctx, ctx.log),
      describe: {
        id: (n) => n.notificationId,
        userId: (n) => n.userId,
        deadLetter: (n, error, attempts) => ({ ...n, error, attempts }),
      },
    });
  }

  let emailWorker: DeliveryWorker<DigestJob> | undefined;
  let mailSender: MailSender | undefined;
  if (config.email.enabled) {
    mailSender = config.email.smtpUrl
      ? new SmtpMailSender(config.email.smtpUrl, config.email.from)
      : new LogMailSender(ctx.log);
    if (!config.email.smtpUrl)
      ctx.log.warn('email digests are written to the log, not sent: set SMTP_URL to send them');
    emailWorker = new DeliveryWorker<DigestJob>({
      ...common,
      queue: digests,
      transport: new EmailDigestTransport({
        store: digests,
        sender: mailSender,
        tokens: ctx.unsubscribeTokens,
        publicUrl: () => ctx.config.publicUrl ?? localUrl(ctx.http.server),
        from: config.email.from,
      }),
      describe: {
        id: (d) => d.digestId,
        userId: (d) => d.userId,
        deadLetter: (d, error, attempts) => ({
          transport: 'email',
          digestId: d.digestId,
          userId: d.userId,
          channelId: d.channelId,
          messageIds: d.mail?.messageIds ?? [],
          subject: d.mail?.subject ?? null,
          error,
          attempts,
        }),
      },
    });
  }

  const planner = new NotificationPlanner({
    store,
    presence: ctx.presence,
    log: ctx.log,
    metrics,
    push: pushWorker !== undefined,
    email: config.email.enabled ? { windowSeconds: config.email.digestWindowSeconds } : undefined,
  });
  pushWorker?.start();
  emailWorker?.start();
  const subscription = await ctx.events.bus.subscribe({
    groupId: NOTIFIER_CONSUMER.groupId,
    topics: [...NOTIFIER_CONSUMER.topics],
    handleBatch: async (batch) => {
      if ((await planner.handleBatch(batch)) > 0) pushWorker?.wake();
    },
  });
  const prune = async () => {
    await store.prune(HISTORY_DAYS);
    await digests.prune(HISTORY_DAYS);
  };
  const pruning = setInterval(
    () => void prune().catch((err: unknown) => ctx.log.warn({ err }, 'notifier pruning failed')),
    PRUNE_EVERY_MS,
  );
  pruning.unref();
  ctx.log.info(
    {
      transport: config.transport ?? null,
      email: config.email.enabled
        ? { sender: mailSender!.kind, digestWindowSeconds: config.email.digestWindowSeconds }
        : 'off',
    },
    'notifier started',
  );
  if (!config.email.enabled)
    ctx.log.info('email digests are off: set SMTP_URL or NOTIFIER_TRANSPORT=...,email');
  let stopped: Promise<void> | undefined;
  const stop = (deadline = Date.now() + 5000) => {
    clearInterval(pruning);
    stopped ??= (async () => {
      await subscription.stop();
      await Promise.all([pushWorker?.stop(deadline), emailWorker?.stop(deadline)]);
      mailSender?.close();
    })();
    return stopped;
  };
  return { drain: stop, stop: () => stop() };
};
