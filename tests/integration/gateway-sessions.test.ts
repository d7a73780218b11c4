// Ending a session (logout, or refresh-token reuse revoking the family) closes that session's
// sockets on every gateway node within seconds, tells them why (server.draining with reason
// UNAUTHENTICATED and reconnectInMs -1, docs/protocol-extensions.md) and keeps them out, while
// the same user's other sessions go on. Two gateway processes share PostgreSQL and Redis; some
// logouts go through an API-only app on the same database and Redis, as a separately deployed
// api role would do them.
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import knexFactory from 'knex';
import type { Socket } from 'socket.io-client';
import {
  SignalinkClient,
  SignalinkRest,
  type SignalinkError,
} from '../../services/client/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { CONDITION_TIMEOUT_MS } from '../support/deadlines.js';
import { requiredEnv } from '../support/env.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';
import { startNode, type NodeProcess } from '../support/node-process.js';
import { connectSocket, EventLog } from '../support/sockets.js';

const JWT_SECRET = 'gateway-sessions-secret-gateway-sessions-secret';
const SIGNED_OUT = { reconnectInMs: -1, reason: 'UNAUTHENTICATED' };

let db: { url: string; drop(): Promise<void> };
let nodeA: NodeProcess;
let nodeB: NodeProcess;
let apiOnly: TestApp;
let alice: TestUser;
let bob: TestUser;
let channelId: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  db = await createTestDatabase('gwsessions');
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: requiredEnv('REDIS_URL'),
    REDIS_KEY_PREFIX: `gs${randomBytes(3).toString('hex')}:`,
    JWT_SECRET,
    ROLES: 'api,gateway',
  };
  nodeA = await startNode(env); // applies the migrations
  [nodeB, apiOnly] = await Promise.all([
    startNode(env),
    startTestApp({ ...env, ROLES: 'api' }, 'gwsessions-api'),
  ]);
  const anon = new ApiClient(nodeA.url);
  [alice, bob] = await Promise.all([registerUser(anon, 'alice'), registerUser(anon, 'bob')]);
  const res = await alice.api.post('/channels', {
    name: 'sessions',
    type: 'private',
    memberIds: [bob.id],
  });
  expect(res.status).toBe(201);
  channelId = res.body.id;
}, 180_000);

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

afterAll(async () => {
  await apiOnly?.stop();
  await Promise.all([nodeA?.kill(), nodeB?.kill()]);
  await db?.drop();
});

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

/** Another login of a user: a session (refresh-token family) of its own. */
async function login(user: TestUser): Promise<Tokens> {
  const res = await new ApiClient(nodeA.url).post('/auth/login', {
    login: user.username,
    password: 'correct horse battery',
  });
  expect(res.status).toBe(200);
  return res.body;
}

async function watch(node: NodeProcess, token: string) {
  const socket = await connectSocket(node.url, token);
  sockets.push(socket);
  return { socket, log: new EventLog(socket, ['server.draining', 'disconnect', 'message.new']) };
}
type Watched = Awaited<ReturnType<typeof watch>>;

async function send(content: string): Promise<void> {
  const res = await bob.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: `${content}-${randomBytes(4).toString('hex')}`,
    content,
  });
  expect(res.status).toBe(201);
}

async function allReceive(content: string, watched: Watched[]): Promise<void> {
  for (const w of watched)
    await w.log.waitFor(
      (l) => l.of('message.new').some((m) => m.content === content),
      CONDITION_TIMEOUT_MS,
      `"${content}" to arrive`,
    );
}

/** The socket was told its session ended, and then the server closed it. */
async function expectSignedOut(w: Watched, what: string): Promise<void> {
  await w.log.waitFor((l) => l.of('disconnect').length > 0, CONDITION_TIMEOUT_MS, what);
  const events = w.log.events
    .filter((e) => e.event !== 'message.new')
    .map((e) => [e.event, e.payload]);
  expect(events).toEqual([
    ['server.draining', SIGNED_OUT],
    ['disconnect', 'io server disconnect'],
  ]);
}

function expectUntouched(w: Watched): void {
  expect(w.socket.connected).toBe(true);
  expect(w.log.of('server.draining')).toEqual([]);
}

async function expectRefused(node: NodeProcess, token: string): Promise<void> {
  await expect(connectSocket(node.url, token)).rejects.toMatchObject({
    message: 'UNAUTHENTICATED',
  });
}

test('logout closes every socket of that session on both nodes and keeps it out; the other session goes on', async () => {
  const ended = await login(alice);
  const kept = await login(alice);
  const endedA = await watch(nodeA, ended.accessToken);
  const endedB = await watch(nodeB, ended.accessToken);
  const keptA = await watch(nodeA, kept.accessToken);
  const keptB = await watch(nodeB, kept.accessToken);
  const bobA = await watch(nodeA, bob.accessToken);
  await send('before logout');
  await allReceive('before logout', [endedA, endedB, keptA, keptB, bobA]);

  // The logout is made by an API-only process: no socket lives there.
  const res = await new ApiClient(apiOnly.baseUrl).post('/auth/logout', {
    refreshToken: ended.refreshToken,
  });
  expect(res.status).toBe(204);
  await expectSignedOut(endedA, 'the ended session’s socket on node A to close');
  await expectSignedOut(endedB, 'the ended session’s socket on node B to close');

  await send('after logout');
  await allReceive('after logout', [keptA, keptB, bobA]);
  for (const w of [endedA, endedB])
    expect(w.log.of('message.new').map((m) => m.content)).toEqual(['before logout']);
  for (const w of [keptA, keptB, bobA]) expectUntouched(w);

  // Nodes that closed the session refuse its access token at once, not after a cache expires.
  await expectRefused(nodeA, ended.accessToken);
  await expectRefused(nodeB, ended.accessToken);
  (await connectSocket(nodeB.url, kept.accessToken)).close();
}, 60_000);

