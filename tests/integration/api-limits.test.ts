// Rate limits and body size limits, made reachable with low settings (one app per setting).
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectError, expectStatus } from '../support/contract.js';
import { ApiClient, registerUser, type HttpResult, type TestUser } from '../support/http-client.js';

let loginApp: TestApp;
let apiApp: TestApp;
let messageApp: TestApp;
let registerApp: TestApp;

beforeAll(async () => {
  [loginApp, apiApp, messageApp, registerApp] = await Promise.all([
    startTestApp({ LOGIN_ATTEMPTS_PER_15_MINUTES: '3' }, 'limits_login'),
    startTestApp({ API_RATE_LIMIT_PER_MINUTE: '15', HTTP_BODY_LIMIT_BYTES: '1024' }, 'limits_api'),
    startTestApp({ MESSAGE_RATE_PER_SECOND: '2', MESSAGE_RATE_BURST: '1' }, 'limits_messages'),
    startTestApp(
      { REGISTRATIONS_PER_HOUR_PER_IP: '3', CHANNEL_MESSAGE_RATE_PER_SECOND: '3' },
      'limits_register',
    ),
  ]);
});
afterAll(async () => {
  await Promise.all([loginApp, apiApp, messageApp, registerApp].map((a) => a?.stop()));
});

/** RATE_LIMITED with a positive retryAfterMs no longer than the window, mirrored in Retry-After. */
function expectRateLimited(res: HttpResult, windowMs: number): void {
  const body = expectError(res, 'RATE_LIMITED');
  const retryAfterMs = (body.error.details as { retryAfterMs: number }).retryAfterMs;
  expect(retryAfterMs).toBeLessThanOrEqual(windowMs);
  expect(res.headers.get('retry-after')).toBe(String(Math.ceil(retryAfterMs / 1000)));
}

describe('login attempts (LOGIN_ATTEMPTS_PER_15_MINUTES=3)', () => {
  let anon: ApiClient;
  let user: TestUser;
  beforeAll(async () => {
    anon = new ApiClient(loginApp.baseUrl);
    user = await registerUser(anon, 'target');
  });

  test('after 3 failures even the right password is RATE_LIMITED; other accounts are not', async () => {
    for (let i = 0; i < 3; i += 1)
      expectError(
        await anon.post('/auth/login', { login: user.username, password: 'wrong password' }),
        'UNAUTHENTICATED',
      );
    expectRateLimited(
      await anon.post('/auth/login', { login: user.username, password: 'correct horse battery' }),
      15 * 60_000,
    );
    // Neither letter case nor the account's email gives an attacker fresh attempts.
    expectRateLimited(
      await anon.post('/auth/login', {
        login: user.username.toUpperCase(),
        password: 'correct horse battery',
      }),
      15 * 60_000,
    );
    expectRateLimited(
      await anon.post('/auth/login', {
        login: `${user.username}@example.test`,
        password: 'correct horse battery',
      }),
      15 * 60_000,
    );

    const other = await registerUser(anon, 'bystander');
    expectStatus(
      await anon.post('/auth/login', { login: other.username, password: 'correct horse battery' }),
      200,
    );
  });

  test('a successful login forgets earlier failures', async () => {
    const other = await registerUser(anon, 'forgetful');
    for (let i = 0; i < 2; i += 1)
      expectError(
        await anon.post('/auth/login', { login: other.username, password: 'wrong password' }),
        'UNAUTHENTICATED',
      );
    expectStatus(
      await anon.post('/auth/login', { login: other.username, password: 'correct horse battery' }),
      200,
    );
    for (let i = 0; i < 3; i += 1)
      expectError(
        await anon.post('/auth/login', { login: other.username, password: 'wrong password' }),
        'UNAUTHENTICATED',
      );
    expectRateLimited(
      await anon.post('/auth/login', { login: other.username, password: 'wrong password' }),
      15 * 60_000,
    );
  });
});

