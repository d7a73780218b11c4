import pg from 'pg';
import { OUTBOX_NOTIFY_CHANNEL } from '../chat/outbox.js';
import type { Logger } from '../core/logger.js';
import { backoffDelay } from '../events/backoff.js';
import type { EventBus } from '../events/bus.js';
import { settleWithin, sleep, Wakeup } from '../events/wakeup.js';
import type { RelayMetrics } from './metrics.js';

export interface RelayOptions {
  batchSize: number;
  pollIntervalMs: number;
  standbyRetryMs: number;
  retryMaxMs: number;
  retentionSeconds: number;
  pruneIntervalMs: number;
}

export interface RelayDeps {
  /** Settings for the relay's own connection (it holds the lease, so it is not pooled). */
  connection: pg.ClientConfig;
  bus: EventBus;
  log: Logger;
  metrics: RelayMetrics;
  options: RelayOptions;
}

// Every replica must agree on the key; it only has to differ from other advisory locks.
export const RELAY_LOCK_KEY = 727_002;
const PRUNE_CHUNK = 5000;

interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  payload: string;
}

/**
 * Publishes the outbox to the event bus, oldest row first, and marks what was accepted.
 *
 * Exactly one relay is active: the one whose connection holds a PostgreSQL advisory lock.
 * PostgreSQL releases it when that connection ends, so when an active relay dies a standby
 * (polling for the lock every RELAY_STANDBY_RETRY_MS) takes over. The same connection
 * LISTENs for outbox writes, with polling as the fallback for a missed notification.
 *
 * Order: rows are read by id and a batch is published before the next is read, so events of
 * one key (one channel) reach their partition in the order they were written; within a
 * channel, ids follow seq because the seq counter's row lock serialises the writers.
 * A batch the bus refuses is retried, with backoff, before anything after it. A batch that
 * was published but not marked (crash in between) is published again: consumers dedupe on
 * eventId.
 */
export class OutboxRelay {
  private readonly stopping = new AbortController();
  private readonly wakeup = new Wakeup();
  private loop: Promise<void> | undefined;
  private client: pg.Client | undefined;

  constructor(private readonly deps: RelayDeps) {}

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { log, metrics, options } = this.deps;
    let failures = 0;
    while (!this.stopped) {
      const client = new pg.Client({
        ...this.deps.connection,
        application_name: 'signalink-relay',
        keepAlive: true,
      });
      this.client = client;
      let lost: Error | undefined;
      client.on('error', (err) => {
        lost = err;
        this.wakeup.wake();
      });
      client.on('notification', () => this.wakeup.wake());
      try {
        await client.connect();
        if (!(await this.acquireLease(client))) break;
        failures = 0;
        metrics.active.set(1);
        log.info('relay is now active');
        await client.query(`listen ${OUTBOX_NOTIFY_CHANNEL}`);
        await this.publishUntilStopped(client, () => lost);
      } catch (err) {
        if (!this.stopped) log.warn({ err }, 'relay lost its database connection');
      } finally {
        metrics.active.set(0);
        this.client = undefined;
        await client.end().catch(() => {});
      }
      if (this.stopped) break;
      failures += 1;
      await sleep(backoffDelay(failures, 500, options.retryMaxMs), this.stopping.signal);
    }
  }

  /** Waits as a standby until the lease is ours; false when stopped first. */
  private async acquireLease(client: pg.Client): Promise<boolean> {
    let announced = false;
    while (!this.stopped) {
      const { rows } = await client.query<{ ok: boolean }>(
        'select pg_try_advisory_lock($1) as ok',
        [RELAY_LOCK_KEY],
      );
      if (rows[0]?.ok) return true;
      if (!announced) {
        this.deps.log.info('another relay is active; standing by');
        announced = true;
      }
      await sleep(this.deps.options.standbyRetryMs, this.stopping.signal);
    }
    return false;
  }

  private async publishUntilStopped(
    client: pg.Client,
    lost: () => Error | undefined,
  ): Promise<void> {
    const { bus, log, metrics, options } = this.deps;
    let failures = 0;
    let nextPrune = Date.now();
    while (!this.stopped) {
      const error = lost();
      if (error) throw error;
      if (Date.now() >= nextPrune) {
        await this.prune(client);
        nextPrune = Date.now() + options.pruneIntervalMs;
      }
      const { rows } = await client.query<OutboxRow>(
        'select id, topic, key, payload::text as payload from outbox where published_at is null order by id limit $1',
        [options.batchSize],
      );
      if (rows.length === 0) {
        await this.wakeup.wait(options.pollIntervalMs);
        continue;
      }
      try {
        await bus.publish(rows.map((r) => ({ topic: r.topic, key: r.key, value: r.payload })));
      } catch (err) {
        failures += 1;
        metrics.publishFailures.inc();
        const delay = backoffDelay(failures, 200, options.retryMaxMs);
        log.warn(
          { err, attempt: failures, retryInMs: delay, firstId: rows[0]!.id },
          'event bus refused an outbox batch; retrying',
        );
        await sleep(delay, this.stopping.signal);
        continue;
      }
      failures = 0;
      const marked = await client.query<{ lag: number }>(
        'update outbox set published_at = now() where id = any($1::bigint[]) returning extract(epoch from clock_timestamp() - created_at)::float8 as lag',
        [rows.map((r) => r.id)],
      );
      for (const r of marked.rows) metrics.lag.observe(r.lag);
    }
  }

  private async prune(client: pg.Client): Promise<void> {
    for (let round = 0; round < 100 && !this.stopped; round++) {
      const result = await client.query(
        'delete from outbox where id in (select id from outbox where published_at < now() - make_interval(secs => $1) limit $2)',
        [this.deps.options.retentionSeconds, PRUNE_CHUNK],
      );
      this.deps.metrics.pruned.inc(result.rowCount ?? 0);
      if ((result.rowCount ?? 0) < PRUNE_CHUNK) return;
    }
  }

  /** Stops taking new batches and lets the one in hand finish, until the deadline. */
  async drain(deadline: number): Promise<void> {
    this.stopping.abort();
    this.wakeup.wake();
    if (!this.loop) return;
    await settleWithin(this.loop, Math.max(0, deadline - Date.now()));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wakeup.wake();
    // Ending the connection releases the lease at once and fails any query in flight.
    await this.client?.end().catch(() => {});
    // A publish the bus is still retrying is abandoned: its rows stay unpublished.
    await settleWithin(this.loop ?? Promise.resolve(), 5000);
  }
}
