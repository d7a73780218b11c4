// Registration, login, access tokens and refresh-token sessions (PROTOCOL.md, REST: Auth).
import { decodeJwt, SignJWT } from 'jose';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  eventually,
  expectError,
  expectNoSecrets,
  expectShape,
  expectStatus,
  session,
  tokenPair,
} from '../support/contract.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';

let t: TestApp;
let anon: ApiClient;
let alice: TestUser;

beforeAll(async () => {
  t = await startTestApp({}, 'api_auth');
  anon = new ApiClient(t.baseUrl);
  alice = await registerUser(anon, 'alice');
});
afterAll(async () => {
  await t.stop();
});

async function login(loginName: string, password = 'correct horse battery') {
  const res = await anon.post('/auth/login', { login: loginName, password });
  expectStatus(res, 200);
  return expectShape(session, res.body);
}

describe('POST /auth/register', () => {
  test('creates the account and a session; the user has no hash', async () => {
    const res = await anon.post('/auth/register', {
      username: 'Registrant_1',
      email: 'Registrant1@Example.test',
      password: 'long enough password',
      displayName: 'Reg One',
    });
    expectStatus(res, 201);
    const body = expectShape(session, res.body);
    expect(body.user).toMatchObject({
      username: 'Registrant_1',
      displayName: 'Reg One',
      avatarUrl: null,
      statusMessage: null,
    });
    expect(body.user.email.toLowerCase()).toBe('registrant1@example.test');
    expectNoSecrets(body.user);
    const me = await anon.withToken(body.accessToken).get('/users/me');
    expectStatus(me, 200);
    expect(me.body.id).toBe(body.user.id);
  });

  test('displayName defaults to the username', async () => {
    const res = await anon.post('/auth/register', {
      username: 'no_display',
      email: 'nd@example.test',
      password: 'long enough password',
    });
    expectStatus(res, 201);
    expect(res.body.user.displayName).toBe('no_display');
  });

  test('a taken username or email is a CONFLICT naming the field, whatever the letter case', async () => {
    const sameName = await anon.post('/auth/register', {
      username: alice.username.toUpperCase(),
      email: 'other@example.test',
      password: 'long enough password',
    });
    expectError(sameName, 'CONFLICT');
    expect(sameName.body.error.details.fields.map((f: { path: string }) => f.path)).toEqual([
      'username',
    ]);
    const sameEmail = await anon.post('/auth/register', {
      username: 'fresh_name',
      email: `${alice.username.toUpperCase()}@EXAMPLE.test`,
      password: 'long enough password',
    });
    expectError(sameEmail, 'CONFLICT');
    expect(sameEmail.body.error.details.fields.map((f: { path: string }) => f.path)).toEqual([
      'email',
    ]);
  });

  test('concurrent registrations of one name: exactly one wins, the rest are CONFLICT', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        anon.post('/auth/register', {
          username: 'race_name',
          email: `race${i}@example.test`,
          password: 'long enough password',
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 201)) expectError(r, 'CONFLICT');
  });

  test.each([
    [{ email: 'x@example.test', password: 'long enough password' }, 'body.username'],
    [
      { username: 'ab', email: 'x@example.test', password: 'long enough password' },
      'body.username',
    ],
    [
      { username: 'has space', email: 'x@example.test', password: 'long enough password' },
      'body.username',
    ],
    [
      { username: 'goodname', email: 'not-an-email', password: 'long enough password' },
      'body.email',
    ],
    [{ username: 'goodname', email: 'x@example.test', password: 'short' }, 'body.password'],
    [
      {
        username: 'goodname',
        email: 'x@example.test',
        password: 'long enough password',
        displayName: '   ',
      },
      'body.displayName',
    ],
    [
      {
        username: 'goodname',
        email: 'x@example.test',
        password: 'long enough password',
        isAdmin: true,
      },
      'body',
    ],
  ])('invalid registration %j is VALIDATION on %s', async (body, field) => {
    expectError(await anon.post('/auth/register', body), 'VALIDATION', field);
  });
});

