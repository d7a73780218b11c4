// The Kafka engine of the event bus (kafkajs). Producer: idempotent, acks from all in-sync
// replicas, one request in flight so retries never reorder. Consumers: a consumer group per
// subscription that survives broker outages by relaunching itself when kafkajs gives up.
import kafkajs, {
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import type { Logger } from '../core/logger.js';
import { backoffDelay } from './backoff.js';
import { ConsumerSupervisor, type SupervisedMember } from './consumer-supervisor.js';
import {
  CONSUMER_RETRY,
  handleUntilDone,
  type EventBus,
  type OutgoingEvent,
  type SubscribeOptions,
  type Subscription,
  type TopicPartition,
} from './bus.js';
import type { BusMetrics } from './metrics.js';
import { trackedSockets } from './kafka-sockets.js';
import { partitionBatches } from './kafka-partitions.js';
import { ensureTopics, type TopicSettings } from './kafka-topics.js';
import { sleep } from './wakeup.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * How long the coordinator waits for members to rejoin in a rebalance: long enough for a
 * member busy with a batch, short enough that a join after a crash does not wait a minute.
 */
const rebalanceTimeoutMs = (sessionTimeoutMs: number) => Math.max(10_000, 2 * sessionTimeoutMs);

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitMs: number;
  /** The contract's topics (logical names) and how to provision them. */
  topics: Omit<TopicSettings, 'names'> & { logicalNames: string[] };
  log: Logger;
  metrics: BusMetrics;
}

/** Routes kafkajs's own logs to pino; kafkajs INFO is per-join chatter, so it goes to debug. */
function kafkaLogCreator(log: Logger) {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _t, ...extra } = entry;
      const fields = { kafka: namespace, ...extra };
      if (level === logLevel.ERROR) log.error(fields, message);
      else if (level === logLevel.WARN) log.warn(fields, message);
      else log.debug(fields, message);
    };
}

export class KafkaEventBus implements EventBus {
  readonly engine = 'kafka' as const;
  readonly kafka: Kafka;
  private producer: Promise<Producer> | undefined;
  private readonly producers = new Set<Producer>();
  private closed = false;
  private readonly sockets = trackedSockets();
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** Partition counts of the physical topics, once they are ready. */
  private topicsReady: Promise<Map<string, number>> | undefined;

  constructor(readonly options: KafkaBusOptions) {
    this.kafka = new KafkaClient({
      clientId: options.clientId,
      socketFactory: this.sockets.factory,
      brokers: options.brokers,
      connectionTimeout: 3000,
      requestTimeout: REQUEST_TIMEOUT_MS,
      retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
      logLevel: logLevel.INFO,
      logCreator: kafkaLogCreator(options.log.child({ component: 'kafkajs' })),
    });
  }

  physical(topic: string): string {
    return this.options.topicPrefix + topic;
  }

  logical(topic: string): string {
    return topic.startsWith(this.options.topicPrefix)
      ? topic.slice(this.options.topicPrefix.length)
      : topic;
  }

  /**
   * Creates or checks the contract's topics once per process, before the first publish or
   * subscription; a failure (brokers down) is retried by the next caller.
   */
  async prepare(): Promise<void> {
    await this.ensureTopics();
  }

  ensureTopics(): Promise<Map<string, number>> {
    this.topicsReady ??= (async () => {
      const { logicalNames, ...settings } = this.options.topics;
      const admin = this.kafka.admin({ retry: { retries: 3, initialRetryTime: 300 } });
      await admin.connect();
      try {
        return await ensureTopics(
          admin,
          { ...settings, names: logicalNames.map((t) => this.physical(t)) },
          this.options.log,
        );
      } finally {
        await admin.disconnect().catch(() => {});
      }
    })().catch((err: unknown) => {
      this.topicsReady = undefined;
      throw err;
    });
    return this.topicsReady;
  }

