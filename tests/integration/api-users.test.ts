// Profiles, user search, push devices and notification preferences (PROTOCOL.md, REST).
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  device,
  expectError,
  expectNoSecrets,
  expectShape,
  expectStatus,
  ownUser,
  preferences,
  publicUser,
} from '../support/contract.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';

let t: TestApp;
let anon: ApiClient;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  t = await startTestApp({}, 'api_users');
  anon = new ApiClient(t.baseUrl);
  [alice, bob, carol] = await Promise.all([
    registerUser(anon, 'alice'),
    registerUser(anon, 'bob'),
    registerUser(anon, 'carol'),
  ]);
});
afterAll(async () => {
  await t.stop();
});

describe('users', () => {
  test('GET /users/me is the caller’s own profile with their email', async () => {
    const res = await alice.api.get('/users/me');
    expectStatus(res, 200);
    const me = expectShape(ownUser, res.body);
    expect(me).toMatchObject({
      id: alice.id,
      username: alice.username,
      email: `${alice.username}@example.test`,
    });
    expectNoSecrets(me);
  });

  test('PATCH /users/me changes only the given fields, and null clears', async () => {
    const first = await alice.api.patch('/users/me', {
      displayName: 'Alice A.',
      avatarUrl: 'https://cdn.example.test/a.png',
      statusMessage: 'busy',
    });
    expectStatus(first, 200);
    expect(expectShape(ownUser, first.body)).toMatchObject({
      displayName: 'Alice A.',
      avatarUrl: 'https://cdn.example.test/a.png',
      statusMessage: 'busy',
    });
    const second = await alice.api.patch('/users/me', { statusMessage: null });
    expectStatus(second, 200);
    expect(second.body).toMatchObject({
      displayName: 'Alice A.',
      avatarUrl: 'https://cdn.example.test/a.png',
      statusMessage: null,
    });
    const seenByBob = await bob.api.get(`/users/${alice.id}`);
    expect(seenByBob.body).toMatchObject({ displayName: 'Alice A.', statusMessage: null });
  });

  test.each([
    [{ displayName: '' }, 'body.displayName'],
    [{ displayName: 'x'.repeat(65) }, 'body.displayName'],
    [{ avatarUrl: 'javascript:alert(1)' }, 'body.avatarUrl'],
    [{ avatarUrl: 'not a url' }, 'body.avatarUrl'],
    [{ statusMessage: 'x'.repeat(281) }, 'body.statusMessage'],
    [{ email: 'new@example.test' }, 'body'],
    [{ username: 'renamed' }, 'body'],
  ])('PATCH /users/me %j is VALIDATION on %s', async (body, field) => {
    expectError(await alice.api.patch('/users/me', body), 'VALIDATION', field);
  });

  test('GET /users/:id is a public profile: no email, no hash', async () => {
    const res = await alice.api.get(`/users/${bob.id}`);
    expectStatus(res, 200);
    expect(expectShape(publicUser, res.body)).toMatchObject({ id: bob.id, username: bob.username });
    expectNoSecrets(res.body);
    expect(JSON.stringify(res.body)).not.toContain('@example.test');
  });

  test('GET /users/:id: unknown id is NOT_FOUND, a non-uuid is VALIDATION', async () => {
    expectError(await alice.api.get(`/users/${randomUUID()}`), 'NOT_FOUND');
    expectError(await alice.api.get('/users/12345'), 'VALIDATION', 'params.id');
  });

  test('GET /users searches username and display-name prefixes, exact username first', async () => {
    await carol.api.patch('/users/me', { displayName: `${bob.username} fan` });
    const res = await alice.api.get(`/users?q=${encodeURIComponent(bob.username.toUpperCase())}`);
    expectStatus(res, 200);
    expect(Object.keys(res.body)).toEqual(['users']);
    const users = res.body.users.map((u: unknown) => expectShape(publicUser, u));
    expect(users.map((u: { id: string }) => u.id)).toEqual([bob.id, carol.id]);
    expectNoSecrets(res.body);
  });

  test('GET /users: limit applies, LIKE wildcards are literal, bad limits are VALIDATION', async () => {
    const limited = await alice.api.get('/users?limit=2');
    expectStatus(limited, 200);
    expect(limited.body.users).toHaveLength(2);
    const wildcard = await alice.api.get('/users?q=%25');
    expectStatus(wildcard, 200);
    expect(wildcard.body.users).toEqual([]);
    expectError(await alice.api.get('/users?limit=0'), 'VALIDATION', 'query.limit');
    expectError(await alice.api.get('/users?limit=101'), 'VALIDATION', 'query.limit');
    expectError(await alice.api.get('/users?limit=ten'), 'VALIDATION', 'query.limit');
    expectError(await alice.api.get('/users?q=a&bogus=1'), 'VALIDATION');
  });

  test('every users route needs a token', async () => {
    for (const path of ['/users/me', `/users/${bob.id}`, '/users?q=a'])
      expectError(await anon.get(path), 'UNAUTHENTICATED');
    expectError(await anon.patch('/users/me', { displayName: 'x' }), 'UNAUTHENTICATED');
  });
});

