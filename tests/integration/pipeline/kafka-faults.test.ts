// The event pipeline under Kafka faults, on a three-broker Apache Kafka cluster of this file's
// own (replication 3, min.insync.replicas 2): consumer processes killed and restarted during a
// stream while brokers drop client connections, one broker killed mid-stream, and every broker
// down then back. Signalink runs as
// separate processes (api+gateway here, relay, analytics and notifier as children), as users
// deploy it.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { Registry } from 'prom-client';
import { startKafkaCluster, type KafkaCluster } from '../../../scripts/kafka-cluster.mjs';
import { createLogger } from '../../../services/core/logger.js';
import { KafkaEventBus } from '../../../services/events/kafka-bus.js';
import { partitionOf } from '../../../services/events/kafka-partitions.js';
import { createBusMetrics } from '../../../services/events/metrics.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { requiredEnv } from '../../support/env.js';
import { ApiClient, registerUser, type TestUser } from '../../support/http-client.js';
import { kafkaEnv, tailTopic, uniquePrefix, waitUntil, type TopicRecord } from './kafka-support.js';
import { spawnSignalink, type ChildSignalink } from './processes.js';

const LIMITS = {
  API_RATE_LIMIT_PER_MINUTE: '100000',
  MESSAGE_RATE_PER_SECOND: '1000',
  MESSAGE_RATE_BURST: '1000',
  CHANNEL_MESSAGE_RATE_PER_SECOND: '1000',
};
/** Room for a loaded machine: each wait ends as soon as its condition holds. */
const CATCH_UP_MS = 120_000;
/** Several rounds of catching up, each bounded by CATCH_UP_MS. */
const TEST_MS = 900_000;

let cluster: KafkaCluster;
beforeAll(async () => {
  cluster = await startKafkaCluster({ brokers: 3, proxied: true });
  // kafka-support and the processes started here read the brokers from the environment.
  process.env.KAFKA_BROKERS = cluster.bootstrap;
}, 240_000);
afterAll(async () => {
  await cluster?.stop();
});

const CONTRACT_TOPICS = [
  'signalink.messages',
  'signalink.receipts',
  'signalink.presence',
  'signalink.notifications.dlq',
];

interface Room {
  id: string;
  members: TestUser[];
}

interface Pipeline {
  t: TestApp;
  prefix: string;
  rooms: Room[];
  childEnv: Record<string, string>;
  children: ChildSignalink[];
  db: Knex;
  spawn(role: string): ChildSignalink;
  /** Sends `count` messages round-robin over the rooms, `gapMs` apart; returns their seqs. */
  burst(count: number, gapMs: number): Promise<number>;
  counted(): Promise<number>;
  notified(): Promise<{ rows: number; distinct: number }>;
  expectedNotifications(): Promise<number>;
  stop(): Promise<void>;
}