  private connectedProducer(): Promise<Producer> {
    if (this.closed) return Promise.reject(new Error('event bus is closed'));
    this.producer ??= (async () => {
      await this.ensureTopics();
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 5 },
      });
      this.producers.add(producer);
      try {
        await producer.connect();
      } catch (err) {
        // A producer that never connected still holds sockets and retry timers.
        this.release(producer);
        throw err;
      }
      if (this.closed) {
        this.release(producer);
        throw new Error('event bus is closed');
      }
      return producer;
    })();
    return this.producer;
  }

  private release(producer: Producer): void {
    this.producers.delete(producer);
    void producer.disconnect().catch(() => {});
  }

  /**
   * Forgets a producer that failed, so the next publish starts a fresh idempotent session
   * (new producer id, sequence numbers from zero) instead of one whose state is in doubt.
   */
  private discardProducer(failed: Promise<Producer>): void {
    if (this.producer !== failed) return;
    this.producer = undefined;
    void failed.then(
      (p) => this.release(p),
      () => {},
    );
  }

  async publish(events: OutgoingEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pending = this.connectedProducer();
    try {
      const producer = await pending;
      const batches = partitionBatches(
        events.map((e) => ({ topic: this.physical(e.topic), key: e.key, value: e.value })),
        await this.ensureTopics(),
      );
      // One send per partition (see kafka-partitions.ts for why not one sendBatch); sends to
      // one broker still go one at a time (maxInFlightRequests), each partition in order.
      // Every send settles before a failure is reported, so the producer is never discarded
      // under a request still in flight; the caller retries the whole batch (consumers drop
      // the partitions that did get through by eventId).
      const results = await Promise.allSettled(
        batches.map((b) =>
          producer.send({
            topic: b.topic,
            acks: -1,
            timeout: 30_000,
            messages: b.messages.map((m) => ({ ...m, partition: b.partition })),
          }),
        ),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (err) {
      this.discardProducer(pending);
      throw err;
    } finally {
      // A send that was still retrying when the bus closed may have reconnected its producer.
      if (this.closed)
        void pending.then(
          (p) => this.release(p),
          () => {},
        );
    }
    const perTopic = new Map<string, number>();
    for (const e of events) perTopic.set(e.topic, (perTopic.get(e.topic) ?? 0) + 1);
    for (const [topic, n] of perTopic) this.options.metrics.published.inc({ topic }, n);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const subscription = new KafkaSubscription(this, options);
    this.subscriptions.add(subscription);
    subscription.start();
    return {
      stop: async () => {
        await subscription.stop();
        this.subscriptions.delete(subscription);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.subscriptions.clear();
    this.producer = undefined;
    // Every producer ever made, including ones discarded while a send was still retrying.
    await Promise.all([...this.producers].map((p) => p.disconnect().catch(() => {})));
    this.producers.clear();
    this.sockets.closeAll();
  }
}

/**
 * One consumer group member, kept alive by a ConsumerSupervisor: when its kafkajs consumer
 * crashes, stops on its own or falls silent, a new consumer is launched after a backoff, for as
 * long as the subscription runs.
 */
class KafkaSubscription {
  private consumer: Consumer | undefined;
  private running = true;
  /** Stored positions of the current assignment: nothing below them is handed out. */
  private floors = new Map<string, number>();
  private positionsReady: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();
  private readonly supervisor: ConsumerSupervisor;
  private lastActivityAt = 0;

  constructor(
    private readonly bus: KafkaEventBus,
    private readonly options: SubscribeOptions,
  ) {
    const { sessionTimeoutMs } = bus.options;
    this.supervisor = new ConsumerSupervisor({
      launch: (created) => this.launch(created),
      // Longer than a join can legitimately wait for the group (the rebalance timeout) plus a
      // request timeout, so only a consumer that is really dead is replaced.
      stallMs: rebalanceTimeoutMs(sessionTimeoutMs) + REQUEST_TIMEOUT_MS,
      disconnectTimeoutMs: 10_000,
      backoffMs: (attempt) =>
        backoffDelay(attempt, CONSUMER_RETRY.initialMs * 4, CONSUMER_RETRY.maxMs),
      checkEveryMs: 1000,
      log: bus.options.log,
      what: { group: options.groupId },
    });
  }

  private get log(): Logger {
    return this.bus.options.log;
  }

  start(): void {
    this.supervisor.start();
  }

  private alive = () => {
    this.lastActivityAt = Date.now();
  };

  private async launch(created: (member: SupervisedMember) => void): Promise<void> {
    await this.bus.ensureTopics();
    const { sessionTimeoutMs, heartbeatIntervalMs, maxWaitMs } = this.bus.options;
    const consumer = this.bus.kafka.consumer({
      groupId: this.bus.physical(this.options.groupId),
      sessionTimeout: sessionTimeoutMs,
      rebalanceTimeout: rebalanceTimeoutMs(sessionTimeoutMs),
      heartbeatInterval: heartbeatIntervalMs,
      maxWaitTimeInMs: maxWaitMs,
      allowAutoTopicCreation: false,
      // kafkajs never restarts this consumer itself: the supervisor launches a new one, so
      // there is one restart path and nothing restarts behind a stop.
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 10_000,
        retries: 8,
        restartOnFailure: async () => false,
      },
    });
    this.consumer = consumer;
    let disconnecting = false;
    let reportEnd!: (reason: string) => void;
    const ended = new Promise<string>((resolve) => (reportEnd = resolve));
    consumer.on(consumer.events.CRASH, (event) =>
      reportEnd(`crashed: ${event.payload.error.name}: ${event.payload.error.message}`),
    );
    // Stopping without being asked is a crash whose event may never come.
    consumer.on(consumer.events.STOP, () => {
      if (!disconnecting) reportEnd('stopped by kafkajs');
    });
    for (const e of [
      consumer.events.REQUEST,
      consumer.events.HEARTBEAT,
      consumer.events.FETCH_START,
    ])
      consumer.on(e, this.alive);
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.alive();
      this.supervisor.joined();
      this.onAssigned(consumer, event.payload.memberAssignment);
    });
    this.alive();
    created({
      ended,
      lastActivityAt: () => this.lastActivityAt,
      disconnect: () => {
        disconnecting = true;
        if (this.consumer === consumer) this.consumer = undefined;
        return consumer.disconnect();
      },
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: this.options.topics.map((t) => this.bus.physical(t)),
      fromBeginning: true,
    });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /**
   * Seeks newly assigned partitions to the positions the subscriber stored. Fetching them is
   * paused meanwhile, and batches wait for the lookup and drop what lies below a stored
   * position: the seek alone is not enough, since kafkajs can let a fetch from the group's
   * older committed offset through around a rebalance.
   */
  private onAssigned(consumer: Consumer, assignment: Record<string, number[]>): void {
    const lookup = this.options.storedPositions;
    if (!lookup) return;
    const assigned: TopicPartition[] = [];
    for (const [topic, partitions] of Object.entries(assignment))
      for (const partition of partitions)
        assigned.push({ topic: this.bus.logical(topic), partition });
    if (assigned.length === 0) return;
    const paused = Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions }));
    consumer.pause(paused);
    this.positionsReady = (async () => {
      for (let attempt = 1; this.running && this.consumer === consumer; attempt++) {
        try {
          const positions = await lookup(assigned);
          this.floors = new Map(positions.map((p) => [`${p.partition}\u0000${p.topic}`, p.offset]));
          for (const pos of positions) {
            consumer.seek({
              topic: this.bus.physical(pos.topic),
              partition: pos.partition,
              offset: String(pos.offset),
            });
          }
          break;
        } catch (err) {
          const delay = backoffDelay(attempt, CONSUMER_RETRY.initialMs, CONSUMER_RETRY.maxMs);
          this.log.warn(
            { err, group: this.options.groupId, retryInMs: delay },
            'could not read stored consumer positions',
          );
          await sleep(delay, this.stopping.signal);
        }
      }
      if (this.consumer === consumer) consumer.resume(paused);
    })();
  }

  private async eachBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    if (batch.isEmpty()) return;
    this.alive();
    await this.positionsReady;
    const topic = this.bus.logical(batch.topic);
    const floor = this.floors.get(`${batch.partition}\u0000${topic}`) ?? -1;
    const events = batch.messages
      .map((m) => ({
        topic,
        partition: batch.partition,
        offset: Number(m.offset),
        key: m.key?.toString() ?? null,
        value: m.value?.toString() ?? '',
      }))
      .filter((e) => e.offset >= floor);
    if (events.length === 0) {
      // All of it was handled before the stored position: only move past it.
      resolveOffset(batch.lastOffset());
      await commitOffsetsIfNecessary();
      return;
    }
    const keepGoing = () => this.running && isRunning() && !isStale();
    // Sleeps between attempts in heartbeat-sized steps so the group keeps this member.
    const pause = async (ms: number) => {
      const until = Date.now() + ms;
      while (keepGoing() && Date.now() < until) {
        await sleep(
          Math.min(this.bus.options.heartbeatIntervalMs, until - Date.now()),
          this.stopping.signal,
        );
        await heartbeat();
        this.alive();
      }
    };
    const done = await handleUntilDone(
      () =>
        this.options.handleBatch(
          { topic, partition: batch.partition, events, highWatermark: Number(batch.highWatermark) },
          heartbeat,
        ),
      keepGoing,
      pause,
      this.log,
      { group: this.options.groupId, topic, partition: batch.partition },
    );
    if (!done) return;
    this.alive();
    resolveOffset(batch.lastOffset());
    await commitOffsetsIfNecessary();
    const { consumed, consumerLag } = this.bus.options.metrics;
    consumed.inc({ group: this.options.groupId, topic }, events.length);
    consumerLag.set(
      { group: this.options.groupId, topic, partition: String(batch.partition) },
      Math.max(0, Number(batch.highWatermark) - Number(batch.lastOffset()) - 1),
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    await this.supervisor.stop();
  }
}