describe('devices', () => {
  test('register, list, re-register moves the token, unregister', async () => {
    const token = `fcm-${randomUUID()}`;
    const created = await alice.api.post('/devices', { token, platform: 'android' });
    expectStatus(created, 201);
    expect(expectShape(device, created.body)).toMatchObject({ token, platform: 'android' });
    const list = await alice.api.get('/devices');
    expect(list.body.devices.map((d: { token: string }) => d.token)).toContain(token);

    // The phone changes hands: the token now belongs to bob only.
    expectStatus(await bob.api.post('/devices', { token, platform: 'android' }), 201);
    expect(
      (await alice.api.get('/devices')).body.devices.map((d: { token: string }) => d.token),
    ).not.toContain(token);
    expectError(await alice.api.delete(`/devices/${encodeURIComponent(token)}`), 'NOT_FOUND');

    const removed = await bob.api.delete(`/devices/${encodeURIComponent(token)}`);
    expectStatus(removed, 204);
    expectError(await bob.api.delete(`/devices/${encodeURIComponent(token)}`), 'NOT_FOUND');
  });

  test('invalid devices are VALIDATION', async () => {
    expectError(
      await alice.api.post('/devices', { token: 't', platform: 'windows' }),
      'VALIDATION',
      'body.platform',
    );
    expectError(
      await alice.api.post('/devices', { token: '', platform: 'ios' }),
      'VALIDATION',
      'body.token',
    );
    expectError(await alice.api.post('/devices', { platform: 'ios' }), 'VALIDATION', 'body.token');
    expectError(await anon.post('/devices', { token: 't', platform: 'ios' }), 'UNAUTHENTICATED');
  });
});

describe('notification preferences', () => {
  test('defaults, then partial updates that keep what is not listed', async () => {
    const initial = await carol.api.get('/notification-preferences');
    expectStatus(initial, 200);
    expect(expectShape(preferences, initial.body)).toEqual({
      muteAll: false,
      channels: {},
      email: 'all',
    });

    const a = (await carol.api.post('/channels', { name: 'prefs-a', type: 'public' })).body
      .id as string;
    const b = (await carol.api.post('/channels', { name: 'prefs-b', type: 'private' })).body
      .id as string;
    const first = await carol.api.put('/notification-preferences', {
      channels: { [a]: 'mentions' },
    });
    expectStatus(first, 200);
    expect(first.body).toEqual({ muteAll: false, channels: { [a]: 'mentions' }, email: 'all' });
    const second = await carol.api.put('/notification-preferences', {
      muteAll: true,
      channels: { [b]: 'none' },
    });
    expect(second.body).toEqual({
      muteAll: true,
      channels: { [a]: 'mentions', [b]: 'none' },
      email: 'all',
    });
    expect((await carol.api.get('/notification-preferences')).body).toEqual(second.body);
    // Someone else's preferences are untouched.
    expect((await bob.api.get('/notification-preferences')).body).toEqual({
      muteAll: false,
      channels: {},
      email: 'all',
    });
  });

  test('a channel the caller does not belong to is NOT_FOUND; bad levels are VALIDATION', async () => {
    const secret = (await bob.api.post('/channels', { name: 'bob-secret', type: 'private' })).body
      .id as string;
    expectError(
      await carol.api.put('/notification-preferences', { channels: { [secret]: 'all' } }),
      'NOT_FOUND',
    );
    expectError(
      await carol.api.put('/notification-preferences', { channels: { [secret]: 'loud' } }),
      'VALIDATION',
    );
    expectError(
      await carol.api.put('/notification-preferences', { channels: { 'not-a-uuid': 'all' } }),
      'VALIDATION',
    );
    expectError(
      await carol.api.put('/notification-preferences', { muteAll: 'yes' }),
      'VALIDATION',
      'body.muteAll',
    );
  });
});
