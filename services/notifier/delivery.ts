import { TOPICS } from '../chat/outbox.js';
import type { Logger } from '../core/logger.js';
import { backoffDelay } from '../events/backoff.js';
import type { EventBus } from '../events/bus.js';
import { settleWithin, Wakeup } from '../events/wakeup.js';
import type { NotifierMetrics } from './metrics.js';
import { DeliveryError, type DeliveryOutcome } from './transports/transport.js';

/** A job taken from a delivery queue, with what earlier attempts left. */
export interface DueJob<J> {
  job: J;
  /** Attempts made before this one. */
  attempts: number;
  lastError: string | null;
}

/**
 * A durable queue of deliveries (push notifications, email digests): rows are claimed with
 * a lease, so a worker that dies leaves them to be taken again, and several workers share it.
 */
export interface DeliveryQueue<J> {
  claimDue(limit: number, leaseMs: number): Promise<DueJob<J>[]>;
  finished(id: string, attempts: number, outcome: DeliveryOutcome): Promise<void>;
  retryLater(id: string, attempts: number, delayMs: number, error: string): Promise<void>;
  dead(id: string, attempts: number, error: string): Promise<void>;
}

export interface JobTransport<J> {
  readonly name: string;
  /** Throws DeliveryError; anything else thrown counts as a retryable failure. */
  send(job: J): Promise<DeliveryOutcome>;
}

/** How a job is named in logs and what its dead letter says. */
export interface JobDescription<J> {
  id(job: J): string;
  userId(job: J): string;
  deadLetter(job: J, error: string, attempts: number): unknown;
}

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
 * Works through a delivery queue: delivers what is due, reschedules failures with
 * exponential backoff and jitter, and after the last attempt (or a failure retrying cannot
 * fix) publishes the job's dead letter (with its error) to signalink.notifications.dlq.
 */
export class DeliveryWorker<J> {
  private readonly wakeup = new Wakeup();
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      queue: DeliveryQueue<J>;
      transport: JobTransport<J>;
      describe: JobDescription<J>;
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
    const { queue, log, options } = this.deps;
    const concurrency = options.concurrency ?? 8;
    let failures = 0;
    while (this.running) {
      let due: DueJob<J>[];
      try {
        due = await queue.claimDue(concurrency, options.leaseMs ?? 60_000);
        failures = 0;
      } catch (err) {
        failures += 1;
        log.warn({ err, transport: this.deps.transport.name }, 'could not read the delivery queue');
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

  private async attempt({ job, attempts, lastError }: DueJob<J>): Promise<void> {
    const { queue, transport, describe, log, metrics, options } = this.deps;
    const id = describe.id(job);
    try {
      // A job that used its attempts but could not be dead-lettered yet goes straight there.
      if (attempts >= options.maxAttempts)
        return await this.deadLetter(job, attempts, lastError ?? 'out of attempts');
      const attempt = attempts + 1;
      let outcome;
      try {
        outcome = await transport.send(job);
      } catch (err) {
        const permanent = err instanceof DeliveryError && err.permanent;
        const message = err instanceof Error ? err.message : String(err);
        if (permanent || attempt >= options.maxAttempts)
          return await this.deadLetter(job, attempt, message);
        const delay = backoffDelay(attempt, options.retryBaseMs, options.retryMaxMs);
        metrics.deliveries.inc({ transport: transport.name, outcome: 'retry' });
        log.info(
          { id, transport: transport.name, attempt, retryInMs: delay, error: message },
          'delivery failed; will retry',
        );
        return await queue.retryLater(id, attempt, delay, message);
      }
      metrics.deliveries.inc({ transport: transport.name, outcome });
      await queue.finished(id, attempt, outcome);
    } catch (err) {
      // The queue itself failed (database down); the lease expires and the row is taken again.
      log.warn({ err, id, transport: transport.name }, 'could not record a delivery');
    }
  }

  private async deadLetter(job: J, attempts: number, error: string): Promise<void> {
    const { queue, bus, log, metrics, options, transport, describe } = this.deps;
    const id = describe.id(job);
    try {
      await bus.publish([
        {
          topic: TOPICS.notificationsDlq,
          key: describe.userId(job),
          value: JSON.stringify(describe.deadLetter(job, error, attempts)),
        },
      ]);
    } catch (err) {
      log.warn(
        { err, id, transport: transport.name },
        'could not dead-letter a delivery; will try again',
      );
      await queue.retryLater(
        id,
        attempts,
        backoffDelay(1, options.retryMaxMs, options.retryMaxMs),
        error,
      );
      return;
    }
    metrics.deliveries.inc({ transport: transport.name, outcome: 'dead_lettered' });
    log.warn(
      { id, transport: transport.name, userId: describe.userId(job), attempts, error },
      'delivery dead-lettered',
    );
    await queue.dead(id, attempts, error);
  }

  /** Finishes the deliveries in hand, until the deadline. */
  async stop(deadline = Date.now() + 5000): Promise<void> {
    this.running = false;
    this.wakeup.wake();
    if (this.loop) await settleWithin(this.loop, Math.max(0, deadline - Date.now()));
  }
}
