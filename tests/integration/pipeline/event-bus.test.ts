// One behaviour suite, run against both engines of the event bus.
import { Registry } from 'prom-client';
import { createLogger } from '../../../services/core/logger.js';
import type {
  ConsumedBatch,
  ConsumedEvent,
  EventBus,
  Subscription,
} from '../../../services/events/bus.js';
import { KafkaEventBus } from '../../../services/events/kafka-bus.js';
import { MemoryEventBus } from '../../../services/events/memory-bus.js';
import { createBusMetrics } from '../../../services/events/metrics.js';
import { requiredEnv } from '../../support/env.js';
import { uniquePrefix, waitUntil } from './kafka-support.js';

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

const engines: [string, () => EventBus][] = [
  [
    'memory',
    () => new MemoryEventBus({ log, metrics: createBusMetrics(new Registry()), maxBatch: 25 }),
  ],
  [
    'kafka',
    () =>
      new KafkaEventBus({
        brokers: requiredEnv('KAFKA_BROKERS').split(','),
        clientId: 'bus-test',
        topicPrefix: uniquePrefix('bus'),
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
        maxWaitMs: 20,
        topics: { logicalNames: ['orders'], create: true, partitions: 3, replicationFactor: 1 },
        log,
        metrics: createBusMetrics(new Registry()),
      }),
  ],
];

const event = (key: string, n: number) => ({
  topic: 'orders',
  key,
  value: JSON.stringify({ key, n }),
});
const n = (e: ConsumedEvent) => (JSON.parse(e.value) as { n: number }).n;

describe.each(engines)('%s event bus', (_name, makeBus) => {
  let bus: EventBus;
  const subscriptions: Subscription[] = [];
  beforeEach(() => {
    bus = makeBus();
  });
  afterEach(async () => {
    for (const s of subscriptions.splice(0)) await s.stop();
    await bus.close();
  });

  async function collect(groupId: string) {
    const seen: ConsumedEvent[] = [];
    const sub = await bus.subscribe({
      groupId,
      topics: ['orders'],
      handleBatch: async (batch) => void seen.push(...batch.events),
    });
    subscriptions.push(sub);
    return { seen, sub };
  }

  test('delivers every event once, in publish order per key', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
    for (let round = 0; round < 4; round++)
      await bus.publish(
        keys.flatMap((k) => Array.from({ length: 10 }, (_, i) => event(k, round * 10 + i))),
      );
    const { seen } = await collect('g1');
    await waitUntil(() => seen.length >= 320, 30_000, 'all events');
    expect(seen).toHaveLength(320);
    for (const k of keys) {
      expect(seen.filter((e) => e.key === k).map(n)).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      );
    }
  });

  test('a member that stops and comes back resumes after what it handled, nothing repeated or missed', async () => {
    await bus.publish(Array.from({ length: 30 }, (_, i) => event(`k${i % 3}`, i)));
    const first = await collect('g2');
    await waitUntil(() => first.seen.length >= 30, 30_000, 'first 30');
    await first.sub.stop();
    subscriptions.splice(subscriptions.indexOf(first.sub), 1);
    await bus.publish(Array.from({ length: 30 }, (_, i) => event(`k${i % 3}`, 30 + i)));
    const second = await collect('g2');
    await waitUntil(() => second.seen.length >= 30, 30_000, 'next 30');
    expect(second.seen.map(n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => 30 + i),
    );
  });

  test('stored positions decide where each partition resumes', async () => {
    await bus.publish(Array.from({ length: 20 }, (_, i) => event('only-key', i)));
    const reference = await collect('g3-reference');
    await waitUntil(() => reference.seen.length >= 20, 30_000, 'reference read');
    const tenth = reference.seen.find((e) => n(e) === 10)!;

    const seen: ConsumedEvent[] = [];
    subscriptions.push(
      await bus.subscribe({
        groupId: 'g3',
        topics: ['orders'],
        storedPositions: async (assigned) => {
          expect(assigned).toContainEqual({ topic: 'orders', partition: tenth.partition });
          return [{ topic: 'orders', partition: tenth.partition, offset: tenth.offset }];
        },
        handleBatch: async (batch) => void seen.push(...batch.events),
      }),
    );
    await waitUntil(() => seen.length >= 10, 30_000, 'events from the stored position');
    expect(seen.map(n)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  test('a handler that fails is offered the same batch again, and nothing after it is skipped', async () => {
    await bus.publish(Array.from({ length: 50 }, (_, i) => event('k', i)));
    let failures = 0;
    const handled: number[] = [];
    subscriptions.push(
      await bus.subscribe({
        groupId: 'g4',
        topics: ['orders'],
        handleBatch: async (batch: ConsumedBatch) => {
          if (failures < 2) {
            failures += 1;
            throw new Error('database unavailable');
          }
          handled.push(...batch.events.map(n));
        },
      }),
    );
    await waitUntil(() => handled.length >= 50, 30_000, 'all events after failures');
    expect(failures).toBe(2);
    expect(handled).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
