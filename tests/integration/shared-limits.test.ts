// The sending limits are counted in each process and reconciled through Redis: a user who
// used their burst through one process finds it used through another, and an idle Redis
// round trip is not needed for sends far below the limit.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startTestApp, type TestApp } from '../support/app.js';
import { CONDITION_TIMEOUT_MS } from '../support/deadlines.js';
import { requiredEnv } from '../support/env.js';
import { ApiClient, registerUser, type HttpResult, type TestUser } from '../support/http-client.js';

let a: TestApp;
let b: TestApp;
let redis: Redis;
const prefix = `sl${randomBytes(3).toString('hex')}:`;

beforeAll(async () => {
  // One message a second, plus a burst of 3 over 10 s; both processes share Redis and its keys.
  const env = {
    REDIS_KEY_PREFIX: prefix,
    MESSAGE_RATE_PER_SECOND: '1',
    MESSAGE_RATE_BURST: '3',
    API_RATE_LIMIT_PER_MINUTE: '100000',
  };
  a = await startTestApp(env, 'shared_limits');
  b = await startTestApp({ ...env, DATABASE_URL: a.databaseUrl }, 'shared_limits');
  redis = new Redis(requiredEnv('REDIS_URL'));
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await b?.stop();
  await a?.stop();
});

const sendAll = (app: TestApp, user: TestUser, channelId: string, ids: string[]) =>
  Promise.all(
    ids.map((id) =>
      new ApiClient(app.baseUrl, user.accessToken).post(`/channels/${channelId}/messages`, {
        clientMsgId: id,
        content: id,
      }),
    ),
  );
const accepted = (rs: HttpResult[]) => rs.filter((r) => r.status === 201).length;

test('a burst used up through one process is used up for the other', async () => {
  const user = await registerUser(new ApiClient(a.baseUrl), 'limited');
  const channelId = (await user.api.post('/channels', { name: 'limits', type: 'private' })).body.id;

  const first = await sendAll(a, user, channelId, ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
  for (const r of first) expect([201, 429]).toContain(r.status);
  // The second's window plus the whole burst; more only if the 1-s window rolled over.
  expect(accepted(first)).toBeGreaterThanOrEqual(4);
  expect(accepted(first)).toBeLessThanOrEqual(5);

  // The process asked Redis for the last points of the burst: they are counted there.
  const burstKey = `${prefix}rl:message:burst:${user.id}`;
  const deadline = Date.now() + CONDITION_TIMEOUT_MS;
  while (Number((await redis.get(burstKey)) ?? 0) < 3) {
    if (Date.now() > deadline) throw new Error(`${burstKey} never reached 3 in Redis`);
    await new Promise((r) => setTimeout(r, 50));
  }

  // The other process has not seen this user yet. It may give out one point of its own share
  // of the burst and a new second's point, never the burst again (which it would alone: 4).
  const second = await sendAll(b, user, channelId, ['b1', 'b2', 'b3', 'b4']);
  for (const r of second) expect([201, 429]).toContain(r.status);
  expect(accepted(second)).toBeLessThanOrEqual(2);
  const limited = second.find((r) => r.status === 429)!;
  expect(limited.body.error.details.retryAfterMs).toBeGreaterThan(0);
});
