// The in-process engine of the event bus, for the single-process embedded mode (no
// KAFKA_BROKERS). It keeps Kafka's model so consumers are written once: topics with
// partitions chosen by key, offsets, consumer groups with committed positions.
import type { Logger } from '../core/logger.js';
import {
  handleUntilDone,
  type ConsumedEvent,
  type EventBus,
  type OutgoingEvent,
  type PartitionPosition,
  type SubscribeOptions,
  type Subscription,
  type TopicPartition,
} from './bus.js';
import type { BusMetrics } from './metrics.js';
import { sleep, Wakeup } from './wakeup.js';

export interface LocalConsumerGroup {
  groupId: string;
  topics: readonly string[];
}

export interface MemoryBusOptions {
  log: Logger;
  metrics: BusMetrics;
  partitions?: number;
  /**
   * Consumer groups that run in this process. `publish` resolves only once each of them has
   * handled the events, even if it has not subscribed yet (roles start one after another):
   * the relay then marks outbox rows published only when nothing would be lost if the
   * process died, since this engine's log dies with it.
   */
  localGroups?: LocalConsumerGroup[];
  /** Events kept per partition beyond what waiting groups still need, for late subscribers. */
  retainPerPartition?: number;
  maxBatch?: number;
}

const tpKey = (topic: string, partition: number) => `${partition}\u0000${topic}`;

/** FNV-1a: a stable key → partition mapping, so one key always lands in one partition. */
function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

class MemoryPartition {
  events: ConsumedEvent[] = [];
  constructor(
    readonly topic: string,
    readonly partition: number,
    public firstOffset: number,
  ) {}

  get end(): number {
    return this.firstOffset + this.events.length;
  }

  append(key: string, value: string): number {
    const offset = this.end;
    this.events.push({ topic: this.topic, partition: this.partition, offset, key, value });
    return offset;
  }

  slice(from: number, max: number): ConsumedEvent[] {
    const start = Math.max(0, from - this.firstOffset);
    return this.events.slice(start, start + max);
  }

  trimBefore(offset: number): void {
    const drop = Math.min(this.events.length, offset - this.firstOffset);
    if (drop <= 0) return;
    this.events.splice(0, drop);
    this.firstOffset += drop;
  }
}

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

class GroupState {
  readonly committed = new Map<string, number>();
  readonly waiters = new Map<string, Waiter[]>();
  active: MemorySubscription | undefined;
  /** A local group that has stopped will not come back in this process: nobody waits for it. */
  retired = false;

  constructor(
    readonly groupId: string,
    readonly topics: Set<string>,
    readonly local: boolean,
  ) {}

  get awaited(): boolean {
    return this.active !== undefined || (this.local && !this.retired);
  }

  commit(topic: string, partition: number, next: number): void {
    const key = tpKey(topic, partition);
    this.committed.set(key, next);
    const waiting = this.waiters.get(key);
    if (!waiting) return;
    const still = waiting.filter((w) => {
      if (w.offset < next) w.resolve();
      return w.offset >= next;
    });
    if (still.length > 0) this.waiters.set(key, still);
    else this.waiters.delete(key);
  }

  waitFor(topic: string, partition: number, offset: number): Promise<void> {
    const key = tpKey(topic, partition);
    if ((this.committed.get(key) ?? -1) > offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(key) ?? [];
      list.push({ offset, resolve, reject });
      this.waiters.set(key, list);
    });
  }

  failWaiters(reason: string): void {
    for (const list of this.waiters.values()) for (const w of list) w.reject(new Error(reason));
    this.waiters.clear();
  }
}

export class MemoryEventBus implements EventBus {
  readonly engine = 'memory' as const;
  private readonly topics = new Map<string, MemoryPartition[]>();
  private readonly groups = new Map<string, GroupState>();
  private readonly partitions: number;
  private readonly retain: number;
  readonly maxBatch: number;
  private readonly subscribers = new Set<MemorySubscription>();
  private closed = false;
  // Offsets start at the process start time in microseconds, so they keep growing across
  // restarts: a position stored by an earlier process (analytics keeps them in PostgreSQL) is
  // always older than this log, and consumption starts at its earliest event, as Kafka does
  // with an offset out of range.
  private readonly baseOffset = Date.now() * 1000;

  constructor(private readonly options: MemoryBusOptions) {
    this.partitions = options.partitions ?? 4;
    this.retain = options.retainPerPartition ?? 10_000;
    this.maxBatch = options.maxBatch ?? 500;
    for (const g of options.localGroups ?? [])
      this.groups.set(g.groupId, new GroupState(g.groupId, new Set(g.topics), true));
  }

  get log(): Logger {
    return this.options.log;
  }
  get metrics(): BusMetrics {
    return this.options.metrics;
  }

  partitionsOf(topic: string): MemoryPartition[] {
    let parts = this.topics.get(topic);
    if (!parts) {
      parts = Array.from(
        { length: this.partitions },
        (_, i) => new MemoryPartition(topic, i, this.baseOffset),
      );
      this.topics.set(topic, parts);
    }
    return parts;
  }

