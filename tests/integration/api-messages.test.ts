// Messages: send, history pages, read pointers, edit, soft delete and search (PROTOCOL.md, REST: Messages).
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  expectError,
  expectShape,
  expectStatus,
  listedChannel,
  message,
  messagePage,
} from '../support/contract.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';

let t: TestApp;
let anon: ApiClient;
let alice: TestUser;
let bob: TestUser;
let eve: TestUser;

beforeAll(async () => {
  // Pagination needs a few hundred messages from one sender into one channel, sent back to
  // back: an unloaded machine sends them faster than the default per-user and per-channel
  // limits (CHANNEL_MESSAGE_RATE_PER_SECOND=200) allow. Rate limits are tested in
  // api-limits.test.ts; here every limit is far above anything this file can reach.
  t = await startTestApp(
    {
      MESSAGE_RATE_PER_SECOND: '100000',
      MESSAGE_RATE_BURST: '100000',
      CHANNEL_MESSAGE_RATE_PER_SECOND: '100000',
      API_RATE_LIMIT_PER_MINUTE: '100000',
    },
    'api_messages',
  );
  anon = new ApiClient(t.baseUrl);
  [alice, bob, eve] = await Promise.all([
    registerUser(anon, 'alice'),
    registerUser(anon, 'bob'),
    registerUser(anon, 'eve'),
  ]);
});
afterAll(async () => {
  await t.stop();
});

async function newChannel(
  owner: TestUser,
  members: TestUser[] = [],
  type = 'private',
): Promise<string> {
  const res = await owner.api.post('/channels', {
    name: `c-${randomUUID().slice(0, 8)}`,
    type,
    memberIds: members.map((m) => m.id),
  });
  expectStatus(res, 201);
  return res.body.id;
}

async function send(
  user: TestUser,
  channelId: string,
  content: string,
  extra: Record<string, unknown> = {},
) {
  const res = await user.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: randomUUID(),
    content,
    ...extra,
  });
  expectStatus(res, 201);
  return expectShape(message, res.body);
}

async function fill(user: TestUser, channelId: string, count: number): Promise<void> {
  // In order, so content i has seq i.
  for (let i = 1; i <= count; i += 1) await send(user, channelId, `message ${i}`);
}

