// Analytics: exact counts across a SIGKILL of the consumer (Kafka), and the REST API with its
// access rules (embedded mode: in-process bus, one process).
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import knexFactory, { type Knex } from 'knex';
import { Registry } from 'prom-client';
import { createAnalyticsMetrics } from '../../../services/analytics/metrics.js';
import { AnalyticsStore } from '../../../services/analytics/store.js';
import { migrate } from '../../../services/core/database.js';
import { createLogger } from '../../../services/core/logger.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestApp } from '../../support/app.js';
import { requiredEnv } from '../../support/env.js';
import { ApiClient, registerUser, type TestUser } from '../../support/http-client.js';
import {
  kafkaEnv,
  produceRaw,
  rewindGroup,
  tailTopic,
  uniquePrefix,
  waitUntil,
} from './kafka-support.js';
import { spawnSignalink, type ChildSignalink } from './processes.js';

const LIMITS = {
  API_RATE_LIMIT_PER_MINUTE: '100000',
  MESSAGE_RATE_PER_SECOND: '1000',
  MESSAGE_RATE_BURST: '1000',
  CHANNEL_MESSAGE_RATE_PER_SECOND: '1000',
};

async function channel(
  owner: TestUser,
  members: TestUser[],
  type: 'public' | 'private' = 'public',
): Promise<string> {
  const res = await owner.api.post('/channels', {
    name: `a-${randomUUID().slice(0, 8)}`,
    type,
    memberIds: members.map((m) => m.id),
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function send(
  user: TestUser,
  channelId: string,
  content = 'hello',
): Promise<{ seq: number }> {
  const res = await user.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: randomUUID(),
    content,
  });
  expect(res.status).toBe(201);
  return res.body as { seq: number };
}

/** The end (high watermark) of every partition of the given topics, under the test's prefix. */
async function endOffsets(
  prefix: string,
  topics: string[],
): Promise<{ topic: string; partition: number; offset: number }[]> {
  const kafka = new kafkajs.Kafka({
    clientId: 'test-offsets',
    brokers: requiredEnv('KAFKA_BROKERS').split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = [];
    for (const topic of topics)
      for (const p of await admin.fetchTopicOffsets(`${prefix}${topic}`))
        ends.push({ topic, partition: p.partition, offset: Number(p.high) });
    return ends;
  } finally {
    await admin.disconnect();
  }
}

function withDb<T>(url: string, fn: (db: Knex) => Promise<T>): Promise<T> {
  const db = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  return fn(db).finally(() => db.destroy());
}

describe('analytics over Kafka', () => {
  test('counts equal PostgreSQL after the consumer is SIGKILLed mid-stream and restarted', async () => {
    const prefix = uniquePrefix('analytics');
    const admin = `admin_${randomUUID().slice(0, 6)}`;
    const t = await startTestApp(
      { ROLES: 'api,relay', ...kafkaEnv(prefix), ...LIMITS },
      'analytics-kill',
    );
    const childEnv = {
      ROLES: 'analytics',
      DATABASE_URL: t.databaseUrl,
      REDIS_URL: requiredEnv('REDIS_URL'),
      ADMIN_USERNAMES: admin,
      ...kafkaEnv(prefix),
    };
    const children: ChildSignalink[] = [];
    try {
      const anon = new ApiClient(t.baseUrl);
      const registered = await anon.post('/auth/register', {
        username: admin,
        email: `${admin}@example.test`,
        password: 'correct horse battery',
      });
      expect(registered.status).toBe(201);
      const [ann, ben, cat] = [
        await registerUser(anon, 'ann'),
        await registerUser(anon, 'ben'),
        await registerUser(anon, 'cat'),
      ];
      const rooms = [
        { id: await channel(ann, [ben, cat]), members: [ann, ben, cat] },
        { id: await channel(ben, [cat]), members: [ben, cat] },
        { id: await channel(cat, [ann]), members: [cat, ann] },
      ];

      children.push(spawnSignalink(childEnv, 'analytics 1'));
      await children[0]!.waitForLog('signalink listening');

      const TOTAL = 240;
      let sent = 0;
      // The writer holds at half way until the consumer has been killed, so the kill always
      // lands mid-stream, however fast either side runs.
      let killed!: () => void;
      const afterKill = new Promise<void>((r) => (killed = r));
      const writer = (async () => {
        for (let i = 0; i < TOTAL; i++) {
          if (i === TOTAL / 2) await afterKill;
          const room = rooms[i % rooms.length]!;
          const turn = Math.floor(i / rooms.length);
          const { seq } = await send(
            room.members[turn % room.members.length]!,
            room.id,
            `message ${i}`,
          );
          if (turn % 4 === 0) {
            const reader = room.members[(turn + 1) % room.members.length]!;
            expect((await reader.api.post(`/channels/${room.id}/read`, { seq })).status).toBe(204);
          }
          sent += 1;
          await new Promise((r) => setTimeout(r, 20));
        }
      })();

      const counted = () =>
        withDb(t.databaseUrl, async (db) =>
          Number((await db('analytics_channel_totals').sum({ n: 'messages' }).first())?.n ?? 0),
        );
      await waitUntil(
        async () => (await counted()) >= 40,
        60_000,
        'analytics to count the first messages',
      );
      await children[0]!.kill('SIGKILL');
      const countedAtKill = await counted();
      expect(countedAtKill).toBeLessThan(TOTAL);
      killed();

      // Redeliveries on top of the crash: the group's Kafka offsets go back to the start, and
      // some events arrive a second time under new offsets (as after a relay crash).
      await rewindGroup(`${prefix}signalink-analytics`, [
        `${prefix}signalink.messages`,
        `${prefix}signalink.receipts`,
      ]);
      const published = await tailTopic(`${prefix}signalink.messages`);
      await published.waitFor((r) => r.length >= 20);
      await produceRaw(`${prefix}signalink.messages`, published.records.slice(0, 20));
      await published.stop();

      children.push(spawnSignalink(childEnv, 'analytics 2'));
      await writer;
      expect(sent).toBe(TOTAL);

      const truth = await withDb(t.databaseUrl, async (db) => ({
        perChannel: (await db('messages')
          .groupBy('channel_id')
          .select(
            'channel_id',
            db.raw('count(*)::int as n'),
            db.raw('count(distinct sender_id)::int as senders'),
          )) as {
          channel_id: string;
          n: number;
          senders: number;
        }[],
        perUser: (await db('messages')
          .groupBy('sender_id')
          .select('sender_id', db.raw('count(*)::int as n'))) as { sender_id: string; n: number }[],
        receipts: (await db('outbox')
          .where({ topic: 'signalink.receipts' })
          .groupBy('key')
          .select('key', db.raw('count(*)::int as n'))) as { key: string; n: number }[],
      }));
      const base = await children[1]!.baseUrl();
      const api = new ApiClient(base, registered.body.accessToken as string);
      await waitUntil(
        async () => (await api.get('/analytics/overview')).body?.totals?.messages >= TOTAL,
        60_000,
        'analytics to catch up',
      );
      // Redelivered batches may still be on their way: compare only once the consumer's
      // stored positions have reached the end of both topics, so a double count would show.
      const ends = await endOffsets(prefix, ['signalink.messages', 'signalink.receipts']);
      await waitUntil(
        async () => {
          const stored = await withDb(t.databaseUrl, (db) =>
            db('analytics_offsets')
              .where({ consumer_group: 'signalink-analytics' })
              .select('topic', 'partition', 'next_offset'),
          );
          return ends.every(
            (end) =>
              end.offset === 0 ||
              stored.some(
                (p: { topic: string; partition: number; next_offset: string | number }) =>
                  p.topic === end.topic &&
                  p.partition === end.partition &&
                  Number(p.next_offset) >= end.offset,
              ),
          );
        },
        60_000,
        'analytics to read both topics to their end',
      );

      const overview = await api.get('/analytics/overview');
      expect(overview.status).toBe(200);
      expect(overview.body.totals.messages).toBe(TOTAL);
      for (const row of truth.perChannel) {
        const stats = await api.get(`/analytics/channels/${row.channel_id}`);
        expect(stats.body.totals).toEqual({
          messages: row.n,
          senders: row.senders,
          receipts: truth.receipts.find((r) => r.key === row.channel_id)?.n ?? 0,
        });
        expect(stats.body.lastHour.messages).toBe(row.n);
      }
      for (const row of truth.perUser) {
        expect((await api.get(`/analytics/users/${row.sender_id}`)).body.totals.messages).toBe(
          row.n,
        );
      }
      // The restarted consumer did see the duplicated events, and absorbed them.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const sumOutcome = (name: string) =>
        metrics
          .split('\n')
          .filter(
            (l) =>
              l.startsWith('signalink_analytics_events_total{') && l.includes(`outcome="${name}"`),
          )
          .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      expect(sumOutcome('duplicate')).toBeGreaterThanOrEqual(20);

      const series = await api.get('/analytics/timeseries?metric=messages&bucket=hour');
      expect(series.body.points.reduce((s: number, p: { value: number }) => s + p.value, 0)).toBe(
        TOTAL,
      );
    } finally {
      for (const c of children) await c.kill('SIGKILL');
      await t.stop();
    }
  }, 180_000); // two consumer processes and 240 paced sends: 45 s on an idle machine
});

describe('analytics store', () => {
  let db: Knex;
  let drop: () => Promise<void>;
  const metrics = createAnalyticsMetrics(new Registry());
  beforeAll(async () => {
    const created = await createTestDatabase('analytics-store');
    drop = created.drop;
    db = knexFactory({ client: 'pg', connection: created.url, pool: { min: 0, max: 2 } });
    await migrate(db, createLogger('silent'));
  });
  afterAll(async () => {
    await db.destroy();
    await drop();
  });

  const created = (channelId: string, userId: string) => ({
    type: 'message.created',
    eventId: randomUUID(),
    occurredAt: new Date().toISOString(),
    message: {
      id: randomUUID(),
      channelId,
      seq: 1,
      sender: { id: userId, username: 'u', displayName: 'U' },
      content: 'x',
      clientMsgId: 'c',
      replyTo: null,
      createdAt: new Date().toISOString(),
      editedAt: null,
      deletedAt: null,
    },
  });
  const batchOf = (offsets: number[], values: unknown[]) => ({
    topic: 'signalink.messages',
    partition: 0,
    highWatermark: Math.max(...offsets) + 1,
    events: offsets.map((offset, i) => ({
      topic: 'signalink.messages',
      partition: 0,
      offset,
      key: null,
      value: typeof values[i] === 'string' ? (values[i] as string) : JSON.stringify(values[i]),
    })),
  });

  test('a batch at or below the stored position never counts again, even under new event ids', async () => {
    const store = new AnalyticsStore(db, createLogger('silent'), metrics);
    const channelId = randomUUID();
    const userId = randomUUID();
    expect(
      await store.applyBatch(
        'g',
        batchOf(
          [0, 1, 2],
          [created(channelId, userId), created(channelId, userId), created(channelId, userId)],
        ),
      ),
    ).toMatchObject({ counted: 3 });
    // Same offsets again (a redelivery), with ids the store has never seen.
    expect(
      await store.applyBatch(
        'g',
        batchOf(
          [1, 2, 3],
          [created(channelId, userId), created(channelId, userId), created(channelId, userId)],
        ),
      ),
    ).toMatchObject({ counted: 1, replayed: 2 });
    expect(await store.positions('g', [{ topic: 'signalink.messages', partition: 0 }])).toEqual([
      { topic: 'signalink.messages', partition: 0, offset: 4 },
    ]);
    const totals = await db('analytics_channel_totals')
      .where({ channel_id: channelId })
      .first('messages');
    expect(Number(totals.messages)).toBe(4);
  });

  test('malformed events are skipped and counted as invalid; the position still moves past them', async () => {
    const store = new AnalyticsStore(db, createLogger('silent'), metrics);
    const channelId = randomUUID();
    const outcome = await store.applyBatch(
      'h',
      batchOf(
        [0, 1, 2],
        [
          'not json',
          { type: 'message.created', eventId: 'nope' },
          created(channelId, randomUUID()),
        ],
      ),
    );
    expect(outcome).toMatchObject({ counted: 1, invalid: 2 });
    expect(await store.positions('h', [{ topic: 'signalink.messages', partition: 0 }])).toEqual([
      { topic: 'signalink.messages', partition: 0, offset: 3 },
    ]);
  });
});
