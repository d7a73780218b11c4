// Outbox → Kafka: order, event shapes, pruning, and failover between relay processes. Broker
// faults (one broker killed, all brokers down) are in kafka-faults.test.ts, on a cluster of
// their own.
import { randomUUID } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { ApiClient, registerUser, type TestUser } from '../../support/http-client.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { CONDITION_TIMEOUT_MS } from '../../support/deadlines.js';
import { requiredEnv } from '../../support/env.js';
import { kafkaEnv, tailTopic, uniquePrefix, waitUntil, type TopicRecord } from './kafka-support.js';
import { spawnSignalink, type ChildSignalink } from './processes.js';

const LIMITS = {
  API_RATE_LIMIT_PER_MINUTE: '100000',
  MESSAGE_RATE_PER_SECOND: '1000',
  MESSAGE_RATE_BURST: '1000',
  CHANNEL_MESSAGE_RATE_PER_SECOND: '1000',
};

async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

async function createChannels(
  owner: TestUser,
  others: TestUser[],
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await owner.api.post('/channels', {
      name: `relay-${i}-${randomUUID().slice(0, 6)}`,
      type: 'public',
      memberIds: others.map((o) => o.id),
    });
    expect(res.status).toBe(201);
    ids.push(res.body.id as string);
  }
  return ids;
}

async function send(user: TestUser, channelId: string, content: string): Promise<void> {
  const res = await user.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: randomUUID(),
    content,
  });
  expect(res.status).toBe(201);
}

/** seqs per channel in the order they first appear on the topic (a re-sent duplicate keeps its first place). */
function firstSeenSeqs(records: TopicRecord[], type = 'message.created'): Map<string, number[]> {
  const seen = new Set<string>();
  const byChannel = new Map<string, number[]>();
  const ordered = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const r of ordered) {
    if (r.value.type !== type || seen.has(r.value.eventId)) continue;
    seen.add(r.value.eventId);
    const list = byChannel.get(r.value.message.channelId) ?? [];
    list.push(r.value.message.seq);
    byChannel.set(r.value.message.channelId, list);
  }
  return byChannel;
}

const countCreated = (records: TopicRecord[]) =>
  new Set(records.filter((r) => r.value.type === 'message.created').map((r) => r.value.eventId))
    .size;