const seqs = (page: { messages: { seq: number }[] }) => page.messages.map((m) => m.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('POST /channels/:id/messages', () => {
  test('201 with the full message; a retry with the same clientMsgId is 200 with the original', async () => {
    const c = await newChannel(alice, [bob]);
    const first = await alice.api.post(`/channels/${c}/messages`, {
      clientMsgId: 'client-1',
      content: 'hello *world*',
    });
    expectStatus(first, 201);
    const m = expectShape(message, first.body);
    expect(m).toMatchObject({
      channelId: c,
      seq: 1,
      sender: { id: alice.id, username: alice.username, displayName: alice.username },
      content: 'hello *world*',
      clientMsgId: 'client-1',
      replyTo: null,
      editedAt: null,
      deletedAt: null,
    });
    const retry = await alice.api.post(`/channels/${c}/messages`, {
      clientMsgId: 'client-1',
      content: 'hello *world*',
    });
    expectStatus(retry, 200);
    expect(retry.body).toEqual(first.body);
    // The same clientMsgId from another sender is another message.
    const fromBob = await bob.api.post(`/channels/${c}/messages`, {
      clientMsgId: 'client-1',
      content: 'hi',
    });
    expectStatus(fromBob, 201);
    expect(fromBob.body.seq).toBe(2);
    expect((await alice.api.get(`/channels/${c}`)).body.lastSeq).toBe(2);
  });

  test('replyTo must be a message of the same channel', async () => {
    const c = await newChannel(alice, [bob]);
    const other = await newChannel(alice);
    const parent = await send(alice, c, 'question?');
    const elsewhere = await send(alice, other, 'unrelated');
    const reply = await send(bob, c, 'answer', { replyTo: parent.id });
    expect(reply.replyTo).toBe(parent.id);
    expectError(
      await bob.api.post(`/channels/${c}/messages`, {
        clientMsgId: 'r2',
        content: 'x',
        replyTo: elsewhere.id,
      }),
      'VALIDATION',
      'replyTo',
    );
    expectError(
      await bob.api.post(`/channels/${c}/messages`, {
        clientMsgId: 'r3',
        content: 'x',
        replyTo: randomUUID(),
      }),
      'VALIDATION',
      'replyTo',
    );
  });

  test('4,000 characters are accepted (counted as people count them), 4,001 are PAYLOAD_TOO_LARGE', async () => {
    const c = await newChannel(alice);
    await send(alice, c, 'a'.repeat(4000));
    // Astral characters are two UTF-16 units each but one character to a person.
    await send(alice, c, '😀'.repeat(4000));
    expectError(
      await alice.api.post(`/channels/${c}/messages`, {
        clientMsgId: randomUUID(),
        content: 'a'.repeat(4001),
      }),
      'PAYLOAD_TOO_LARGE',
    );
    expect((await alice.api.get(`/channels/${c}`)).body.lastSeq).toBe(2);
  });

  test('a body over the size limit is PAYLOAD_TOO_LARGE', async () => {
    const c = await newChannel(alice);
    expectError(
      await alice.api.post(`/channels/${c}/messages`, {
        clientMsgId: 'big',
        content: 'a'.repeat(200_000),
      }),
      'PAYLOAD_TOO_LARGE',
    );
  });

  test.each([
    ['empty content', { clientMsgId: 'x', content: '' }, 'content'],
    ['blank content', { clientMsgId: 'x', content: ' \n\t ' }, 'content'],
    ['no content', { clientMsgId: 'x' }, 'body.content'],
    ['no clientMsgId', { content: 'hi' }, 'body.clientMsgId'],
    ['an empty clientMsgId', { clientMsgId: '', content: 'hi' }, 'body.clientMsgId'],
    ['a numeric content', { clientMsgId: 'x', content: 42 }, 'body.content'],
    [
      'a replyTo that is not a uuid',
      { clientMsgId: 'x', content: 'hi', replyTo: 'abc' },
      'body.replyTo',
    ],
    ['an unknown field', { clientMsgId: 'x', content: 'hi', senderId: randomUUID() }, 'body'],
  ])('%s is VALIDATION', async (_what, body, field) => {
    const c = await newChannel(alice);
    expectError(await alice.api.post(`/channels/${c}/messages`, body), 'VALIDATION', field);
    expect((await alice.api.get(`/channels/${c}`)).body.lastSeq).toBe(0);
  });

  test('outsiders cannot post: private is NOT_FOUND, public without joining is FORBIDDEN', async () => {
    const priv = await newChannel(alice);
    const pub = await newChannel(alice, [], 'public');
    expectError(
      await eve.api.post(`/channels/${priv}/messages`, { clientMsgId: 'x', content: 'hi' }),
      'NOT_FOUND',
    );
    expectError(
      await eve.api.post(`/channels/${pub}/messages`, { clientMsgId: 'x', content: 'hi' }),
      'FORBIDDEN',
    );
    expectError(
      await eve.api.post(`/channels/${randomUUID()}/messages`, { clientMsgId: 'x', content: 'hi' }),
      'NOT_FOUND',
    );
    expectError(
      await anon.post(`/channels/${pub}/messages`, { clientMsgId: 'x', content: 'hi' }),
      'UNAUTHENTICATED',
    );
  });
});

describe('GET /channels/:id/messages pagination', () => {
  let big: string; // 201 messages: one more than the largest page
  let three: string;
  let empty: string;

  beforeAll(async () => {
    [big, three, empty] = await Promise.all([
      newChannel(alice, [bob]),
      newChannel(alice),
      newChannel(alice),
    ]);
    await Promise.all([fill(alice, big, 201), fill(alice, three, 3)]);
  }, 60_000);

  test('default: the newest 50, ascending, with hasMore', async () => {
    const res = await bob.api.get(`/channels/${big}/messages`);
    expectStatus(res, 200);
    const page = expectShape(messagePage, res.body);
    expect(seqs(page)).toEqual(range(152, 201));
    expect(page.hasMore).toBe(true);
    expect(page.messages[0]!.content).toBe('message 152');
  });

  test.each([
    ['limit=1', 'limit=1', [201], true],
    ['limit=200 (the maximum)', 'limit=200', range(2, 201), true],
    ['beforeSeq reaching the first message', 'beforeSeq=2&limit=200', [1], false],
    ['beforeSeq=1', 'beforeSeq=1', [], false],
    ['beforeSeq past the end', 'beforeSeq=202&limit=200', range(2, 201), true],
    ['beforeSeq with an exact fit', 'beforeSeq=11&limit=10', range(1, 10), false],
    ['beforeSeq one short of a fit', 'beforeSeq=12&limit=10', range(2, 11), true],
    ['afterSeq=0, a full page', 'afterSeq=0&limit=200', range(1, 200), true],
    ['afterSeq exactly one page from the end', 'afterSeq=1&limit=200', range(2, 201), false],
    ['afterSeq at the end', 'afterSeq=201', [], false],
    ['afterSeq past the end', 'afterSeq=500', [], false],
    ['afterSeq with limit=1', 'afterSeq=100&limit=1', [101], true],
    ['afterSeq and beforeSeq together', 'afterSeq=10&beforeSeq=20', range(11, 19), false],
    [
      'afterSeq and beforeSeq with a smaller limit',
      'afterSeq=10&beforeSeq=20&limit=5',
      range(11, 15),
      true,
    ],
  ])('%s', async (_what, query, expected, hasMore) => {
    const res = await bob.api.get(`/channels/${big}/messages?${query}`);
    expectStatus(res, 200);
    const page = expectShape(messagePage, res.body);
    expect(seqs(page)).toEqual(expected);
    expect(page.hasMore).toBe(hasMore);
  });

  test('hasMore is false when the channel fits the page exactly', async () => {
    expect((await alice.api.get(`/channels/${three}/messages?limit=3`)).body).toMatchObject({
      hasMore: false,
    });
    const two = await alice.api.get(`/channels/${three}/messages?limit=2`);
    expect(seqs(two.body)).toEqual([2, 3]);
    expect(two.body.hasMore).toBe(true);
    expect(
      (await alice.api.get(`/channels/${three}/messages?afterSeq=0&limit=3`)).body.hasMore,
    ).toBe(false);
  });

  test('an empty channel is an empty page', async () => {
    const res = await alice.api.get(`/channels/${empty}/messages`);
    expectStatus(res, 200);
    expect(res.body).toEqual({ messages: [], hasMore: false });
  });

  test('walking back by beforeSeq and forward by afterSeq both see every message exactly once', async () => {
    const backward: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = (
        await bob.api.get(
          `/channels/${big}/messages?limit=60${before === undefined ? '' : `&beforeSeq=${before}`}`,
        )
      ).body;
      backward.unshift(...seqs(page));
      if (!page.hasMore) break;
      before = page.messages[0].seq;
    }
    expect(backward).toEqual(range(1, 201));
    const forward: number[] = [];
    let after = 0;
    for (;;) {
      const page = (await bob.api.get(`/channels/${big}/messages?afterSeq=${after}&limit=70`)).body;
      forward.push(...seqs(page));
      if (!page.hasMore) break;
      after = page.messages.at(-1).seq;
    }
    expect(forward).toEqual(range(1, 201));
  });

  test.each([
    ['limit=201', 'query.limit'],
    ['limit=0', 'query.limit'],
    ['limit=-5', 'query.limit'],
    ['limit=1.5', 'query.limit'],
    ['limit=many', 'query.limit'],
    ['afterSeq=-1', 'query.afterSeq'],
    ['afterSeq=one', 'query.afterSeq'],
    ['beforeSeq=1e400', 'query.beforeSeq'],
    ['cursor=abc', 'query'],
  ])('%s is VALIDATION', async (query, field) => {
    expectError(await bob.api.get(`/channels/${big}/messages?${query}`), 'VALIDATION', field);
  });

  test('non-members cannot read history', async () => {
    expectError(await eve.api.get(`/channels/${big}/messages`), 'NOT_FOUND');
    const pub = await newChannel(alice, [], 'public');
    expectError(await eve.api.get(`/channels/${pub}/messages`), 'FORBIDDEN');
  });
});