async function startPipeline(label: string): Promise<Pipeline> {
  const prefix = uniquePrefix(label);
  const t = await startTestApp({ ROLES: 'api,gateway', ...kafkaEnv(prefix), ...LIMITS }, label);
  const db = knexFactory({ client: 'pg', connection: t.databaseUrl, pool: { min: 0, max: 2 } });
  const childEnv = {
    DATABASE_URL: t.databaseUrl,
    REDIS_URL: requiredEnv('REDIS_URL'),
    REDIS_KEY_PREFIX: t.env.REDIS_KEY_PREFIX!,
    NOTIFIER_TRANSPORT: 'log',
    LOG_LEVEL: process.env.KAFKA_FAULTS_LOG_LEVEL ?? 'info',
    RELAY_RETRY_MAX_MS: '1000',
    ...kafkaEnv(prefix),
  };
  const children: ChildSignalink[] = [];
  const anon = new ApiClient(t.baseUrl);
  const [ann, ben, cat] = [
    await registerUser(anon, 'ann'),
    await registerUser(anon, 'ben'),
    await registerUser(anon, 'cat'),
  ];
  const rooms: Room[] = [];
  for (const [owner, others] of [
    [ann, [ben, cat]],
    [ben, [cat]],
    [cat, [ann]],
  ] as const) {
    const res = await owner.api.post('/channels', {
      name: `${label}-${randomUUID().slice(0, 8)}`,
      type: 'private',
      memberIds: others.map((m) => m.id),
    });
    expect(res.status).toBe(201);
    rooms.push({ id: res.body.id as string, members: [owner, ...others] });
  }
  let sent = 0;
  return {
    t,
    prefix,
    rooms,
    childEnv,
    children,
    db,
    spawn(role) {
      const child = spawnSignalink({ ...childEnv, ROLES: role }, `${role} ${children.length + 1}`);
      children.push(child);
      return child;
    },
    async burst(count, gapMs) {
      for (let i = 0; i < count; i++) {
        const room = rooms[sent % rooms.length]!;
        const sender = room.members[Math.floor(sent / rooms.length) % room.members.length]!;
        const res = await sender.api.post(`/channels/${room.id}/messages`, {
          clientMsgId: randomUUID(),
          content: `message ${sent}`,
        });
        expect(res.status).toBe(201);
        sent += 1;
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
      return sent;
    },
    counted: async () =>
      Number((await db('analytics_channel_totals').sum({ n: 'messages' }).first())?.n ?? 0),
    notified: async () => {
      const row = await db('notifications')
        .select(
          db.raw('count(*)::int as rows'),
          db.raw(`count(distinct (user_id, payload->>'messageId'))::int as distinct`),
        )
        .first();
      return { rows: Number(row.rows), distinct: Number(row.distinct) };
    },
    // Nobody has a socket open, so every member but the sender is offline and notified.
    expectedNotifications: async () => {
      const rows = (await db('messages as m')
        .join('channel_members as cm', 'cm.channel_id', 'm.channel_id')
        .whereRaw('cm.user_id <> m.sender_id')
        .count({ n: '*' })) as { n: string }[];
      return Number(rows[0]!.n);
    },
    async stop() {
      for (const c of children) await c.kill('SIGKILL');
      // Every process's log, for whoever has to find out why a wait above timed out.
      const dir = resolve(
        process.env.SIGNALINK_ROOT ?? '.',
        'test-artifacts',
        'kafka-faults',
        label,
      );
      mkdirSync(dir, { recursive: true });
      children.forEach((c, i) =>
        writeFileSync(
          resolve(dir, `child-${i + 1}.log`),
          c.logs.map((l) => JSON.stringify(l)).join('\n'),
        ),
      );
      await db.destroy();
      await t.stop();
    },
  };
}

/** Waits until analytics counted every sent message and the notifier planned every notification. */
async function expectCaughtUp(p: Pipeline, sent: number, what: string): Promise<void> {
  try {
    await waitForCatchUp(p, sent, what);
  } catch (err) {
    // What the processes complained about says why a consumer did not come back.
    const complaints = p.children.map(
      (c, i) =>
        `child ${i + 1} (${c.child.exitCode ?? c.child.signalCode ?? 'running'}): ` +
        c.logs
          .filter((l) => (l.level ?? 0) >= 40)
          .slice(-8)
          .map((l) => l.msg)
          .join(' | '),
    );
    const unpublished = await p.db('outbox').whereNull('published_at').count({ n: '*' });
    complaints.push(await analyticsPositions(p));
    throw new Error(
      `${(err as Error).message}; counted ${await p.counted()}, outbox unpublished ${String(unpublished[0]!.n)}\n${complaints.join('\n')}`,
    );
  }
  await expectExact(p, sent);
}

/** An admin client (not yet connected) on the three-broker cluster. */
async function clusterAdmin(clientId: string) {
  const kafkajs = (await import('kafkajs')).default;
  return new kafkajs.Kafka({
    clientId,
    brokers: cluster.bootstrap.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
}

/** Where analytics stands per partition against the topic's end, and which events it lacks. */
async function analyticsPositions(p: Pipeline): Promise<string> {
  const admin = await clusterAdmin('positions-check');
  try {
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(`${p.prefix}signalink.messages`);
    const stored = (await p.db('analytics_offsets').where({ topic: 'signalink.messages' })) as {
      partition: number;
      next_offset: string;
    }[];
    const missing = (await p
      .db('outbox')
      .where({ topic: 'signalink.messages' })
      .whereNotIn(
        p.db.raw(`(payload->>'eventId')::uuid`) as unknown as string,
        p.db('analytics_seen_events').select('event_id'),
      )
      .select('key', p.db.raw(`payload->'message'->>'seq' as seq`))) as {
      key: string;
      seq: string;
    }[];
    return `analytics positions ${JSON.stringify(stored.map((r) => [r.partition, r.next_offset]))}, topic ends ${JSON.stringify(ends.map((e) => [e.partition, e.high]))}, events not seen ${JSON.stringify(missing)}`;
  } catch (err) {
    return `positions unavailable: ${(err as Error).message}`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function waitForCatchUp(p: Pipeline, sent: number, what: string): Promise<void> {
  await waitUntil(
    async () => (await p.counted()) >= sent,
    CATCH_UP_MS,
    `analytics to count ${sent} messages ${what}`,
  );
  const expected = await p.expectedNotifications();
  await waitUntil(
    async () => (await p.notified()).rows >= expected,
    CATCH_UP_MS,
    `the notifier to plan ${expected} notifications ${what}`,
  );
}

async function expectExact(p: Pipeline, sent: number): Promise<void> {
  const expected = await p.expectedNotifications();
  expect(await p.counted()).toBe(sent);
  expect(await p.notified()).toEqual({ rows: expected, distinct: expected });
}

function createdSeqsByChannel(records: TopicRecord[]): Map<string, number[]> {
  const seen = new Set<string>();
  const byChannel = new Map<string, number[]>();
  const ordered = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const r of ordered) {
    if (r.value.type !== 'message.created' || seen.has(r.value.eventId)) continue;
    seen.add(r.value.eventId);
    const list = byChannel.get(r.value.message.channelId) ?? [];
    list.push(r.value.message.seq);
    byChannel.set(r.value.message.channelId, list);
  }
  return byChannel;
}

const createdCount = (records: TopicRecord[]) =>
  [...createdSeqsByChannel(records).values()].reduce((sum, list) => sum + list.length, 0);

function expectEverySeqInOrder(records: TopicRecord[], rooms: Room[], perRoom: number[]): void {
  const seqs = createdSeqsByChannel(records);
  rooms.forEach((room, i) =>
    expect(seqs.get(room.id)).toEqual(Array.from({ length: perRoom[i]! }, (_, k) => k + 1)),
  );
}

async function perRoomCounts(p: Pipeline): Promise<number[]> {
  const rows = (await p
    .db('messages')
    .groupBy('channel_id')
    .select('channel_id', p.db.raw('count(*)::int as n'))) as {
    channel_id: string;
    n: number;
  }[];
  return p.rooms.map((r) => rows.find((x) => x.channel_id === r.id)?.n ?? 0);
}

test(
  'the contract topics are created by Signalink with replication 3, or only checked when something else manages them',
  async () => {
    const p = await startPipeline('topics');
    const admin = await clusterAdmin('topics-check');
    await admin.connect();
    try {
      const names = CONTRACT_TOPICS.map((n) => p.prefix + n);
      const present = async () => (await admin.listTopics()).filter((n) => names.includes(n));

      // Told that the topics are managed elsewhere, a relay creates nothing and says what is missing.
      const checking = spawnSignalink(
        { ...p.childEnv, ROLES: 'relay', KAFKA_CREATE_TOPICS: 'false' },
        'relay (topics managed elsewhere)',
      );
      p.children.push(checking);
      await p.burst(3, 0);
      await waitUntil(
        () => checking.logs.some((l) => JSON.stringify(l).includes('Kafka topics missing')),
        CATCH_UP_MS,
        'the relay to report the missing topics',
      );
      expect(await present()).toEqual([]);

      p.spawn('relay');
      await waitUntil(async () => (await present()).length === 4, CATCH_UP_MS, 'the four topics');
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      for (const topic of topics) {
        expect(topic.partitions).toHaveLength(6);
        for (const partition of topic.partitions) expect(partition.replicas).toHaveLength(3);
      }
    } finally {
      await admin.disconnect();
      await p.stop();
    }
  },
  TEST_MS,
);

test(
  'analytics and the notifier come back after every crash during a stream, and count exactly',
  async () => {
    const p = await startPipeline('crash');
    try {
      p.spawn('relay');
      let analytics = p.spawn('analytics');
      let notifier = p.spawn('notifier');
      await Promise.all(p.children.map((c) => c.waitForLog('signalink listening')));
      let sent = 0;
      // Each round: a burst of 120 messages; 1.5 s into it one consumer (or both) is SIGKILLed
      // and started again a second later, as in the report this test reproduces.
      const rounds: ('analytics' | 'notifier' | 'both')[] = [
        'analytics',
        'notifier',
        'both',
        'analytics',
      ];
      for (const [round, victim] of rounds.entries()) {
        const burst = p.burst(120, 15);
        await new Promise((r) => setTimeout(r, 1500));
        const killAnalytics = victim !== 'notifier';
        const killNotifier = victim !== 'analytics';
        if (killAnalytics) await analytics.kill('SIGKILL');
        if (killNotifier) await notifier.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 1000));
        if (killAnalytics) analytics = p.spawn('analytics');
        if (killNotifier) notifier = p.spawn('notifier');
        sent = await burst;
        await expectCaughtUp(p, sent, `after round ${round + 1} (${victim} killed)`);
      }
      expect(sent).toBe(rounds.length * 120);
    } finally {
      await p.stop();
    }
  },
  TEST_MS,
);

test(
  'one broker SIGKILLed mid-stream: no acked message is lost, the relay keeps publishing, consumers continue',
  async () => {
    const p = await startPipeline('broker-kill');
    const tail = await tailTopic(`${p.prefix}signalink.messages`);
    const victim = cluster.nodes[1]!;
    try {
      p.spawn('relay');
      p.spawn('analytics');
      p.spawn('notifier');
      await Promise.all(p.children.map((c) => c.waitForLog('signalink listening')));
      const first = p.burst(150, 15);
      await waitUntil(
        async () => (await p.counted()) >= 20,
        CATCH_UP_MS,
        'the first messages to be counted',
      );
      await victim.kill('SIGKILL');
      let sent = await first;
      // With two of three brokers, min.insync.replicas=2 still holds: the stream goes on.
      sent = await p.burst(90, 5);
      await expectCaughtUp(p, sent, 'with one broker down');
      await tail.waitFor((r) => createdCount(r) >= sent, CATCH_UP_MS);
      expectEverySeqInOrder(tail.records, p.rooms, await perRoomCounts(p));

      await victim.start();
      await cluster.waitForBrokers(3);
      sent = await p.burst(60, 0);
      await expectCaughtUp(p, sent, 'after the broker came back');
    } finally {
      if (!victim.running) await victim.start();
      await tail.stop();
      await p.stop();
    }
  },
  TEST_MS,
);

test(
  'a publish spanning every partition, made while a leader dies, reaches Kafka whole',
  async () => {
    // kafkajs's sendBatch skipped the partitions that moved, mid-call, to a broker that had
    // already answered, and still succeeded: the relay then marked rows published that never
    // reached Kafka. The bus publishes per partition; this drives exactly that moment.
    const prefix = uniquePrefix('leader-move');
    const topic = `${prefix}signalink.messages`;
    const bus = new KafkaEventBus({
      brokers: cluster.bootstrap.split(','),
      clientId: 'leader-move',
      topicPrefix: prefix,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      maxWaitMs: 100,
      topics: {
        logicalNames: ['signalink.messages'],
        create: true,
        partitions: 6,
        replicationFactor: 3,
      },
      log: createLogger('silent'),
      metrics: createBusMetrics(new Registry()),
    });
    let tail: Awaited<ReturnType<typeof tailTopic>> | undefined;
    const admin = await clusterAdmin('leaders-check');
    let victim: (typeof cluster.nodes)[number] | undefined;
    try {
      await bus.prepare();
      const keys: string[] = [];
      while (keys.length < 60 || new Set(keys.map((k) => partitionOf(topic, k, 6))).size < 6)
        keys.push(`channel-${keys.length}`);
      let n = 0;
      const batch = () =>
        keys.map((key) => ({
          topic: 'signalink.messages',
          key,
          value: JSON.stringify({ n: n++ }),
        }));
      const published: number[] = [];
      // Like the relay: a publish that fails is made again until it succeeds.
      const publish = async () => {
        const events = batch();
        for (let attempt = 1; ; attempt++) {
          try {
            await bus.publish(events);
            break;
          } catch (err) {
            if (attempt >= 20) throw err;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
        published.push(...events.map((e) => (JSON.parse(e.value) as { n: number }).n));
      };
      // The producer knows every leader before one of them dies.
      await publish();
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const leaders = new Set(topics[0]!.partitions.map((x) => x.leader));
      expect(leaders.size).toBeGreaterThan(1);
      victim = cluster.nodes.find((node) => leaders.has(node.props.id))!;
      await victim.kill('SIGKILL');
      for (let round = 0; round < 3; round++) await publish();
      // Read back once the cluster is whole: what is checked is what Kafka holds, not how a
      // consumer joining during the failover fares (the tests above cover consumers).
      await victim.start();
      await cluster.waitForBrokers(3);
      tail = await tailTopic(topic);
      const missingValues = (r: TopicRecord[]) => {
        const seen = new Set(r.map((x) => (x.value as { n: number }).n));
        return published.filter((v) => !seen.has(v));
      };
      await tail
        .waitFor((r) => missingValues(r).length === 0, CATCH_UP_MS)
        .catch(async (err) => {
          const ends = await admin.fetchTopicOffsets(topic);
          throw new Error(
            `${(err as Error).message}; ${missingValues(tail!.records).length} of ${published.length} ` +
              `values missing; partition ends ${ends.map((e) => `${e.partition}=${e.high}`).join(' ')}`,
          );
        });
    } finally {
      await admin.disconnect().catch(() => {});
      await bus.close();
      await tail?.stop();
      if (victim && !victim.running) await victim.start();
      await cluster.waitForBrokers(3);
    }
  },
  TEST_MS,
);

test(
  'every broker down, then back: sends are still accepted, the outbox drains in order, consumers catch up',
  async () => {
    const p = await startPipeline('outage');
    const tail = await tailTopic(`${p.prefix}signalink.messages`);
    try {
      p.spawn('relay');
      p.spawn('analytics');
      p.spawn('notifier');
      await Promise.all(p.children.map((c) => c.waitForLog('signalink listening')));
      let sent = await p.burst(60, 0);
      await expectCaughtUp(p, sent, 'before the outage');

      await Promise.all(cluster.nodes.map((n) => n.kill('SIGKILL')));
      // Users are not blocked while Kafka is down: every send is committed and acknowledged.
      sent = await p.burst(90, 0);
      const backlog = async () => {
        const text = await (await fetch(`${await p.children[0]!.baseUrl()}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith('signalink_outbox_backlog '));
        return line ? Number(line.split(' ')[1]) : 0;
      };
      await waitUntil(
        async () => (await backlog()) >= 90,
        30_000,
        'the relay to report its backlog',
      );

      await Promise.all(cluster.nodes.map((n) => n.start()));
      await cluster.waitForBrokers(3);
      sent = await p.burst(30, 0);
      await expectCaughtUp(p, sent, 'after the outage');
      await tail.waitFor((r) => createdCount(r) >= sent, CATCH_UP_MS);
      expectEverySeqInOrder(tail.records, p.rooms, await perRoomCounts(p));
      await waitUntil(async () => (await backlog()) === 0, CATCH_UP_MS, 'the outbox to drain');
    } finally {
      await Promise.all(cluster.nodes.filter((n) => !n.running).map((n) => n.start()));
      await tail.stop();
      await p.stop();
    }
  },
  TEST_MS,
);
