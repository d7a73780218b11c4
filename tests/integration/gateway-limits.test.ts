import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Server } from 'socket.io';
import { StreamLagMonitor } from '../../services/gateway/stream-lag.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { requiredEnv } from '../support/env.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';
import { CONDITION_TIMEOUT_MS } from '../support/deadlines.js';
import { connectSocket, emitAck, EventLog } from '../support/sockets.js';

let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let channelId: string;

beforeAll(async () => {
  t = await startTestApp(
    {
      ROLES: 'api,gateway',
      MAX_CONNECTIONS_PER_USER: '2',
      MESSAGE_RATE_PER_SECOND: '3',
      MESSAGE_RATE_BURST: '2',
      GATEWAY_MAX_PAYLOAD_BYTES: '20000',
    },
    'gwlimits',
  );
  const anon = new ApiClient(t.baseUrl);
  [alice, bob] = await Promise.all([registerUser(anon, 'lima'), registerUser(anon, 'limb')]);
  channelId = (
    await alice.api.post('/channels', { name: 'limits', type: 'private', memberIds: [bob.id] })
  ).body.id;
});

afterAll(async () => {
  await t?.stop();
});

test('the oldest socket of a user beyond MAX_CONNECTIONS_PER_USER is told not to reconnect and closed', async () => {
  const first = await connectSocket(t.baseUrl, bob.accessToken);
  const firstLog = new EventLog(first, ['server.draining', 'disconnect']);
  const second = await connectSocket(t.baseUrl, bob.accessToken);
  const third = await connectSocket(t.baseUrl, bob.accessToken);
  try {
    await firstLog.waitFor(
      (l) => l.of('disconnect').length === 1,
      CONDITION_TIMEOUT_MS,
      'oldest socket closed',
    );
    expect(firstLog.of('server.draining')).toEqual([
      { reconnectInMs: -1, reason: 'too_many_connections' },
    ]);
    expect(second.connected).toBe(true);
    expect(third.connected).toBe(true);
  } finally {
    [first, second, third].forEach((s) => s.close());
  }
});

test('sending faster than the per-user rate is answered with RATE_LIMITED and retryAfterMs; idempotent retries are not counted', async () => {
  const s = await connectSocket(t.baseUrl, alice.accessToken);
  try {
    // At once: one after the other, a loaded machine can spread them over enough 1-second
    // windows that none is over the limit.
    const acks = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        emitAck(s, 'message.send', { channelId, clientMsgId: `rl-${i}`, content: 'fast' }),
      ),
    );
    const limited = acks.filter((a) => !a.ok);
    expect(limited.length).toBeGreaterThan(0);
    for (const a of limited) {
      expect(a.error.code).toBe('RATE_LIMITED');
      expect(a.error.details.retryAfterMs).toBeGreaterThan(0);
    }
    const accepted = acks.filter((a) => a.ok);
    // A retry of an accepted message still answers with the original while limited.
    const retry = await emitAck(s, 'message.send', {
      channelId,
      clientMsgId: accepted[0].message.clientMsgId,
      content: 'fast',
    });
    expect(retry).toMatchObject({ ok: true, message: { id: accepted[0].message.id } });
    const wait = Math.max(...limited.map((a) => a.error.details.retryAfterMs));
    await new Promise((r) => setTimeout(r, wait + 50));
    expect(
      await emitAck(s, 'message.send', { channelId, clientMsgId: 'rl-after', content: 'later' }),
    ).toMatchObject({ ok: true });
  } finally {
    s.close();
  }
});

test('a packet over GATEWAY_MAX_PAYLOAD_BYTES closes that connection only; the server keeps serving', async () => {
  const big = await connectSocket(t.baseUrl, alice.accessToken);
  const log = new EventLog(big, ['disconnect']);
  big.emit(
    'message.send',
    { channelId, clientMsgId: 'huge', content: 'x'.repeat(50_000) },
    () => {},
  );
  await log.waitFor(
    (l) => l.of('disconnect').length === 1,
    CONDITION_TIMEOUT_MS,
    'oversized packet disconnect',
  );
  const ok = await connectSocket(t.baseUrl, alice.accessToken);
  try {
    expect(await emitAck(ok, 'channel.sync', { channelId, afterSeq: 0 })).toMatchObject({
      ok: true,
    });
    const history = await alice.api.get(`/channels/${channelId}/messages?limit=200`);
    expect(
      history.body.messages.some((m: { clientMsgId: string }) => m.clientMsgId === 'huge'),
    ).toBe(false);
  } finally {
    ok.close();
  }
});

test('the stream monitor notices when trimming passes the position this node has read', async () => {
  const redis = new Redis(requiredEnv('REDIS_URL'));
  const stream = `lagtest:${randomBytes(4).toString('hex')}`;
  const overruns: number[] = [];
  const lags: number[] = [];
  // The monitor learns our read position from the adapter's onRawMessage hook.
  const adapter = { onRawMessage: (_raw: unknown, _offset: string) => undefined };
  const io = { of: () => ({ adapter }) } as unknown as Server;
  const monitor = new StreamLagMonitor(io, redis, stream, {
    onLag: (s) => lags.push(s),
    onOverrun: () => overruns.push(1),
  });
  try {
    const first = (await redis.xadd(stream, 'MAXLEN', '1000', '*', 'n', '0'))!;
    adapter.onRawMessage({}, first);
    await monitor.check();
    expect(overruns).toEqual([]);
    expect(lags.at(-1)).toBe(0);
    for (let i = 1; i <= 20; i++) await redis.xadd(stream, 'MAXLEN', '5', '*', 'n', String(i));
    await monitor.check();
    expect(overruns).toEqual([1]);
    // Reported once per trimming, not at every check.
    await monitor.check();
    expect(overruns).toEqual([1]);
  } finally {
    monitor.stop();
    await redis.del(stream);
    redis.disconnect();
  }
});