describe('read pointer', () => {
  async function listed(user: TestUser, channelId: string) {
    const res = await user.api.get('/channels');
    expectStatus(res, 200);
    return expectShape(
      listedChannel,
      res.body.channels.find((c: { id: string }) => c.id === channelId),
    );
  }

  test('only moves forward, is capped at the last message, and drives unreadCount', async () => {
    const c = await newChannel(alice, [bob, eve]);
    await fill(alice, c, 5);
    expect(await listed(bob, c)).toMatchObject({ lastSeq: 5, unreadCount: 5 });

    const read = await bob.api.post(`/channels/${c}/read`, { seq: 3 });
    expectStatus(read, 204);
    expect(read.body).toBeUndefined();
    expect(await listed(bob, c)).toMatchObject({ lastSeq: 5, unreadCount: 2 });

    expectStatus(await bob.api.post(`/channels/${c}/read`, { seq: 1 }), 204);
    expect(await listed(bob, c)).toMatchObject({ unreadCount: 2 });

    expectStatus(await bob.api.post(`/channels/${c}/read`, { seq: 999 }), 204);
    expect(await listed(bob, c)).toMatchObject({ unreadCount: 0 });
    // The pointer was capped at 5, so the next message is unread again.
    await send(alice, c, 'one more');
    expect(await listed(bob, c)).toMatchObject({ lastSeq: 6, unreadCount: 1 });
    // Each member has their own pointer.
    expect(await listed(eve, c)).toMatchObject({ lastSeq: 6, unreadCount: 6 });
  });

  test('concurrent reads never move the pointer back', async () => {
    const c = await newChannel(alice, [bob]);
    await fill(alice, c, 20);
    await Promise.all(range(1, 20).map((seq) => bob.api.post(`/channels/${c}/read`, { seq })));
    expect(await listed(bob, c)).toMatchObject({ unreadCount: 0 });
  });

  test.each([
    [{ seq: -1 }, 'body.seq'],
    [{ seq: 1.5 }, 'body.seq'],
    [{ seq: '3' }, 'body.seq'],
    [{}, 'body.seq'],
  ])('%j is VALIDATION', async (body, field) => {
    const c = await newChannel(alice, [bob]);
    expectError(await bob.api.post(`/channels/${c}/read`, body), 'VALIDATION', field);
  });

  test('outsiders cannot mark read', async () => {
    const c = await newChannel(alice);
    expectError(await eve.api.post(`/channels/${c}/read`, { seq: 1 }), 'NOT_FOUND');
  });
});

