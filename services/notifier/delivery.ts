import { TOPICS } from '../chat/outbox.js';
import type { Logger } from '../core/logger.js';
import { backoffDelay } from '../events/backoff.js';
import type { EventBus } from '../events/bus.js';
import { settleWithin, Wakeup } from '../events/wakeup.js';
import type { NotifierMetrics } from './metrics.js';
import type { DueNotification, NotificationStore } from './store.js';
import { DeliveryError, type NotificationTransport } from './transports/transport.js';

export interface DeliveryOptions {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  pollIntervalMs: number;
  /** Notifications delivered at once by one worker. */
  concurrency?: number;
  /** How long a taken notification is reserved for this worker. */
  leaseMs?: number;
}

/**
 * Works through the notification queue: delivers what is due, reschedules failures with
 * exponential backoff and jitter, and after the last attempt (or a failure retrying cannot
 * fix) publishes the notification with its error to signalink.notifications.dlq.
 */
export class DeliveryWorker {
  private readonly wakeup = new Wakeup();
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      store: NotificationStore;
      transport: NotificationTransport;
      bus: EventBus;
      log: Logger;
      metrics: NotifierMetrics;
      options: DeliveryOptions;
    },
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** New notifications were queued. */
  wake(): void {
    this.wakeup.wake();
  }

  private async run(): Promise<void> {
    const { store, log, options } = this.deps;
    const concurrency = options.concurrency ?? 8;
    let failures = 0;
    while (this.running) {
      let due: DueNotification[];
      try {
        due = await store.claimDue(concurrency, options.leaseMs ?? 60_000);
        failures = 0;
      } catch (err) {
        failures += 1;
        log.warn({ err }, 'could not read the notification queue');
        await this.wakeup.wait(backoffDelay(failures, 500, 30_000));
        continue;
      }
      if (due.length === 0) {
        await this.wakeup.wait(options.pollIntervalMs);
        continue;
      }
      await Promise.all(due.map((d) => this.attempt(d)));
    }
  }

  private async attempt({ notification, attempts, lastError }: DueNotification): Promise<void> {
    const { store, transport, log, metrics, options } = this.deps;
    const id = notification.notificationId;
    try {
      // A notification that used its attempts but could not be dead-lettered yet goes straight there.
      if (attempts >= options.maxAttempts)
        return await this.deadLetter(notification, attempts, lastError ?? 'out of attempts');
      const attempt = attempts + 1;
      let outcome;
      try {
        outcome = await transport.send(notification);
      } catch (err) {
        const permanent = err instanceof DeliveryError && err.permanent;
        const message = err instanceof Error ? err.message : String(err);
        if (permanent || attempt >= options.maxAttempts)
          return await this.deadLetter(notification, attempt, message);
        const delay = backoffDelay(attempt, options.retryBaseMs, options.retryMaxMs);
        metrics.deliveries.inc({ transport: transport.name, outcome: 'retry' });
        log.info(
          { notificationId: id, attempt, retryInMs: delay, error: message },
          'notification delivery failed; will retry',
        );
        return await store.retryLater(id, attempt, delay, message);
      }
      metrics.deliveries.inc({ transport: transport.name, outcome });
      await store.delivered(id, attempt);
    } catch (err) {
      // The queue itself failed (database down); the lease expires and the row is taken again.
      log.warn({ err, notificationId: id }, 'could not record a notification delivery');
    }
  }

  private async deadLetter(
    notification: DueNotification['notification'],
    attempts: number,
    error: string,
  ): Promise<void> {
    const { store, bus, log, metrics, options, transport } = this.deps;
    try {
      await bus.publish([
        {
          topic: TOPICS.notificationsDlq,
          key: notification.userId,
          value: JSON.stringify({ ...notification, error, attempts }),
        },
      ]);
    } catch (err) {
      log.warn(
        { err, notificationId: notification.notificationId },
        'could not dead-letter a notification; will try again',
      );
      await store.retryLater(
        notification.notificationId,
        attempts,
        backoffDelay(1, options.retryMaxMs, options.retryMaxMs),
        error,
      );
      return;
    }
    metrics.deliveries.inc({ transport: transport.name, outcome: 'dead_lettered' });
    log.warn(
      { notificationId: notification.notificationId, userId: notification.userId, attempts, error },
      'notification dead-lettered',
    );
    await store.dead(notification.notificationId, attempts, error);
  }

  /** Finishes the deliveries in hand, until the deadline. */
  async stop(deadline = Date.now() + 5000): Promise<void> {
    this.running = false;
    this.wakeup.wake();
    if (this.loop) await settleWithin(this.loop, Math.max(0, deadline - Date.now()));
  }
}
