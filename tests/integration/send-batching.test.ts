// Group commit of sends on real PostgreSQL: what one batch writes (signalink_send_messages,
// migration 0005), how bad sends inside a batch are answered, idempotency within and across
// batches, outbox rows and read pointers, several app instances writing the same channels at
// once, and the previous release's per-send function running beside the batches.
import { randomUUID } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { SendWriter, type SendRequest, type SendRow } from '../../services/chat/send-writer.js';
import type { Outcome } from '../../services/chat/group-commit.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ApiClient, registerUser, type HttpResult, type TestUser } from '../support/http-client.js';

const GENEROUS_LIMITS = {
  API_RATE_LIMIT_PER_MINUTE: '1000000',
  MESSAGE_RATE_PER_SECOND: '100000',
  MESSAGE_RATE_BURST: '100000',
  CHANNEL_MESSAGE_RATE_PER_SECOND: '100000',
};

let apps: TestApp[];
let db: Knex;
let writer: SendWriter;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  // Three processes on one database, each with its own batcher: one that batches as much as
  // it can (one write at a time, a long window), two with the defaults.
  const first = await startTestApp(
    { ...GENEROUS_LIMITS, SEND_BATCH_MAX_IN_FLIGHT: '1', SEND_BATCH_MAX_WAIT_MS: '1000' },
    'send_batching',
  );
  const others = await Promise.all(
    [1, 2].map(() =>
      startTestApp({ ...GENEROUS_LIMITS, DATABASE_URL: first.databaseUrl }, 'send_batching'),
    ),
  );
  apps = [first, ...others];
  db = knexFactory({ client: 'pg', connection: first.databaseUrl, pool: { min: 0, max: 6 } });
  writer = new SendWriter(db);
  const anon = new ApiClient(first.baseUrl);
  [alice, bob, carol] = (await Promise.all(
    ['alice', 'bob', 'carol'].map((n) => registerUser(anon, n)),
  )) as [TestUser, TestUser, TestUser];
}, 120_000);

afterAll(async () => {
  await db?.destroy();
  // The first app owns (and drops) the database: stop it last.
  for (const app of [...(apps ?? [])].reverse()) await app.stop();
});

