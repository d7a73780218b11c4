// The analytics REST API and its access rules, in embedded mode (in-process event bus).
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../../support/app.js';
import { CONDITION_TIMEOUT_MS } from '../../support/deadlines.js';
import { ApiClient, registerUser, type TestUser } from '../../support/http-client.js';
import { waitUntil } from './kafka-support.js';

let t: TestApp;
let admin: ApiClient;
let ann: TestUser;
let ben: TestUser;
let eve: TestUser;
let shared: string; // ann (owner) and ben, public
let secret: string; // ann only, private
let annOnly: string; // ann only, public
const adminName = `boss_${randomUUID().slice(0, 6)}`;

async function send(user: TestUser, channelId: string, content: string): Promise<{ seq: number }> {
  const res = await user.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: randomUUID(),
    content,
  });
  expect(res.status).toBe(201);
  return res.body as { seq: number };
}

beforeAll(async () => {
  t = await startTestApp(
    { ROLES: 'api,relay,analytics', ADMIN_USERNAMES: adminName },
    'analytics-api',
  );
  const anon = new ApiClient(t.baseUrl);
  const res = await anon.post('/auth/register', {
    username: adminName,
    email: `${adminName}@example.test`,
    password: 'correct horse battery',
  });
  admin = anon.withToken(res.body.accessToken as string);
  [ann, ben, eve] = [
    await registerUser(anon, 'ann'),
    await registerUser(anon, 'ben'),
    await registerUser(anon, 'eve'),
  ];
  shared = (
    await ann.api.post('/channels', {
      name: `shared-${randomUUID().slice(0, 6)}`,
      type: 'public',
      memberIds: [ben.id],
    })
  ).body.id;
  secret = (
    await ann.api.post('/channels', { name: `secret-${randomUUID().slice(0, 6)}`, type: 'private' })
  ).body.id;
  annOnly = (
    await ann.api.post('/channels', { name: `solo-${randomUUID().slice(0, 6)}`, type: 'public' })
  ).body.id;
  for (let i = 0; i < 3; i++) await send(ann, shared, `hi ${i}`);
  const last = await send(ben, shared, 'hello @ann');
  for (let i = 0; i < 5; i++) await send(ann, secret, `note ${i}`);
  await send(ann, annOnly, 'solo');
  expect((await ann.api.post(`/channels/${shared}/read`, { seq: last.seq })).status).toBe(204);
  await waitUntil(
    async () => (await admin.get('/analytics/overview')).body?.totals?.messages === 10,
    20_000,
    'analytics to count 10 messages',
  );
  await waitUntil(
    async () => (await admin.get(`/analytics/channels/${shared}`)).body?.totals?.receipts === 1,
    20_000,
    'the receipt',
  );
});
afterAll(async () => {
  await t.stop();
});

test('a member sees the stats of their channel', async () => {
  const res = await ben.api.get(`/analytics/channels/${shared}`);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    channelId: shared,
    totals: { messages: 4, senders: 2, receipts: 1 },
    lastHour: { messages: 4 },
  });
});

test('a private channel is not found for outsiders and a public one is forbidden; admins see both', async () => {
  expect((await eve.api.get(`/analytics/channels/${secret}`)).body.error.code).toBe('NOT_FOUND');
  const forbidden = await eve.api.get(`/analytics/channels/${shared}`);
  expect(forbidden.status).toBe(403);
  expect(forbidden.body.error.code).toBe('FORBIDDEN');
  expect((await admin.get(`/analytics/channels/${secret}`)).body.totals.messages).toBe(5);
  expect((await admin.get(`/analytics/channels/${randomUUID()}`)).status).toBe(404);
});

test('users see their own stats; other users only admins', async () => {
  expect((await ann.api.get(`/analytics/users/${ann.id}`)).body).toEqual({
    userId: ann.id,
    totals: { messages: 9 },
    lastHour: { messages: 9 },
  });
  expect((await ben.api.get(`/analytics/users/${ann.id}`)).status).toBe(403);
  expect((await admin.get(`/analytics/users/${ben.id}`)).body.totals.messages).toBe(1);
  expect((await admin.get(`/analytics/users/${randomUUID()}`)).status).toBe(404);
});

