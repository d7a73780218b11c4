// Messages written together by one group-commit batch reach the sockets of another gateway node
// as one cluster event: every member still gets every message once, in seq order.
import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app.js';
import { connectSocket, EventLog } from '../support/sockets.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';
import type { Socket } from 'socket.io-client';

let writer: TestApp;
let reader: TestApp;
let alice: TestUser;
let bob: TestUser;
const sockets: Socket[] = [];

beforeAll(async () => {
  const env = {
    ROLES: 'api,gateway',
    REDIS_KEY_PREFIX: `bd${randomBytes(3).toString('hex')}:`,
    API_RATE_LIMIT_PER_MINUTE: '100000',
    MESSAGE_RATE_PER_SECOND: '100000',
    MESSAGE_RATE_BURST: '100000',
    CHANNEL_MESSAGE_RATE_PER_SECOND: '100000',
  };
  // The writing process batches as much as it can: one write at a time, a long window.
  writer = await startTestApp(
    { ...env, SEND_BATCH_MAX_IN_FLIGHT: '1', SEND_BATCH_MAX_WAIT_MS: '1000' },
    'batch_delivery',
  );
  reader = await startTestApp({ ...env, DATABASE_URL: writer.databaseUrl }, 'batch_delivery');
  const anon = new ApiClient(writer.baseUrl);
  [alice, bob] = (await Promise.all([registerUser(anon, 'alice'), registerUser(anon, 'bob')])) as [
    TestUser,
    TestUser,
  ];
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await reader?.stop();
  await writer?.stop();
});

async function metricsOf(
  app: TestApp,
): Promise<{ batches: number; sends: number; gapFills: number }> {
  const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    batches: value('signalink_send_batch_messages_count'),
    sends: value('signalink_send_batch_messages_sum'),
    gapFills: value('signalink_gateway_gap_fills_total'),
  };
}

test('a burst written in batches on one node reaches a member on the other node whole and in order', async () => {
  const channelId = (
    await alice.api.post('/channels', { name: 'batched', type: 'private', memberIds: [bob.id] })
  ).body.id as string;
  const socket = await connectSocket(reader.baseUrl, bob.accessToken);
  sockets.push(socket);
  const log = new EventLog(socket, ['message.new']);
  const before = await metricsOf(writer);
  const readerBefore = await metricsOf(reader);
  const sender = new ApiClient(writer.baseUrl, alice.accessToken);
  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      sender.post(`/channels/${channelId}/messages`, { clientMsgId: `m${i}`, content: `m${i}` }),
    ),
  );
  for (const r of results) expect(r.status).toBe(201);
  const after = await metricsOf(writer);
  // The burst really went out in batches of more than one.
  expect(after.sends - before.sends).toBe(60);
  expect(after.batches - before.batches).toBeLessThan(60);
  await log.waitFor(
    (l) => l.of('message.new').filter((m) => m.channelId === channelId).length >= 60,
    undefined,
    'all 60 messages on the other node',
  );
  const seqs = log
    .of('message.new')
    .filter((m) => m.channelId === channelId)
    .map((m) => m.seq);
  expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  // They came as broadcasts, not from the sequencer reading the gaps back from PostgreSQL.
  expect((await metricsOf(reader)).gapFills).toBe(readerBefore.gapFills);
});
