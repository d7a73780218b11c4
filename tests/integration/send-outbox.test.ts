import knexFactory, { type Knex } from 'knex';
import { startTestApp, type TestApp } from '../support/app.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';

let t: TestApp;
let db: Knex;
let alice: TestUser;
let channelId: string;

beforeAll(async () => {
  t = await startTestApp(
    { MESSAGE_RATE_PER_SECOND: '1000', MESSAGE_RATE_BURST: '1000' },
    'sendoutbox',
  );
  db = knexFactory({ client: 'pg', connection: t.databaseUrl });
  alice = await registerUser(new ApiClient(t.baseUrl), 'outbox');
  channelId = (await alice.api.post('/channels', { name: 'outbox', type: 'public' })).body.id;
});

afterAll(async () => {
  await db.destroy();
  await t.stop();
});

async function createdEvents(): Promise<{ key: string; payload: any }[]> {
  const rows = await db('outbox')
    .where({ topic: 'signalink.messages' })
    .orderBy('id')
    .select('key', 'payload');
  return rows.filter((r: { payload: any }) => r.payload.type === 'message.created');
}

test('the message.created event in the outbox carries exactly the message the sender was answered with', async () => {
  const first = await alice.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: 'o1',
    content: 'héllo "quoted" \\ and 😀',
  });
  const reply = await alice.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: 'o2',
    content: 'reply',
    replyTo: first.body.id,
  });
  expect(reply.status).toBe(201);
  const events = await createdEvents();
  expect(events).toHaveLength(2);
  expect(events.map((e) => e.key)).toEqual([channelId, channelId]);
  expect(events[0]!.payload.message).toEqual(first.body);
  expect(events[1]!.payload.message).toEqual(reply.body);
  for (const e of events) {
    expect(e.payload.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(e.payload.occurredAt).toISOString()).toBe(e.payload.occurredAt);
  }
  expect(events[0]!.payload.eventId).not.toBe(events[1]!.payload.eventId);
});

test('a retried clientMsgId writes no second event, takes no seq, and returns the original', async () => {
  const before = (await createdEvents()).length;
  const again = await alice.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: 'o1',
    content: 'different text',
  });
  expect(again.status).toBe(200);
  expect(again.body.content).toBe('héllo "quoted" \\ and 😀');
  expect((await createdEvents()).length).toBe(before);
  const next = await alice.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: 'o3',
    content: 'next',
  });
  expect(next.body.seq).toBe(3);
});

test('the sender’s own messages do not count as unread', async () => {
  const list = await alice.api.get('/channels');
  const mine = list.body.channels.find((c: { id: string }) => c.id === channelId);
  expect(mine).toMatchObject({ lastSeq: 3, lastReadSeq: 3, unreadCount: 0 });
});
