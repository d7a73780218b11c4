// The client SDK against the real server (api + gateway in one process), on the memory engine
// and on Redis: what an app built on it relies on.
import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import {
  SignalinkClient,
  SignalinkError,
  SignalinkRest,
  type Message,
} from '../../services/client/index.js';
import { loadConfig } from '../../services/core/config.js';
import { createLogger } from '../../services/core/logger.js';
import { startSignalink, type Signalink } from '../../services/runtime.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { connectSocket } from '../support/sockets.js';

const engines: [string, Record<string, string>][] = [
  ['memory engine', { REDIS_URL: '' }],
  ['redis engine', {}],
];

function waitFor<T>(
  check: () => T | undefined | false,
  what: string,
  timeoutMs = 15000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      const value = check();
      if (value) return resolve(value);
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** A user with a REST session and a connected SDK client that records every message it is given. */
async function member(baseUrl: string, prefix: string) {
  const rest = new SignalinkRest({ url: baseUrl });
  const username = `${prefix}_${randomBytes(4).toString('hex')}`;
  const session = await rest.register({
    username,
    email: `${username}@example.test`,
    password: 'correct horse battery',
  });
  const client = new SignalinkClient({
    url: baseUrl,
    token: rest,
    reconnectionDelayMs: 200,
    reconnectionDelayMaxMs: 400,
  });
  const received: Message[] = [];
  client.on('message', (m) => received.push(m));
  return { rest, client, received, session, userId: session.user.id };
}

const seqsIn = (received: Message[], channelId: string) =>
  received.filter((m) => m.channelId === channelId).map((m) => m.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(engines)('client SDK on the %s', (_engine, engineEnv) => {
  let app: TestApp;
  const clients: SignalinkClient[] = [];

  beforeAll(async () => {
    app = await startTestApp(
      {
        ROLES: 'api,gateway',
        MESSAGE_RATE_PER_SECOND: '500',
        MESSAGE_RATE_BURST: '500',
        ...engineEnv,
      },
      'sdk',
    );
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await app?.stop();
  });

  async function pair() {
    const a = await member(app.baseUrl, 'alice');
    const b = await member(app.baseUrl, 'bob');
    clients.push(a.client, b.client);
    const channel = await a.rest.createChannel({
      name: 'sdk',
      type: 'private',
      memberIds: [b.userId],
    });
    return { a, b, channelId: channel.id };
  }

  it('refuses to connect with a bad token, with the contract code', async () => {
    const client = new SignalinkClient({ url: app.baseUrl, token: 'not-a-token' });
    clients.push(client);
    await expect(client.connect()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(client.state).toBe('closed');
  });

  it('delivers a send to both sides exactly once, in seq order, the sender’s own copy included', async () => {
    const { a, b, channelId } = await pair();
    await Promise.all([a.client.connect(), b.client.connect()]);
    a.client.track(channelId, 0);
    b.client.track(channelId, 0);
    const sent: Message[] = [];
    for (let i = 1; i <= 5; i++) sent.push(await a.client.send(channelId, `hello ${i}`));
    const reply = await b.client.send(channelId, 'hi alice');
    expect(sent.map((m) => m.seq)).toEqual(range(1, 5));
    await waitFor(
      () => a.client.lastSeq(channelId) === 6 && b.client.lastSeq(channelId) === 6,
      'both at seq 6',
    );
    expect(seqsIn(a.received, channelId)).toEqual(range(1, 6));
    expect(seqsIn(b.received, channelId)).toEqual(range(1, 6));
    expect(b.received.find((m) => m.seq === 6)?.id).toBe(reply.id);
    expect(b.received[0]?.content).toBe('hello 1');
  });

  it('stores a retried send once: the same clientMsgId returns the original message', async () => {
    const { a, channelId } = await pair();
    await a.client.connect();
    const first = await a.client.send(channelId, 'only once', { clientMsgId: 'retry-me-1' });
    const again = await a.client.send(channelId, 'only once', { clientMsgId: 'retry-me-1' });
    expect(again.id).toBe(first.id);
    expect(again.seq).toBe(first.seq);
    const history = await a.rest.history(channelId);
    expect(history.messages.filter((m) => m.clientMsgId === 'retry-me-1')).toHaveLength(1);
  });

  it('fills a gap through channel.sync when a live message arrives beyond the last seq held', async () => {
    const { a, b, channelId } = await pair();
    await Promise.all([a.client.connect(), b.client.connect()]);
    // Three messages b never saw live (sent over REST before b started tracking from 0).
    for (let i = 1; i <= 3; i++)
      await a.rest.call('POST', `/channels/${channelId}/messages`, {
        clientMsgId: `rest-${i}`,
        content: `early ${i}`,
      });
    b.client.track(channelId, 0);
    await a.client.send(channelId, 'the one that reveals the gap');
    await waitFor(() => b.client.lastSeq(channelId) === 4, 'b caught up to seq 4');
    expect(seqsIn(b.received, channelId)).toEqual([1, 2, 3, 4]);
    expect(b.received.map((m) => m.content)).toEqual([
      'early 1',
      'early 2',
      'early 3',
      'the one that reveals the gap',
    ]);
  });

  it('rejects a send the server refuses for good, without retrying it', async () => {
    const { a, channelId } = await pair();
    const outsider = await member(app.baseUrl, 'eve');
    clients.push(outsider.client);
    await Promise.all([a.client.connect(), outsider.client.connect()]);
    // A private channel is not even known to outsiders.
    await expect(outsider.client.send(channelId, 'let me in')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(a.client.send(channelId, 'x'.repeat(4001))).rejects.toBeInstanceOf(SignalinkError);
    expect(a.client.pendingSends()).toHaveLength(0);
    expect(outsider.client.pendingSends()).toHaveLength(0);
  });

  it('edits, deletes and reports typing and receipts to the other member', async () => {
    const { a, b, channelId } = await pair();
    await Promise.all([a.client.connect(), b.client.connect()]);
    const updates: Message[] = [];
    const typing: string[][] = [];
    const receipts: number[] = [];
    b.client.on('messageUpdated', (m) => updates.push(m));
    b.client.on('typing', (t) => t.channelId === channelId && typing.push(t.userIds));
    a.client.on(
      'receipt',
      (r) => r.channelId === channelId && r.userId === b.userId && receipts.push(r.seq),
    );
    const m = await a.client.send(channelId, 'draft');
    await a.client.edit(m.id, 'final');
    await waitFor(() => updates.some((u) => u.content === 'final' && u.editedAt), 'edit seen by b');
    await a.client.delete(m.id);
    await waitFor(() => updates.some((u) => u.deletedAt && u.content === ''), 'delete seen by b');
    await a.client.typing(channelId, true);
    await waitFor(() => typing.some((ids) => ids.includes(a.userId)), 'typing seen by b');
    await b.client.markRead(channelId, m.seq);
    await waitFor(() => receipts.includes(m.seq), 'receipt seen by a');
    await expect(b.client.edit(m.id, 'not mine')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refreshes an expired access token when it connects', async () => {
    // An access token that expired an hour ago, of a live session. (Waiting out a short
    // ACCESS_TOKEN_TTL_SECONDS instead races the clock: a 1-second token, refreshed or not,
    // expires at the next whole second, which a loaded machine crosses mid-handshake.)
    const a = await member(app.baseUrl, 'tess');
    a.client.close();
    const claims = decodeJwt(a.rest.accessToken()!);
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 3600, exp: now - 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(app.env.JWT_SECRET));
    await expect(connectSocket(app.baseUrl, expired)).rejects.toMatchObject({
      message: 'UNAUTHENTICATED',
    });
    const refreshToken = a.session.refreshToken;
    const rest = new SignalinkRest({
      url: app.baseUrl,
      tokens: { accessToken: expired, refreshToken },
    });
    const client = new SignalinkClient({ url: app.baseUrl, token: rest });
    clients.push(client);
    await client.connect();
    expect(client.state).toBe('connected');
    expect(rest.accessToken()).not.toBe(expired);
    expect(decodeJwt(rest.accessToken()!)).toMatchObject({ sub: a.userId, sid: claims.sid });
  });
});

describe('client SDK across a server restart', () => {
  it('loses nothing: messages sent while it was away arrive once, in order, after it reconnects', async () => {
    const first = await startTestApp({ ROLES: 'api,gateway', REDIS_URL: '' }, 'sdkrestart');
    const port = first.app.port;
    let second: Signalink | undefined;
    const a = await member(first.baseUrl, 'ann');
    const b = await member(first.baseUrl, 'ben');
    try {
      const channel = await a.rest.createChannel({
        name: 'restart',
        type: 'private',
        memberIds: [b.userId],
      });
      const slowB = new SignalinkClient({
        url: first.baseUrl,
        token: b.rest,
        reconnectionDelayMs: 200,
        reconnectionDelayMaxMs: 400,
      });
      const received: Message[] = [];
      slowB.on('message', (m) => received.push(m));
      const states: string[] = [];
      slowB.on('state', (s) => states.push(s));
      await slowB.connect();
      slowB.track(channel.id, 0);
      for (let i = 1; i <= 3; i++)
        await a.rest.call('POST', `/channels/${channel.id}/messages`, {
          clientMsgId: `before-${i}`,
          content: `before ${i}`,
        });
      await waitFor(() => slowB.lastSeq(channel.id) === 3, 'live messages before the restart');

      await first.app.stop();
      await waitFor(() => states.includes('reconnecting'), 'the client noticing the drop');
      // b also writes while away: its sends wait, then are stored once each, in its order.
      const offline = ['first while away', 'second while away', 'third while away'].map((text) =>
        slowB.send(channel.id, text),
      );
      expect(slowB.pendingSends()).toHaveLength(3);
      // Others keep writing while b's server is down, through another API node on the same
      // database, so these are stored before b can possibly be back: it gets them only by
      // catching up, whenever its reconnect lands.
      const elsewhere = await startTestApp(
        { ROLES: 'api', REDIS_URL: '', DATABASE_URL: first.databaseUrl },
        'sdkrestart-api',
      );
      try {
        const aElsewhere = new SignalinkRest({
          url: elsewhere.baseUrl,
          tokens: { accessToken: a.rest.accessToken()!, refreshToken: a.session.refreshToken },
        });
        for (let i = 1; i <= 4; i++)
          await aElsewhere.call('POST', `/channels/${channel.id}/messages`, {
            clientMsgId: `during-${i}`,
            content: `while away ${i}`,
          });
      } finally {
        await elsewhere.stop();
      }
      expect(received.some((m) => m.content.startsWith('while away'))).toBe(false);
      const config = loadConfig({ ...first.env, PORT: String(port) });
      second = await startSignalink(config, createLogger(config.logLevel));

      const stored = await Promise.all(offline);
      expect(stored.map((m) => m.content)).toEqual([
        'first while away',
        'second while away',
        'third while away',
      ]);
      expect(stored[1]!.seq).toBeGreaterThan(stored[0]!.seq);
      expect(stored[2]!.seq).toBeGreaterThan(stored[1]!.seq);

      await waitFor(() => slowB.lastSeq(channel.id) === 10, 'catch-up after reconnecting');
      expect(seqsIn(received, channel.id)).toEqual(range(1, 10));
      expect(
        received.filter((m) => m.content.startsWith('while away')).map((m) => m.content),
      ).toEqual(['while away 1', 'while away 2', 'while away 3', 'while away 4']);
      const history = await a.rest.history(channel.id);
      expect(history.messages.filter((m) => m.content.endsWith('while away'))).toHaveLength(3);
      slowB.close();
    } finally {
      a.client.close();
      b.client.close();
      await second?.stop();
      await first.stop();
    }
  });
});