describe('relay', () => {
  test('every created message reaches signalink.messages in seq order per channel, with edits, deletes and receipts', async () => {
    const prefix = uniquePrefix('relay');
    const t: TestApp = await startTestApp(
      {
        ROLES: 'api,relay',
        ...kafkaEnv(prefix),
        ...LIMITS,
        RELAY_RETRY_MAX_MS: '1000',
        OUTBOX_RETENTION_SECONDS: '0',
        OUTBOX_PRUNE_INTERVAL_MS: '200',
      },
      'relay',
    );
    const tail = await tailTopic(`${prefix}signalink.messages`);
    const receipts = await tailTopic(`${prefix}signalink.receipts`);
    try {
      const anon = new ApiClient(t.baseUrl);
      const [alice, bob] = [await registerUser(anon, 'alice'), await registerUser(anon, 'bob')];
      const channels = await createChannels(alice, [bob], 3);
      const PER_PHASE = 15;
      const sendPhase = (phase: number) =>
        Promise.all(
          channels.map(async (c) => {
            for (let i = 0; i < PER_PHASE; i++)
              await send(i % 2 ? bob : alice, c, `phase ${phase} message ${i}`);
          }),
        );

      await sendPhase(1);
      await sendPhase(2);
      const total = channels.length * PER_PHASE * 2;
      await tail.waitFor((r) => countCreated(r) >= total, 90_000);
      const seqs = firstSeenSeqs(tail.records);
      for (const c of channels)
        expect(seqs.get(c)).toEqual(Array.from({ length: PER_PHASE * 2 }, (_, i) => i + 1));
      expect(countCreated(tail.records)).toBe(total);

      // Keys and shapes follow the contract.
      const one = tail.records.find((r) => r.value.type === 'message.created')!;
      expect(one.key).toBe(one.value.message.channelId);
      expect(one.value).toEqual({
        type: 'message.created',
        eventId: expect.any(String),
        occurredAt: expect.any(String),
        message: expect.objectContaining({ seq: expect.any(Number), sender: expect.any(Object) }),
      });

      // Edits, deletes and receipts travel the same way.
      const page = await alice.api.get(`/channels/${channels[0]}/messages?limit=2`);
      const [older, newest] = page.body.messages as {
        id: string;
        seq: number;
        sender: { id: string };
      }[];
      const mine = older!.sender.id === alice.id ? older! : newest!;
      expect((await alice.api.patch(`/messages/${mine.id}`, { content: 'edited' })).status).toBe(
        200,
      );
      expect((await alice.api.delete(`/messages/${mine.id}`)).status).toBe(204);
      expect(
        (await bob.api.post(`/channels/${channels[0]}/read`, { seq: newest!.seq })).status,
      ).toBe(204);
      await tail.waitFor((r) =>
        r.some((x) => x.value.type === 'message.deleted' && x.value.message.id === mine.id),
      );
      expect(
        tail.records.some(
          (x) =>
            x.value.type === 'message.updated' &&
            x.value.message.id === mine.id &&
            x.value.message.content === 'edited',
        ),
      ).toBe(true);
      await receipts.waitFor((r) =>
        r.some((x) => x.value.type === 'receipt.read' && x.value.userId === bob.id),
      );
      const receipt = receipts.records.find((x) => x.value.userId === bob.id)!;
      expect(receipt.key).toBe(channels[0]);
      expect(receipt.value).toMatchObject({ channelId: channels[0], seq: newest!.seq });

      // Published rows are pruned after the retention (0 s here); nothing is left unpublished.
      const db: Knex = knexFactory({
        client: 'pg',
        connection: t.databaseUrl,
        pool: { min: 0, max: 1 },
      });
      try {
        await waitUntil(
          async () => Number((await db('outbox').count({ n: '*' }))[0]!.n) === 0,
          20_000,
          'outbox to be pruned',
        );
      } finally {
        await db.destroy();
      }
      expect(await metric(t.baseUrl, 'signalink_outbox_backlog')).toBe(0);
    } finally {
      await tail.stop();
      await receipts.stop();
      await t.stop();
    }
  });

  test('when the active relay is killed, the standby takes over and publishes the rest in order', async () => {
    const prefix = uniquePrefix('failover');
    const t = await startTestApp({ ROLES: 'api', ...LIMITS }, 'failover');
    const relays: ChildSignalink[] = [];
    const tail = await tailTopic(`${prefix}signalink.messages`);
    try {
      const childEnv = {
        ROLES: 'relay',
        DATABASE_URL: t.databaseUrl,
        REDIS_URL: requiredEnv('REDIS_URL'),
        RELAY_STANDBY_RETRY_MS: '300',
        ...kafkaEnv(prefix),
      };
      relays.push(spawnSignalink(childEnv, 'relay A'));
      await relays[0]!.waitForLog('relay is now active');
      relays.push(spawnSignalink(childEnv, 'relay B'));
      await relays[1]!.waitForLog('another relay is active; standing by');

      const anon = new ApiClient(t.baseUrl);
      const [alice, bob] = [await registerUser(anon, 'alice'), await registerUser(anon, 'bob')];
      const channels = await createChannels(alice, [bob], 2);
      // A bounded, paced stream of sends that keeps going while the active relay is killed:
      // each channel's writer holds at half way until the kill, so the kill always lands
      // mid-stream, however far behind the relay (or ahead the writer) a machine runs.
      const PER_CHANNEL = 120;
      let sent = 0;
      let killed!: () => void;
      const afterKill = new Promise<void>((r) => (killed = r));
      const writer = Promise.all(
        channels.map(async (c) => {
          for (let i = 0; i < PER_CHANNEL; i++) {
            if (i === PER_CHANNEL / 2) await afterKill;
            await send(alice, c, `message ${i}`);
            sent += 1;
            await new Promise((r) => setTimeout(r, 15));
          }
        }),
      );
      await tail.waitFor((r) => countCreated(r) >= 40);
      await relays[0]!.kill('SIGKILL');
      const sentAtKill = sent;
      killed();
      await relays[1]!.waitForLog('relay is now active', CONDITION_TIMEOUT_MS);
      await writer;
      expect(sentAtKill).toBeLessThan(sent);

      await tail.waitFor((r) => countCreated(r) >= sent);
      expect(countCreated(tail.records)).toBe(sent);
      const seqs = firstSeenSeqs(tail.records);
      for (const c of channels) {
        const list = seqs.get(c)!;
        expect(list).toEqual(Array.from({ length: list.length }, (_, i) => i + 1));
      }
    } finally {
      for (const r of relays) await r.kill('SIGTERM');
      await tail.stop();
      await t.stop();
    }
  });
});