describe('API requests (API_RATE_LIMIT_PER_MINUTE=15)', () => {
  test('a user gets exactly 15 requests a minute; another user is unaffected', async () => {
    const anon = new ApiClient(apiApp.baseUrl);
    const [a, b] = await Promise.all([registerUser(anon, 'busy'), registerUser(anon, 'calm')]);
    const statuses: number[] = [];
    for (let i = 0; i < 15; i += 1) statuses.push((await a.api.get('/users/me')).status);
    expect(statuses).toEqual(Array(15).fill(200));
    expectRateLimited(await a.api.get('/users/me'), 60_000);
    expectRateLimited(await a.api.post('/channels', { name: 'x', type: 'public' }), 60_000);
    expectStatus(await b.api.get('/users/me'), 200);
  });

  test('anonymous requests are limited per address', async () => {
    // Registrations above already took points from this address; count what is left.
    const anon = new ApiClient(apiApp.baseUrl);
    let allowed = 0;
    let res: HttpResult;
    for (;;) {
      res = await anon.post('/auth/refresh', { refreshToken: randomUUID() });
      if (res.status === 429 || allowed > 20) break;
      expectError(res, 'UNAUTHENTICATED');
      allowed += 1;
    }
    expect(allowed).toBe(15 - 2);
    expectRateLimited(res, 60_000);
  });
});

describe('body size (HTTP_BODY_LIMIT_BYTES=1024)', () => {
  test('a body over the limit is PAYLOAD_TOO_LARGE, before anything else is looked at', async () => {
    const anon = new ApiClient(apiApp.baseUrl);
    const big = { username: 'x', email: 'y', password: 'z'.repeat(2000) };
    expectError(await anon.post('/auth/register', big), 'PAYLOAD_TOO_LARGE');
    expectError(
      await anon.request(
        'PATCH',
        '/users/me',
        { statusMessage: 's'.repeat(2000) },
        { headers: { authorization: 'Bearer x' } },
      ),
      'PAYLOAD_TOO_LARGE',
    );
  });
});

describe('messages per user (MESSAGE_RATE_PER_SECOND=2, burst 1)', () => {
  test('a burst is cut off with RATE_LIMITED; what was accepted is gap-free; retries of accepted messages still answer', async () => {
    const anon = new ApiClient(messageApp.baseUrl);
    const user = await registerUser(anon, 'chatty');
    const channelId = (await user.api.post('/channels', { name: 'burst', type: 'private' })).body
      .id as string;
    // 20 at once: at 2 a second the limit answers even if a loaded machine spreads them over
    // several seconds.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        user.api.post(`/channels/${channelId}/messages`, {
          clientMsgId: `b${i}`,
          content: `burst ${i}`,
        }),
      ),
    );
    const accepted = results.filter((r) => r.status === 201);
    const limited = results.filter((r) => r.status === 429);
    expect(accepted.length + limited.length).toBe(20);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) expectRateLimited(r, 10_000);

    const page = await user.api.get(`/channels/${channelId}/messages`);
    expect(page.body.messages.map((m: { seq: number }) => m.seq)).toEqual(
      accepted.map((_, i) => i + 1),
    );

    // A client retrying an accepted message must learn it was stored, limit or not.
    const first = accepted[0]!.body;
    const retry = await user.api.post(`/channels/${channelId}/messages`, {
      clientMsgId: first.clientMsgId,
      content: first.content,
    });
    expectStatus(retry, 200);
    expect(retry.body.id).toBe(first.id);
  });
});

describe('registrations per address (REGISTRATIONS_PER_HOUR_PER_IP=3) and messages per channel (CHANNEL_MESSAGE_RATE_PER_SECOND=3)', () => {
  let users: TestUser[];

  test('the 4th registration from one address is RATE_LIMITED', async () => {
    const anon = new ApiClient(registerApp.baseUrl);
    users = [];
    for (let i = 0; i < 3; i += 1) users.push(await registerUser(anon, 'member'));
    const res = await anon.post('/auth/register', {
      username: 'one_too_many',
      email: 'many@example.test',
      password: 'long enough password',
    });
    expectRateLimited(res, 3600_000);
  });

  test('senders each within their own limit are still held to the channel’s', async () => {
    const [owner, ...others] = users;
    const channelId = (
      await owner!.api.post('/channels', {
        name: 'busy-room',
        type: 'public',
        memberIds: others.map((u) => u.id),
      })
    ).body.id as string;
    // Eight each: within every sender's own limit (10 a second), 24 in all against the
    // channel's 3 a second, so the channel's limit answers however the machine spreads them.
    const results = await Promise.all(
      users.flatMap((u) =>
        [0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
          u.api.post(`/channels/${channelId}/messages`, {
            clientMsgId: `c${i}`,
            content: `from ${u.username}`,
          }),
        ),
      ),
    );
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) expectRateLimited(r, 1000);
    expect(results.filter((r) => r.status === 201).length + limited.length).toBe(24);
  });
});