  group(groupId: string, topics: string[]): GroupState {
    let state = this.groups.get(groupId);
    if (!state) {
      state = new GroupState(groupId, new Set(topics), false);
      this.groups.set(groupId, state);
    }
    for (const t of topics) state.topics.add(t);
    return state;
  }

  async prepare(): Promise<void> {}

  async publish(events: OutgoingEvent[]): Promise<void> {
    if (this.closed) throw new Error('event bus is closed');
    const waits: Promise<void>[] = [];
    for (const event of events) {
      const parts = this.partitionsOf(event.topic);
      const part = parts[partitionOf(event.key, parts.length)]!;
      const offset = part.append(event.key, event.value);
      for (const g of this.groups.values()) {
        if (g.awaited && g.topics.has(event.topic))
          waits.push(g.waitFor(event.topic, part.partition, offset));
      }
      this.options.metrics.published.inc({ topic: event.topic });
    }
    for (const s of this.subscribers) s.wakeup.wake();
    this.trim();
    await Promise.all(waits);
  }

  private trim(): void {
    for (const [topic, parts] of this.topics) {
      for (const part of parts) {
        let keepFrom = part.end - this.retain;
        for (const g of this.groups.values()) {
          if (!g.awaited || !g.topics.has(topic)) continue;
          keepFrom = Math.min(
            keepFrom,
            g.committed.get(tpKey(topic, part.partition)) ?? part.firstOffset,
          );
        }
        part.trimBefore(keepFrom);
      }
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('event bus is closed');
    const group = this.group(options.groupId, options.topics);
    if (group.active)
      throw new Error(`consumer group ${options.groupId} already has a member in this process`);
    const subscription = new MemorySubscription(this, group, options);
    group.active = subscription;
    group.retired = false;
    this.subscribers.add(subscription);
    try {
      await subscription.start();
    } catch (err) {
      this.detach(subscription);
      throw err;
    }
    return subscription;
  }

  detach(subscription: MemorySubscription): void {
    this.subscribers.delete(subscription);
    const group = subscription.group;
    if (group.active !== subscription) return;
    group.active = undefined;
    if (group.local) group.retired = true;
    group.failWaiters(`consumer group ${group.groupId} stopped before handling the event`);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscribers].map((s) => s.stop()));
    for (const g of this.groups.values()) g.failWaiters('event bus closed');
  }
}

class MemorySubscription implements Subscription {
  /** Woken by new events. */
  readonly wakeup = new Wakeup();
  /** Aborted by stop only, so new events do not cut a failed handler's backoff short. */
  private readonly stopping = new AbortController();
  private readonly positions = new Map<
    string,
    { topic: string; partition: number; next: number }
  >();
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly bus: MemoryEventBus,
    readonly group: GroupState,
    private readonly options: SubscribeOptions,
  ) {}

  async start(): Promise<void> {
    const assigned: TopicPartition[] = [];
    for (const topic of this.options.topics)
      for (const p of this.bus.partitionsOf(topic))
        assigned.push({ topic, partition: p.partition });
    const stored = new Map<string, number>();
    for (const pos of (await this.options.storedPositions?.(assigned)) ??
      ([] as PartitionPosition[]))
      stored.set(tpKey(pos.topic, pos.partition), pos.offset);
    for (const { topic, partition } of assigned) {
      const part = this.bus.partitionsOf(topic)[partition]!;
      const key = tpKey(topic, partition);
      let next = stored.get(key) ?? this.group.committed.get(key) ?? part.firstOffset;
      if (next < part.firstOffset || next > part.end) next = part.firstOffset;
      this.positions.set(key, { topic, partition, next });
    }
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { log, metrics, maxBatch } = this.bus;
    const groupId = this.options.groupId;
    while (this.running) {
      let handled = false;
      for (const pos of this.positions.values()) {
        if (!this.running) break;
        const part = this.bus.partitionsOf(pos.topic)[pos.partition]!;
        if (pos.next < part.firstOffset) pos.next = part.firstOffset;
        const events = part.slice(pos.next, maxBatch);
        if (events.length === 0) continue;
        const batch = {
          topic: pos.topic,
          partition: pos.partition,
          events,
          highWatermark: part.end,
        };
        const done = await handleUntilDone(
          () => this.options.handleBatch(batch, async () => {}),
          () => this.running,
          (ms) => sleep(ms, this.stopping.signal),
          log,
          { group: groupId, topic: pos.topic, partition: pos.partition },
        );
        if (!done) break;
        pos.next = events[events.length - 1]!.offset + 1;
        this.group.commit(pos.topic, pos.partition, pos.next);
        metrics.consumed.inc({ group: groupId, topic: pos.topic }, events.length);
        metrics.consumerLag.set(
          { group: groupId, topic: pos.topic, partition: String(pos.partition) },
          part.end - pos.next,
        );
        handled = true;
      }
      if (!handled && this.running) await this.wakeup.wait(60_000);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeup.wake();
    this.stopping.abort();
    await this.loop;
    this.bus.detach(this);
  }
}