describe('GET, PATCH and DELETE /messages/:id', () => {
  test('GET returns the message to members only', async () => {
    const c = await newChannel(alice, [bob]);
    const m = await send(alice, c, 'readable');
    const res = await bob.api.get(`/messages/${m.id}`);
    expectStatus(res, 200);
    expect(expectShape(message, res.body)).toEqual(m);
    expectError(await eve.api.get(`/messages/${m.id}`), 'NOT_FOUND');
    expectError(await bob.api.get(`/messages/${randomUUID()}`), 'NOT_FOUND');
    expectError(await bob.api.get('/messages/xyz'), 'VALIDATION', 'params.id');
  });

  test('the author edits: content changes and editedAt is set; anyone else is refused', async () => {
    const c = await newChannel(alice, [bob]);
    const m = await send(alice, c, 'tpyo');
    const res = await alice.api.patch(`/messages/${m.id}`, { content: 'typo' });
    expectStatus(res, 200);
    const edited = expectShape(message, res.body);
    expect(edited).toMatchObject({ id: m.id, seq: m.seq, content: 'typo', createdAt: m.createdAt });
    expect(edited.editedAt).not.toBeNull();
    expectError(await bob.api.patch(`/messages/${m.id}`, { content: 'hijacked' }), 'FORBIDDEN');
    expectError(await eve.api.patch(`/messages/${m.id}`, { content: 'hijacked' }), 'NOT_FOUND');
    expectError(
      await alice.api.patch(`/messages/${m.id}`, { content: 'b'.repeat(4001) }),
      'PAYLOAD_TOO_LARGE',
    );
    expectError(
      await alice.api.patch(`/messages/${m.id}`, { content: '' }),
      'VALIDATION',
      'content',
    );
    expectError(await alice.api.patch(`/messages/${m.id}`, {}), 'VALIDATION', 'body.content');
    expect((await bob.api.get(`/messages/${m.id}`)).body.content).toBe('typo');
  });

  test('soft delete keeps the seq and removes the content; later sends continue the sequence', async () => {
    const c = await newChannel(alice, [bob]);
    await fill(alice, c, 3);
    const second = (await alice.api.get(`/channels/${c}/messages`)).body.messages[1];
    const res = await alice.api.delete(`/messages/${second.id}`);
    expectStatus(res, 204);
    expect(res.body).toBeUndefined();

    const gone = expectShape(message, (await bob.api.get(`/messages/${second.id}`)).body);
    expect(gone).toMatchObject({ id: second.id, seq: 2, content: '' });
    expect(gone.deletedAt).not.toBeNull();
    const page = (await bob.api.get(`/channels/${c}/messages`)).body;
    expect(seqs(page)).toEqual([1, 2, 3]);
    expect(page.messages[1]).toMatchObject({ content: '' });
    expect(JSON.stringify(page)).not.toContain('message 2');

    expect((await send(alice, c, 'after')).seq).toBe(4);
    expectStatus(await alice.api.delete(`/messages/${second.id}`), 204);
    expectError(
      await alice.api.patch(`/messages/${second.id}`, { content: 'undelete' }),
      'FORBIDDEN',
    );
  });

  test('delete: members may not delete others’ messages, outsiders cannot see them', async () => {
    const c = await newChannel(alice, [bob]);
    const m = await send(alice, c, 'keep me');
    expectError(await bob.api.delete(`/messages/${m.id}`), 'FORBIDDEN');
    expectError(await eve.api.delete(`/messages/${m.id}`), 'NOT_FOUND');
    expectError(await bob.api.delete(`/messages/${randomUUID()}`), 'NOT_FOUND');
    expect((await alice.api.get(`/messages/${m.id}`)).body.content).toBe('keep me');
  });
});