test('refresh-token reuse closes the sockets of the whole family, old and new access tokens alike', async () => {
  const family = await login(alice);
  const other = await login(alice);
  const rotated = await new ApiClient(nodeA.url).post('/auth/refresh', {
    refreshToken: family.refreshToken,
  });
  expect(rotated.status).toBe(200);
  const withOld = await watch(nodeA, family.accessToken);
  const withNew = await watch(nodeB, rotated.body.accessToken);
  const otherB = await watch(nodeB, other.accessToken);
  await send('before reuse');
  await allReceive('before reuse', [withOld, withNew, otherB]);

  // The rotated-away token comes back: a thief replaying it, or the owner after the thief.
  const replay = await new ApiClient(nodeB.url).post('/auth/refresh', {
    refreshToken: family.refreshToken,
  });
  expect(replay.status).toBe(401);
  await expectSignedOut(withOld, 'the socket with the family’s first access token to close');
  await expectSignedOut(withNew, 'the socket with the family’s rotated access token to close');

  await send('after reuse');
  await allReceive('after reuse', [otherB]);
  expectUntouched(otherB);
  await expectRefused(nodeA, rotated.body.accessToken);
  await expectRefused(nodeB, family.accessToken);
}, 60_000);

test('the SDK stops for good on the notice and reports UNAUTHENTICATED, without reconnecting', async () => {
  const session = await login(alice);
  const rest = new SignalinkRest({ url: nodeB.url, tokens: session });
  const client = new SignalinkClient({
    url: nodeB.url,
    token: rest,
    reconnectionDelayMs: 50,
    reconnectionDelayMaxMs: 100,
  });
  const states: string[] = [];
  const errors: SignalinkError[] = [];
  client.on('state', (s) => states.push(s));
  client.on('error', (e) => errors.push(e as SignalinkError));
  try {
    await client.connect();
    client.track(channelId, 0);
    const res = await new ApiClient(nodeA.url).post('/auth/logout', {
      refreshToken: session.refreshToken,
    });
    expect(res.status).toBe(204);
    const deadline = Date.now() + CONDITION_TIMEOUT_MS;
    while (client.state !== 'closed' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(states).toEqual(['connecting', 'connected', 'closed']);
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHENTICATED']);
    // Closed for good: a send is refused at once instead of waiting for a connection.
    await expect(client.send(channelId, 'too late')).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  } finally {
    client.close();
  }
}, 60_000);

test('a session revoked where no node hears of it is still closed, by the nodes’ periodic check', async () => {
  const session = await login(alice);
  const onA = await watch(nodeA, session.accessToken);
  const onB = await watch(nodeB, session.accessToken);
  // As if the revocation's announcement were lost (a Redis blip), or made by hand.
  const knex = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 1 } });
  try {
    const familyId = decodeJwt(session.accessToken).sid as string;
    expect(
      await knex('refresh_tokens')
        .where({ family_id: familyId })
        .update({ revoked_at: new Date() }),
    ).toBe(1);
  } finally {
    await knex.destroy();
  }
  await expectSignedOut(onA, 'node A to find the revoked session');
  await expectSignedOut(onB, 'node B to find the revoked session');
}, 60_000);

describe('with the memory engine (one process, no Redis)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ROLES: 'api,gateway', REDIS_URL: '' }, 'gwsessions-memory');
  });
  afterAll(async () => {
    await app?.stop();
  });

  test('logout closes the session’s sockets with the notice and keeps them out', async () => {
    const anon = new ApiClient(app.baseUrl);
    const carol = await registerUser(anon, 'carol');
    const kept = await anon.post('/auth/login', {
      login: carol.username,
      password: 'correct horse battery',
    });
    const ended = await connectSocket(app.baseUrl, carol.accessToken);
    const keptSocket = await connectSocket(app.baseUrl, kept.body.accessToken);
    sockets.push(ended, keptSocket);
    const endedLog = new EventLog(ended, ['server.draining', 'disconnect']);
    expect((await anon.post('/auth/logout', { refreshToken: carol.refreshToken })).status).toBe(
      204,
    );
    await endedLog.waitFor(
      (l) => l.of('disconnect').length > 0,
      CONDITION_TIMEOUT_MS,
      'the socket to close',
    );
    expect(endedLog.events.map((e) => [e.event, e.payload])).toEqual([
      ['server.draining', SIGNED_OUT],
      ['disconnect', 'io server disconnect'],
    ]);
    expect(keptSocket.connected).toBe(true);
    await expect(connectSocket(app.baseUrl, carol.accessToken)).rejects.toMatchObject({
      message: 'UNAUTHENTICATED',
    });
  });
});