test('the overview covers the caller’s channels, or everything for an admin', async () => {
  const mine = await ben.api.get('/analytics/overview');
  expect(mine.body).toEqual({
    totals: { messages: 4, users: 2, channels: 1 },
    lastHour: { messages: 4, messagesPerSecond: 0.001, activeUsers: 2 },
  });
  const outsider = await eve.api.get('/analytics/overview');
  expect(outsider.body.totals).toEqual({ messages: 0, users: 0, channels: 0 });
  const all = await admin.get('/analytics/overview');
  expect(all.body.totals).toEqual({ messages: 10, users: 4, channels: 3 });
  expect(all.body.lastHour).toEqual({ messages: 10, messagesPerSecond: 0.003, activeUsers: 2 });
  expect(all.body.connections).toEqual({
    current: expect.any(Number),
    peakLastHour: expect.any(Number),
  });
});

test('presence events published by a role show up as connections for admins', async () => {
  const before = (await admin.get('/analytics/overview')).body.connections.current as number;
  t.app.ctx.events.presenceChanged({ userId: eve.id, status: 'online' });
  await waitUntil(
    async () => (await admin.get('/analytics/overview')).body.connections.current === before + 1,
    CONDITION_TIMEOUT_MS,
    'eve online',
  );
  t.app.ctx.events.presenceChanged({ userId: eve.id, status: 'offline' });
  await waitUntil(
    async () => (await admin.get('/analytics/overview')).body.connections.current === before,
    CONDITION_TIMEOUT_MS,
    'eve offline',
  );
  expect(
    (await admin.get('/analytics/overview')).body.connections.peakLastHour,
  ).toBeGreaterThanOrEqual(before + 1);
});

test('time series are zero-filled per bucket and scoped like the rest', async () => {
  const to = new Date();
  const from = new Date(to.getTime() - 4 * 60_000);
  const res = await ann.api.get(
    `/analytics/timeseries?metric=messages&bucket=minute&from=${from.toISOString()}&to=${to.toISOString()}`,
  );
  expect(res.status).toBe(200);
  expect(res.body.metric).toBe('messages');
  expect(res.body.points).toHaveLength(5);
  expect(res.body.points.reduce((s: number, p: { value: number }) => s + p.value, 0)).toBe(10);
  for (let i = 1; i < res.body.points.length; i++)
    expect(Date.parse(res.body.points[i].t) - Date.parse(res.body.points[i - 1].t)).toBe(60_000);

  const benView = await ben.api.get(
    `/analytics/timeseries?metric=activeUsers&bucket=hour&channelId=${shared}`,
  );
  expect(benView.body.points).toHaveLength(24);
  expect(benView.body.points.at(-1).value).toBe(2);
  expect((await ben.api.get(`/analytics/timeseries?channelId=${secret}`)).status).toBe(404);
});

test('top channels are ordered by messages and limited to what the caller may see', async () => {
  expect((await admin.get('/analytics/top-channels?limit=2')).body).toEqual({
    channels: [
      { channelId: secret, messages: 5 },
      { channelId: shared, messages: 4 },
    ],
  });
  expect((await ben.api.get('/analytics/top-channels')).body).toEqual({
    channels: [{ channelId: shared, messages: 4 }],
  });
});

test('bad parameters are VALIDATION errors and a missing token is UNAUTHENTICATED', async () => {
  for (const path of [
    '/analytics/timeseries?metric=bananas',
    '/analytics/timeseries?bucket=week',
    '/analytics/timeseries?from=yesterday',
    `/analytics/timeseries?from=${new Date().toISOString()}&to=${new Date(Date.now() - 3_600_000).toISOString()}`,
    `/analytics/timeseries?bucket=minute&from=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`,
    '/analytics/timeseries?surprise=1',
    '/analytics/top-channels?limit=0',
    '/analytics/channels/not-a-uuid',
  ]) {
    const res = await ann.api.get(path);
    expect({ path, status: res.status, code: res.body.error?.code }).toEqual({
      path,
      status: 400,
      code: 'VALIDATION',
    });
  }
  const anonymous = await new ApiClient(t.baseUrl).get('/analytics/overview');
  expect(anonymous.status).toBe(401);
  expect(anonymous.body.error.code).toBe('UNAUTHENTICATED');
});