describe('GET /search', () => {
  let mine: string;
  let alsoMine: string;
  let notMine: string;
  let publicNotJoined: string;

  beforeAll(async () => {
    mine = await newChannel(alice, [bob]);
    alsoMine = await newChannel(bob, [alice]);
    notMine = await newChannel(eve);
    publicNotJoined = await newChannel(eve, [], 'public');
    await send(
      alice,
      mine,
      'a zebra among many other animals grazing in the wide open field today',
    );
    await send(bob, alsoMine, 'zebra zebra zebra: stripes everywhere, zebra');
    await send(eve, notMine, 'secret zebra plans');
    await send(eve, publicNotJoined, 'public zebra chatter');
    const deleted = await send(alice, mine, 'a deleted zebra sighting');
    expectStatus(await alice.api.delete(`/messages/${deleted.id}`), 204);
    await send(alice, mine, 'nothing to see here');
  });

  test('finds matches only in the caller’s channels, best match first, without deleted messages', async () => {
    const res = await alice.api.get('/search?q=zebra');
    expectStatus(res, 200);
    expect(Object.keys(res.body)).toEqual(['messages']);
    const found = res.body.messages.map((m: unknown) => expectShape(message, m));
    expect(found.map((m: { content: string }) => m.content)).toEqual([
      'zebra zebra zebra: stripes everywhere, zebra',
      'a zebra among many other animals grazing in the wide open field today',
    ]);
  });

  test('matches word forms (full-text, not substring)', async () => {
    const res = await alice.api.get('/search?q=zebras');
    expect(res.body.messages).toHaveLength(2);
  });

  test('channelId narrows the search; a channel the caller is not in yields nothing', async () => {
    const narrowed = await alice.api.get(`/search?q=zebra&channelId=${alsoMine}`);
    expect(narrowed.body.messages.map((m: { channelId: string }) => m.channelId)).toEqual([
      alsoMine,
    ]);
    const foreign = await alice.api.get(`/search?q=zebra&channelId=${notMine}`);
    expectStatus(foreign, 200);
    expect(foreign.body.messages).toEqual([]);
    expect((await eve.api.get('/search?q=zebra')).body.messages).toHaveLength(2);
  });

  test('limit applies; query syntax is never an error', async () => {
    expect((await alice.api.get('/search?q=zebra&limit=1')).body.messages).toHaveLength(1);
    for (const q of ['"unterminated', 'zebra -zebra', 'or or or', '&&!!', ':*', '\\']) {
      expectStatus(await alice.api.get(`/search?q=${encodeURIComponent(q)}`), 200);
    }
  });

  test.each([
    ['', 'query.q'],
    ['q=', 'query.q'],
    ['q=%20%20', 'query.q'],
    ['q=zebra&limit=0', 'query.limit'],
    ['q=zebra&limit=101', 'query.limit'],
    ['q=zebra&channelId=abc', 'query.channelId'],
  ])('"%s" is VALIDATION', async (query, field) => {
    expectError(await alice.api.get(`/search?${query}`), 'VALIDATION', field);
  });
});
