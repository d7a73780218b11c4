// The event bus between the relay and the consumers (analytics, notifier, anyone downstream).
// Two engines share this interface: Kafka (KAFKA_BROKERS set) and an in-process log for the
// single-process embedded mode. Topic and group names here are logical (`signalink.messages`);
// engines add KAFKA_TOPIC_PREFIX themselves.
import type { Logger } from '../core/logger.js';
import { backoffDelay } from './backoff.js';

export interface OutgoingEvent {
  topic: string;
  /** Decides the partition: events with one key keep their order. */
  key: string;
  /** The JSON text of the event. */
  value: string;
}

export interface ConsumedEvent {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** `offset` is the next offset to read. */
export interface PartitionPosition extends TopicPartition {
  offset: number;
}

export interface ConsumedBatch extends TopicPartition {
  events: ConsumedEvent[];
  /** Offset after the newest event in the partition, for lag. */
  highWatermark: number;
}

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  /**
   * Handles one batch of one partition, in offset order. Throwing makes the bus offer the same
   * batch again after a backoff, until it succeeds or the subscription stops, so a handler must
   * be idempotent and must skip (not throw on) events it can never process.
   */
  handleBatch(batch: ConsumedBatch, heartbeat: () => Promise<void>): Promise<void>;
  /**
   * For consumers that keep their positions outside the bus (analytics stores them with its
   * results in PostgreSQL): called when partitions are assigned; consumption of each returned
   * partition resumes at its offset. Partitions not returned start from the group's committed
   * position, or the earliest event.
   */
  storedPositions?(assigned: TopicPartition[]): Promise<PartitionPosition[]>;
}

export interface Subscription {
  /** Finishes the batch in hand, then leaves the group. */
  stop(): Promise<void>;
}

export interface EventBus {
  readonly engine: 'kafka' | 'memory';
  /**
   * Gets the bus ready for use (Kafka: creates the contract's topics, or checks them when
   * something else manages them). Idempotent; rejects while that cannot be done, and publish
   * and subscribe do it themselves, so calling it only makes problems show at start.
   */
  prepare(): Promise<void>;
  /** Resolves once every event is durably accepted (Kafka: acks from all in-sync replicas). */
  publish(events: OutgoingEvent[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

export const CONSUMER_RETRY = { initialMs: 250, maxMs: 30_000 };

/**
 * Runs a batch handler until it succeeds. Returns false when `keepGoing` turned false first
 * (the batch was not handled and must not be marked consumed).
 */
export async function handleUntilDone(
  run: () => Promise<void>,
  keepGoing: () => boolean,
  pause: (ms: number) => Promise<void>,
  log: Logger,
  what: Record<string, unknown>,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run();
      return true;
    } catch (err) {
      if (!keepGoing()) return false;
      const delay = backoffDelay(attempt, CONSUMER_RETRY.initialMs, CONSUMER_RETRY.maxMs);
      log.warn(
        { err, attempt, retryInMs: delay, ...what },
        'event handler failed; the batch will be offered again',
      );
      await pause(delay);
      if (!keepGoing()) return false;
    }
  }
}
