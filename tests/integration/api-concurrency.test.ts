// Sends under concurrency: retries of one clientMsgId collapse to one message, and concurrent
// senders get gap-free, duplicate-free seqs per channel, channels independently of each other.
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectShape, expectStatus, message } from '../support/contract.js';
import { ApiClient, registerUser, type HttpResult, type TestUser } from '../support/http-client.js';

let t: TestApp;
let users: TestUser[];

beforeAll(async () => {
  // Rate limits are tested elsewhere; here they would only hide ordering problems.
  t = await startTestApp(
    {
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      MESSAGE_RATE_PER_SECOND: '100000',
      MESSAGE_RATE_BURST: '100000',
      CHANNEL_MESSAGE_RATE_PER_SECOND: '100000',
    },
    'api_concurrency',
  );
  const anon = new ApiClient(t.baseUrl);
  users = await Promise.all(Array.from({ length: 8 }, (_, i) => registerUser(anon, `sender${i}`)));
});
afterAll(async () => {
  await t.stop();
});

async function channelWithEveryone(): Promise<string> {
  const res = await users[0]!.api.post('/channels', {
    name: `c-${randomUUID().slice(0, 8)}`,
    type: 'private',
    memberIds: users.slice(1).map((u) => u.id),
  });
  expectStatus(res, 201);
  return res.body.id;
}

async function allMessages(channelId: string) {
  const messages: {
    id: string;
    seq: number;
    sender: { id: string };
    clientMsgId: string;
    content: string;
  }[] = [];
  let after = 0;
  for (;;) {
    const page = await users[0]!.api.get(
      `/channels/${channelId}/messages?afterSeq=${after}&limit=200`,
    );
    expectStatus(page, 200);
    messages.push(...page.body.messages);
    if (!page.body.hasMore) return messages;
    after = page.body.messages.at(-1).seq;
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('30 concurrent retries of one clientMsgId make one message: one 201, the rest 200 with it', async () => {
  const channelId = await channelWithEveryone();
  const sender = users[1]!;
  const results = await Promise.all(
    Array.from({ length: 30 }, () =>
      sender.api.post(`/channels/${channelId}/messages`, {
        clientMsgId: 'same-id',
        content: 'only once',
      }),
    ),
  );
  expect(results.map((r) => r.status).sort()).toEqual([...Array<number>(29).fill(200), 201]);
  const created = expectShape(message, results.find((r) => r.status === 201)!.body);
  for (const r of results) expect(r.body).toEqual(created);
  expect(created.seq).toBe(1);
  expect(await allMessages(channelId)).toHaveLength(1);
  // A duplicate that lost the race must not have used up a seq.
  expect(
    (
      await sender.api.post(`/channels/${channelId}/messages`, {
        clientMsgId: 'next',
        content: 'next',
      })
    ).body.seq,
  ).toBe(2);
});

test('8 senders, 25 messages each, every message also retried at once: seqs are exactly 1..200', async () => {
  const channelId = await channelWithEveryone();
  const perSender = 25;
  const attempts: Promise<HttpResult>[] = [];
  for (const user of users) {
    for (let i = 0; i < perSender; i += 1) {
      const body = {
        clientMsgId: `${user.id}-${i}`,
        content: `message ${i} from ${user.username}`,
      };
      // Each message is sent twice at the same moment, as a client retrying after a timeout would.
      attempts.push(
        user.api.post(`/channels/${channelId}/messages`, body),
        user.api.post(`/channels/${channelId}/messages`, body),
      );
    }
  }
  const results = await Promise.all(attempts);
  for (const r of results) expect([200, 201]).toContain(r.status);
  const total = users.length * perSender;
  expect(results.filter((r) => r.status === 201)).toHaveLength(total);

  const stored = await allMessages(channelId);
  expect(stored.map((m) => m.seq)).toEqual(range(total));
  const keys = new Set(stored.map((m) => `${m.sender.id}/${m.clientMsgId}`));
  expect(keys.size).toBe(total);
  // Both answers for one clientMsgId describe the same stored message.
  for (let i = 0; i < results.length; i += 2)
    expect(results[i]!.body.id).toBe(results[i + 1]!.body.id);
  for (const user of users)
    expect(stored.filter((m) => m.sender.id === user.id)).toHaveLength(perSender);
  expect((await users[0]!.api.get(`/channels/${channelId}`)).body.lastSeq).toBe(total);
}, 60_000);

test('two channels written at once do not interfere: each gets its own 1..N', async () => {
  const [a, b] = await Promise.all([channelWithEveryone(), channelWithEveryone()]);
  const perSender = 10;
  await Promise.all(
    users.flatMap((user) =>
      range(perSender).flatMap((i) => [
        user.api.post(`/channels/${a}/messages`, { clientMsgId: `a-${i}`, content: `a ${i}` }),
        user.api.post(`/channels/${b}/messages`, { clientMsgId: `b-${i}`, content: `b ${i}` }),
      ]),
    ),
  );
  const [inA, inB] = await Promise.all([allMessages(a), allMessages(b)]);
  const total = users.length * perSender;
  expect(inA.map((m) => m.seq)).toEqual(range(total));
  expect(inB.map((m) => m.seq)).toEqual(range(total));
  expect(inA.every((m) => m.content.startsWith('a '))).toBe(true);
  expect(inB.every((m) => m.content.startsWith('b '))).toBe(true);
}, 60_000);

test('a failed send in the middle of a burst leaves no gap', async () => {
  const channelId = await channelWithEveryone();
  const sender = users[2]!;
  const results = await Promise.all(
    range(40).map((i) =>
      sender.api.post(`/channels/${channelId}/messages`, {
        clientMsgId: `mix-${i}`,
        // Every fourth send is refused (too long, or a reply to a message that does not exist).
        content: i % 8 === 0 ? 'x'.repeat(4001) : `ok ${i}`,
        ...(i % 8 === 4 ? { replyTo: randomUUID() } : {}),
      }),
    ),
  );
  const accepted = results.filter((r) => r.status === 201).length;
  expect(accepted).toBe(30);
  expect((await allMessages(channelId)).map((m) => m.seq)).toEqual(range(accepted));
});
