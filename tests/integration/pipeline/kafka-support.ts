// Helpers for pipeline tests against real Kafka: the broker scripts/test.mjs starts, or a
// cluster of a test file's own (scripts/kafka-cluster.mjs) named by KAFKA_BROKERS.
import { randomBytes } from 'node:crypto';
import kafkajs, { type Consumer } from 'kafkajs';
import { trackedSockets } from '../../../services/events/kafka-sockets.js';
import { requiredEnv } from '../../support/env.js';

const { Kafka, logLevel } = kafkajs;

/** Short sessions, so a killed member's partitions move on within seconds. */
export const TEST_CONSUMER_ENV = {
  KAFKA_SESSION_TIMEOUT_MS: '6000',
  KAFKA_HEARTBEAT_INTERVAL_MS: '500',
  KAFKA_MAX_WAIT_MS: '100',
};

/** A topic/group prefix of its own, so a test never sees another test's records. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}.`;
}

export function kafkaEnv(prefix: string): Record<string, string> {
  return {
    KAFKA_BROKERS: requiredEnv('KAFKA_BROKERS'),
    KAFKA_TOPIC_PREFIX: prefix,
    ...TEST_CONSUMER_ENV,
  };
}

export interface TopicRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: any;
}

/**
 * Reads a topic from the beginning in the background; `records` grows as they arrive. The
 * topic need not exist yet (Signalink creates its topics when it starts): the reader waits for
 * it. A consumer that crashes (brokers down for long) is replaced, and nothing restarts after
 * stop.
 */
export async function tailTopic(topic: string): Promise<{
  records: TopicRecord[];
  waitFor(pred: (r: TopicRecord[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}> {
  const sockets = trackedSockets();
  const kafka = new Kafka({
    clientId: 'test-reader',
    socketFactory: sockets.factory,
    brokers: requiredEnv('KAFKA_BROKERS').split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, maxRetryTime: 2000 },
  });
  const groupId = `reader-${randomBytes(4).toString('hex')}`;
  const records: TopicRecord[] = [];
  const seen = new Set<string>();
  let stopped = false;
  // Every consumer made, crashed ones included: a crashed kafkajs consumer can reconnect to its
  // coordinator after its own disconnect, so all of them are disconnected at stop.
  const consumers: Consumer[] = [];
  let launching: Promise<void> = Promise.resolve();
  const relaunch = () => {
    if (stopped) return;
    launching = new Promise((r) => setTimeout(r, 500)).then(() =>
      stopped ? undefined : launch().catch(relaunch),
    );
  };
  const launch = async (): Promise<void> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) throw new Error(`no topic ${topic} yet`);
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      retry: { retries: 20, maxRetryTime: 2000, restartOnFailure: async () => false },
    });
    consumers.push(consumer);
    consumer.on(consumer.events.CRASH, relaunch);
    await consumer.connect();
    // stop() may have run while this launch was waiting for the topic.
    if (stopped) return void (await consumer.disconnect());
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        // A replacement consumer may read again what its predecessor read.
        const id = `${partition}:${message.offset}`;
        if (seen.has(id)) return;
        seen.add(id);
        records.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: JSON.parse(message.value?.toString() ?? 'null'),
        });
      },
    });
  };
  launching = launch().catch(relaunch);
  return {
    records,
    waitFor: (pred, timeoutMs = 30_000) =>
      waitUntil(
        () => pred(records),
        timeoutMs,
        () => `records of ${topic} (${records.length} so far)`,
      ),
    stop: async () => {
      stopped = true;
      await launching.catch(() => {});
      await Promise.all(consumers.map((c) => c.disconnect().catch(() => {})));
      sockets.closeAll();
    },
  };
}

export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Moves a consumer group's committed offsets back to the start of every partition of
 * `topics`, as if its commits had been lost: the next member redelivers everything.
 */
export async function rewindGroup(groupId: string, topics: string[]): Promise<void> {
  const kafka = new Kafka({
    clientId: 'test-rewinder',
    brokers: requiredEnv('KAFKA_BROKERS').split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const partitions = new Map<string, number[]>();
  for (const topic of topics)
    partitions.set(
      topic,
      (await admin.fetchTopicOffsets(topic)).map((p) => p.partition),
    );
  await admin.disconnect();
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 20,
  });
  let joined!: () => void;
  const done = new Promise<void>((res) => (joined = res));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.connect();
  await consumer.subscribe({ topics });
  await consumer.run({ autoCommit: false, eachBatch: async () => {} });
  await done;
  await consumer.commitOffsets(
    [...partitions].flatMap(([topic, ps]) =>
      ps.map((partition) => ({ topic, partition, offset: '0' })),
    ),
  );
  await consumer.disconnect();
}

/** Publishes records as they are (a duplicate of an event keeps its eventId). */
export async function produceRaw(
  topic: string,
  records: { key: string | null; value: unknown }[],
): Promise<void> {
  const kafka = new Kafka({
    clientId: 'test-producer',
    brokers: requiredEnv('KAFKA_BROKERS').split(','),
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: records.map((r) => ({ key: r.key, value: JSON.stringify(r.value) })),
  });
  await producer.disconnect();
}