async function channel(
  owner: TestUser,
  type: 'public' | 'private',
  members: TestUser[] = [],
): Promise<string> {
  const res = await owner.api.post('/channels', {
    name: `c-${randomUUID().slice(0, 8)}`,
    type,
    memberIds: members.map((m) => m.id),
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

const req = (
  sender: TestUser,
  channelId: string,
  clientMsgId: string,
  content = `text of ${clientMsgId}`,
  replyTo: string | null = null,
): SendRequest => ({ senderId: sender.id, channelId, clientMsgId, content, replyTo });

const rowsOf = (outcomes: Outcome<SendRow>[]): SendRow[] =>
  outcomes.map((o, i) => {
    if (!o.ok) throw new Error(`send ${i} failed as a whole: ${String(o.error)}`);
    return o.value;
  });

async function stored(channelId: string) {
  return (await db('messages')
    .where({ channel_id: channelId })
    .orderBy('seq')
    .select(
      'id',
      'seq',
      'sender_id',
      'client_msg_id',
      'content',
      db.raw('xmin::text as xmin'),
    )) as {
    id: string;
    seq: number;
    sender_id: string;
    client_msg_id: string;
    content: string;
    xmin: string;
  }[];
}

async function createdEvents(channelId: string) {
  return (await db('outbox')
    .where({ topic: 'signalink.messages', key: channelId })
    .orderBy('id')
    .select('payload', db.raw('xmin::text as xmin'))) as { payload: any; xmin: string }[];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('one batch (signalink_send_messages)', () => {
  test('takes gap-free seqs per channel in arrival order, channels independently, in one transaction', async () => {
    const a = await channel(alice, 'private', [bob]);
    const b = await channel(alice, 'private', [bob]);
    const rows = rowsOf(
      await writer.write([
        req(alice, a, 'a1'),
        req(bob, b, 'b1'),
        req(bob, a, 'a2'),
        req(alice, a, 'a3'),
        req(alice, b, 'b2'),
      ]),
    );
    expect(rows.map((r) => r.status)).toEqual(Array(5).fill('created'));
    expect(rows.map((r) => [r.client_msg_id, Number(r.seq)])).toEqual([
      ['a1', 1],
      ['b1', 1],
      ['a2', 2],
      ['a3', 3],
      ['b2', 2],
    ]);
    expect(rows[2]).toMatchObject({ sender_id: bob.id, sender_username: bob.username });
    const all = [...(await stored(a)), ...(await stored(b))];
    expect(all).toHaveLength(5);
    // One transaction wrote every row of the batch, messages and outbox events alike.
    const events = [...(await createdEvents(a)), ...(await createdEvents(b))];
    expect(new Set([...all, ...events].map((r) => r.xmin)).size).toBe(1);
    expect((await db('channels').where({ id: a }).first('last_seq')).last_seq).toBe(3);
    expect((await db('channels').where({ id: b }).first('last_seq')).last_seq).toBe(2);
  });

  test('bad sends get their own status and take no seq; their neighbours are written', async () => {
    const priv = await channel(alice, 'private', [bob]);
    const pub = await channel(alice, 'public');
    const first = rowsOf(await writer.write([req(alice, priv, 'p1')]))[0]!;
    const otherChannelMessage = rowsOf(await writer.write([req(alice, pub, 'q1')]))[0]!;
    const rows = rowsOf(
      await writer.write([
        req(bob, priv, 'ok-1'),
        req(bob, randomUUID(), 'unknown-channel'),
        req(carol, priv, 'private-non-member'),
        req(bob, pub, 'public-non-member'),
        req(bob, priv, 'reply-elsewhere', 'x', otherChannelMessage.id),
        req(bob, priv, 'reply-to-nothing', 'x', randomUUID()),
        req(bob, priv, 'ok-2', 'a reply', first.id),
      ]),
    );
    expect(rows.map((r) => [r.client_msg_id ?? null, r.status])).toEqual([
      ['ok-1', 'created'],
      [null, 'not_found'],
      [null, 'not_found'],
      [null, 'forbidden'],
      [null, 'bad_reply'],
      [null, 'bad_reply'],
      ['ok-2', 'created'],
    ]);
    expect(rows.map((r) => r.ord)).toEqual(range(7));
    expect((await stored(priv)).map((m) => [m.client_msg_id, m.seq])).toEqual([
      ['p1', 1],
      ['ok-1', 2],
      ['ok-2', 3],
    ]);
    expect(rows[6]!.reply_to).toBe(first.id);
  });

  test('a retry inside the batch and a retry of an earlier batch get the original; neither takes a seq or an event', async () => {
    const c = await channel(alice, 'private', [bob]);
    const before = rowsOf(await writer.write([req(alice, c, 'early', 'first words')]))[0]!;
    const rows = rowsOf(
      await writer.write([
        req(bob, c, 'x', 'original x'),
        req(bob, c, 'x', 'a retry with other text'),
        req(alice, c, 'early', 'changed my mind'),
        req(alice, c, 'x', 'same clientMsgId, other sender'),
        req(bob, c, 'x', 'and again'),
        req(bob, c, 'y', 'y'),
      ]),
    );
    expect(rows.map((r) => r.status)).toEqual([
      'created',
      'duplicate',
      'duplicate',
      'created',
      'duplicate',
      'created',
    ]);
    // Every answer for one (sender, clientMsgId) is the one stored message, with its first text.
    expect(rows[1]).toEqual({ ...rows[0], ord: 2, status: 'duplicate' });
    expect(rows[4]).toEqual({ ...rows[0], ord: 5, status: 'duplicate' });
    expect(rows[2]).toMatchObject({ id: before.id, seq: 1, content: 'first words' });
    const messages = await stored(c);
    expect(messages.map((m) => [m.client_msg_id, m.sender_id, m.seq])).toEqual([
      ['early', alice.id, 1],
      ['x', bob.id, 2],
      ['x', alice.id, 3],
      ['y', bob.id, 4],
    ]);
    expect((await createdEvents(c)).map((e) => e.payload.message.seq)).toEqual([1, 2, 3, 4]);
  });

  test('each created message has its outbox event (the message as answered, in seq order) and moves its sender’s read pointer', async () => {
    const c = await channel(alice, 'private', [bob, carol]);
    const d = await channel(bob, 'private', [alice]);
    const rows = rowsOf(
      await writer.write([
        req(alice, c, 'm1'),
        req(bob, d, 'n1'),
        req(alice, c, 'm2'),
        req(bob, c, 'm3'),
        req(alice, c, 'm1'), // a retry: no event
      ]),
    );
    const { toMessage } = await import('../../services/chat/model.js');
    const events = await createdEvents(c);
    expect(events.map((e) => e.payload.message)).toEqual(
      rows.filter((r) => r.channel_id === c && r.status === 'created').map(toMessage),
    );
    for (const e of events) {
      expect(e.payload.type).toBe('message.created');
      expect(e.payload.eventId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(events.map((e) => e.payload.eventId)).size).toBe(3);
    expect((await createdEvents(d)).map((e) => e.payload.message.clientMsgId)).toEqual(['n1']);
    const pointers = (await db('channel_members')
      .whereIn('channel_id', [c, d])
      .select('channel_id', 'user_id', 'last_read_seq')) as {
      channel_id: string;
      user_id: string;
      last_read_seq: number;
    }[];
    const pointer = (ch: string, u: TestUser) =>
      pointers.find((p) => p.channel_id === ch && p.user_id === u.id)?.last_read_seq;
    expect(pointer(c, alice)).toBe(2); // her own latest in c
    expect(pointer(c, bob)).toBe(3);
    expect(pointer(c, carol)).toBe(0); // sent nothing: unread stays unread
    expect(pointer(d, bob)).toBe(1);
    expect(pointer(d, alice)).toBe(0);
  });

  test('a row that breaks a constraint no check foresaw fails alone: the batch is written again send by send', async () => {
    const c = await channel(alice, 'private', [bob]);
    await db.raw(
      `alter table messages add constraint test_no_poison check (content <> 'poison') not valid`,
    );
    try {
      const outcomes = await writer.write([
        req(alice, c, 'before'),
        req(bob, c, 'poisoned', 'poison'),
        req(bob, c, 'after'),
      ]);
      expect(outcomes[0]).toMatchObject({ ok: true, value: { status: 'created' } });
      expect(outcomes[1]).toMatchObject({ ok: false, error: { code: '23514' } });
      expect(outcomes[2]).toMatchObject({ ok: true, value: { status: 'created' } });
      // No seq was lost to the failed attempt.
      expect((await stored(c)).map((m) => [m.client_msg_id, m.seq])).toEqual([
        ['before', 1],
        ['after', 2],
      ]);
    } finally {
      await db.raw('alter table messages drop constraint test_no_poison');
    }
  });

  test('arrays of different lengths are refused as a whole, writing nothing', async () => {
    const c = await channel(alice, 'private');
    await expect(
      db.raw('select * from signalink_send_messages(?::uuid[], ?::uuid[], ?, ?, ?::uuid[])', [
        `{${c},${c}}`,
        `{${alice.id}}`,
        '{a,b}',
        '{x,y}',
        '{NULL,NULL}',
      ]),
    ).rejects.toMatchObject({ code: '22023' });
    expect(await stored(c)).toEqual([]);
  });
});

describe('through the API: every send goes through the process’s group commit', () => {
  test('a burst with bad sends in it: each answers its own error, the rest are stored gap-free', async () => {
    const c = await channel(alice, 'private', [bob]);
    const pub = await channel(carol, 'public');
    const app = apps[0]!;
    const base = (u: TestUser) => new ApiClient(app.baseUrl, u.accessToken);
    await db.raw(
      `alter table messages add constraint test_no_poison check (content <> 'poison') not valid`,
    );
    try {
      const good = range(30).map((i) =>
        base(i % 2 ? alice : bob).post(`/channels/${c}/messages`, {
          clientMsgId: `good-${i}`,
          content: `good ${i}`,
        }),
      );
      const bad: [string, Promise<HttpResult>][] = [
        [
          'PAYLOAD_TOO_LARGE',
          base(bob).post(`/channels/${c}/messages`, {
            clientMsgId: 'long',
            content: 'x'.repeat(4001),
          }),
        ],
        [
          'NOT_FOUND',
          base(carol).post(`/channels/${c}/messages`, { clientMsgId: 'nm', content: 'hi' }),
        ],
        [
          'FORBIDDEN',
          base(bob).post(`/channels/${pub}/messages`, { clientMsgId: 'pub', content: 'hi' }),
        ],
        [
          'VALIDATION',
          base(bob).post(`/channels/${c}/messages`, {
            clientMsgId: 'reply',
            content: 'hi',
            replyTo: randomUUID(),
          }),
        ],
        [
          'INTERNAL',
          base(alice).post(`/channels/${c}/messages`, { clientMsgId: 'poison', content: 'poison' }),
        ],
      ];
      const goodResults = await Promise.all(good);
      for (const r of goodResults) expect(r.status).toBe(201);
      for (const [code, p] of bad) expect((await p).body.error?.code).toBe(code);
      const messages = await stored(c);
      expect(messages.map((m) => m.seq)).toEqual(range(30));
      expect(new Set(messages.map((m) => m.client_msg_id))).toEqual(
        new Set(range(30).map((i) => `good-${i}`)),
      );
      for (const r of goodResults)
        expect(messages.find((m) => m.id === r.body.id)?.seq).toBe(r.body.seq);
    } finally {
      await db.raw('alter table messages drop constraint test_no_poison');
    }
  });

  test('three processes on one database, 600 sends (each sent twice at once) into shared channels: gap-free, no duplicates, every answer is the stored message', async () => {
    const channels = await Promise.all(range(3).map(() => channel(alice, 'private', [bob, carol])));
    const batchesBefore = await batchStats();
    const attempts: { key: string; res: Promise<HttpResult> }[] = [];
    const senders = [alice, bob, carol];
    for (let i = 0; i < 300; i++) {
      const sender = senders[i % 3]!;
      const channelId = channels[i % channels.length]!;
      const body = { clientMsgId: `k-${i}`, content: `message ${i}` };
      // The same send twice at once, through two different processes, as a client retrying
      // against another replica after a timeout would.
      for (const app of [apps[i % 3]!, apps[(i + 1) % 3]!]) {
        const client = new ApiClient(app.baseUrl, sender.accessToken);
        attempts.push({
          key: `${channelId}/${sender.id}/${body.clientMsgId}`,
          res: client.post(`/channels/${channelId}/messages`, body),
        });
      }
    }
    const results = await Promise.all(attempts.map(async (a) => ({ key: a.key, r: await a.res })));
    for (const { r } of results) expect([200, 201]).toContain(r.status);
    expect(results.filter(({ r }) => r.status === 201)).toHaveLength(300);
    const byKey = new Map<string, any[]>();
    for (const { key, r } of results) byKey.set(key, [...(byKey.get(key) ?? []), r.body]);
    for (const answers of byKey.values()) expect(answers[0]).toEqual(answers[1]);
    for (const channelId of channels) {
      const messages = await stored(channelId);
      expect(messages.map((m) => m.seq)).toEqual(range(100));
      expect((await createdEvents(channelId)).map((e) => e.payload.message.seq)).toEqual(
        range(100),
      );
      for (const m of messages) {
        const answer = byKey.get(`${channelId}/${m.sender_id}/${m.client_msg_id}`)![0];
        expect(answer).toMatchObject({ id: m.id, seq: m.seq, content: m.content });
      }
    }
    // The sends really shared round trips: fewer batches than sends.
    const batchesAfter = await batchStats();
    const sends = batchesAfter.sends - batchesBefore.sends;
    const batches = batchesAfter.batches - batchesBefore.batches;
    expect(sends).toBe(600);
    expect(batches).toBeLessThan(sends);
  }, 120_000);

  test('the previous release’s per-send function still works on the new schema, beside batches', async () => {
    const c = await channel(alice, 'private', [bob]);
    // What a process of the previous release does for every send (migration 0003).
    const oldSends = range(40).map((i) =>
      db.raw('select * from signalink_send_message(?, ?, ?, ?, ?)', [
        c,
        bob.id,
        `old-${i}`,
        `old ${i}`,
        null,
      ]),
    );
    const newSends = range(40).map((i) =>
      new ApiClient(apps[i % 3]!.baseUrl, alice.accessToken).post(`/channels/${c}/messages`, {
        clientMsgId: `new-${i}`,
        content: `new ${i}`,
      }),
    );
    const old = await Promise.all(oldSends);
    for (const r of old) expect(r.rows[0].status).toBe('created');
    for (const r of await Promise.all(newSends)) expect(r.status).toBe(201);
    // An old retry of a message the new path stored finds it, and the other way round.
    const retriedOld = await db.raw('select * from signalink_send_message(?, ?, ?, ?, ?)', [
      c,
      alice.id,
      'new-1',
      'retry',
      null,
    ]);
    expect(retriedOld.rows[0]).toMatchObject({ status: 'duplicate', content: 'new 1' });
    const retriedNew = await new ApiClient(apps[1]!.baseUrl, bob.accessToken).post(
      `/channels/${c}/messages`,
      { clientMsgId: 'old-1', content: 'retry' },
    );
    expect(retriedNew.status).toBe(200);
    expect(retriedNew.body.content).toBe('old 1');
    expect((await stored(c)).map((m) => m.seq)).toEqual(range(80));
  }, 60_000);
});

/** Batches and sends written so far by all three processes (signalink_send_batch_messages). */
async function batchStats(): Promise<{ batches: number; sends: number }> {
  let batches = 0;
  let sends = 0;
  for (const app of apps) {
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
    batches += value('signalink_send_batch_messages_count');
    sends += value('signalink_send_batch_messages_sum');
  }
  return { batches, sends };
}