describe('POST /auth/login', () => {
  test('by username or by email, in any letter case', async () => {
    const byName = await login(alice.username.toUpperCase());
    expect(byName.user.id).toBe(alice.id);
    const byEmail = await login(`${alice.username}@example.test`);
    expect(byEmail.user.id).toBe(alice.id);
    expectNoSecrets(byEmail.user);
    // Each login is its own session with its own refresh token.
    expect(byEmail.refreshToken).not.toBe(byName.refreshToken);
  });

  test('a wrong password and an unknown login are the same UNAUTHENTICATED', async () => {
    const wrong = expectError(
      await anon.post('/auth/login', { login: alice.username, password: 'not the password' }),
      'UNAUTHENTICATED',
    );
    const unknown = expectError(
      await anon.post('/auth/login', { login: 'nobody_here', password: 'not the password' }),
      'UNAUTHENTICATED',
    );
    expect(unknown.error.message).toBe(wrong.error.message);
  });

  test('missing fields are VALIDATION', async () => {
    expectError(
      await anon.post('/auth/login', { login: alice.username }),
      'VALIDATION',
      'body.password',
    );
    expectError(await anon.post('/auth/login', { password: 'x' }), 'VALIDATION', 'body.login');
  });
});

describe('access tokens', () => {
  const JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';

  async function resign(
    token: string,
    secret: string,
    change: (claims: Record<string, unknown>) => void,
  ): Promise<string> {
    const claims = { ...decodeJwt(token) } as Record<string, unknown>;
    change(claims);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(secret));
  }

  test('the access token of a session reaches protected routes', async () => {
    expectStatus(await alice.api.get('/users/me'), 200);
  });

  test.each([
    ['no Authorization header', undefined],
    ['an empty bearer', 'Bearer '],
    ['a non-bearer scheme', 'Basic YWxpY2U6cGFzcw=='],
    ['a token without the scheme', 'TOKEN'],
    ['a malformed JWT', 'Bearer not.a.jwt'],
    ['random text', 'Bearer abcdefghijklmnopqrstuvwxyz'],
  ])('%s is UNAUTHENTICATED', async (_what, header) => {
    const value = header === 'TOKEN' ? alice.accessToken : header;
    const res = await anon.request(
      'GET',
      '/users/me',
      undefined,
      value === undefined ? {} : { headers: { authorization: value } },
    );
    expectError(res, 'UNAUTHENTICATED');
  });

  test('an expired token is UNAUTHENTICATED', async () => {
    const expired = await resign(alice.accessToken, JWT_SECRET, (c) => {
      c.iat = Math.floor(Date.now() / 1000) - 3600;
      c.exp = Math.floor(Date.now() / 1000) - 60;
    });
    expectError(await anon.withToken(expired).get('/users/me'), 'UNAUTHENTICATED');
  });

  test('a token signed with another secret is UNAUTHENTICATED', async () => {
    const forged = await resign(
      alice.accessToken,
      'another-secret-another-secret-another-secret',
      () => {},
    );
    expectError(await anon.withToken(forged).get('/users/me'), 'UNAUTHENTICATED');
  });

  test('a token whose claims were altered after signing is UNAUTHENTICATED', async () => {
    const [header, , signature] = alice.accessToken.split('.');
    const claims = { ...decodeJwt(alice.accessToken), sub: '00000000-0000-4000-8000-000000000000' };
    const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    expectError(await anon.withToken(tampered).get('/users/me'), 'UNAUTHENTICATED');
  });

  test('an unsigned token (alg none) is UNAUTHENTICATED', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(decodeJwt(alice.accessToken))).toString('base64url');
    expectError(await anon.withToken(`${header}.${payload}.`).get('/users/me'), 'UNAUTHENTICATED');
  });

  test('a refresh token is not an access token', async () => {
    expectError(await anon.withToken(alice.refreshToken).get('/users/me'), 'UNAUTHENTICATED');
  });
});

describe('refresh tokens', () => {
  test('rotation: each refresh token buys one new pair, and the new pair works', async () => {
    const s = await login(alice.username);
    const first = await anon.post('/auth/refresh', { refreshToken: s.refreshToken });
    expectStatus(first, 200);
    const pair1 = expectShape(tokenPair, first.body);
    expect(pair1.refreshToken).not.toBe(s.refreshToken);
    const me = await anon.withToken(pair1.accessToken).get('/users/me');
    expectStatus(me, 200);
    expect(me.body.id).toBe(alice.id);
    const second = await anon.post('/auth/refresh', { refreshToken: pair1.refreshToken });
    expectStatus(second, 200);
    expectShape(tokenPair, second.body);
  });

  test('reusing a rotated token revokes the whole family, access tokens included', async () => {
    const s = await login(alice.username);
    const other = await login(alice.username);
    const rotated = expectShape(
      tokenPair,
      (await anon.post('/auth/refresh', { refreshToken: s.refreshToken })).body,
    );
    expectStatus(await anon.withToken(rotated.accessToken).get('/users/me'), 200);

    // The old token comes back (a thief replaying it, or the owner after the thief rotated).
    expectError(
      await anon.post('/auth/refresh', { refreshToken: s.refreshToken }),
      'UNAUTHENTICATED',
    );
    // The newest token of that family stops working too...
    expectError(
      await anon.post('/auth/refresh', { refreshToken: rotated.refreshToken }),
      'UNAUTHENTICATED',
    );
    // ...and so do the family's access tokens, within a few seconds.
    const rejected = await eventually(
      async () => (await anon.withToken(rotated.accessToken).get('/users/me')).status === 401,
    );
    expect(rejected).toBe(true);
    expectError(await anon.withToken(s.accessToken).get('/users/me'), 'UNAUTHENTICATED');

    // Another session of the same user is not affected.
    expectStatus(await anon.withToken(other.accessToken).get('/users/me'), 200);
    expectStatus(await anon.post('/auth/refresh', { refreshToken: other.refreshToken }), 200);
  }, 30_000);

  test('concurrent refreshes with one token: at most one succeeds, and the family is then revoked', async () => {
    const s = await login(alice.username);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => anon.post('/auth/refresh', { refreshToken: s.refreshToken })),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBeLessThanOrEqual(1);
    for (const r of results.filter((r) => r.status !== 200)) expectError(r, 'UNAUTHENTICATED');
    for (const r of ok)
      expectError(
        await anon.post('/auth/refresh', { refreshToken: r.body.refreshToken }),
        'UNAUTHENTICATED',
      );
  });

  test('an unknown refresh token is UNAUTHENTICATED', async () => {
    expectError(
      await anon.post('/auth/refresh', { refreshToken: 'x'.repeat(43) }),
      'UNAUTHENTICATED',
    );
  });

  test('an expired refresh token is UNAUTHENTICATED', async () => {
    const s = await login(alice.username);
    // Expiry takes 30 days by default; age the stored token instead of waiting.
    await t.app.ctx
      .db('refresh_tokens')
      .where({ user_id: alice.id, rotated_at: null, revoked_at: null })
      .update({ expires_at: new Date(Date.now() - 1000) });
    expectError(
      await anon.post('/auth/refresh', { refreshToken: s.refreshToken }),
      'UNAUTHENTICATED',
    );
  });

  test('a bad refresh body is VALIDATION', async () => {
    expectError(await anon.post('/auth/refresh', {}), 'VALIDATION', 'body.refreshToken');
    expectError(
      await anon.post('/auth/refresh', { refreshToken: 42 }),
      'VALIDATION',
      'body.refreshToken',
    );
  });
});

describe('POST /auth/logout', () => {
  test('ends the session: its refresh token and, within seconds, its access token stop working', async () => {
    const s = await login(alice.username);
    const other = await login(alice.username);
    const res = await anon.post('/auth/logout', { refreshToken: s.refreshToken });
    expectStatus(res, 204);
    expect(res.body).toBeUndefined();
    expectError(
      await anon.post('/auth/refresh', { refreshToken: s.refreshToken }),
      'UNAUTHENTICATED',
    );
    expect(
      await eventually(
        async () => (await anon.withToken(s.accessToken).get('/users/me')).status === 401,
      ),
    ).toBe(true);
    expectStatus(await anon.withToken(other.accessToken).get('/users/me'), 200);
  }, 30_000);

  test('logging out a rotated-away session still ends it', async () => {
    const s = await login(alice.username);
    const pair = expectShape(
      tokenPair,
      (await anon.post('/auth/refresh', { refreshToken: s.refreshToken })).body,
    );
    expectStatus(await anon.post('/auth/logout', { refreshToken: pair.refreshToken }), 204);
    expectError(
      await anon.post('/auth/refresh', { refreshToken: pair.refreshToken }),
      'UNAUTHENTICATED',
    );
  });

  test('is idempotent and does not reveal whether a token existed', async () => {
    expectStatus(await anon.post('/auth/logout', { refreshToken: 'never-issued-token' }), 204);
    expectError(await anon.post('/auth/logout', {}), 'VALIDATION', 'body.refreshToken');
  });
});
