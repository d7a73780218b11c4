// Channels, membership and direct conversations (PROTOCOL.md, REST: Channels).
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  channel,
  expectError,
  expectShape,
  expectStatus,
  listedChannel,
  member,
} from '../support/contract.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';

let t: TestApp;
let anon: ApiClient;
let owner: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;

beforeAll(async () => {
  t = await startTestApp({}, 'api_channels');
  anon = new ApiClient(t.baseUrl);
  [owner, bob, carol, dave] = await Promise.all([
    registerUser(anon, 'owner'),
    registerUser(anon, 'bob'),
    registerUser(anon, 'carol'),
    registerUser(anon, 'dave'),
  ]);
});
afterAll(async () => {
  await t.stop();
});

async function create(user: TestUser, body: Record<string, unknown>) {
  const res = await user.api.post('/channels', body);
  expectStatus(res, 201);
  return expectShape(channel, res.body);
}

describe('POST /channels', () => {
  test('creates a public channel with the creator as owner and the given members', async () => {
    const res = await owner.api.post('/channels', {
      name: 'general',
      type: 'public',
      description: 'everyone',
      memberIds: [bob.id, bob.id, owner.id],
    });
    expectStatus(res, 201);
    const c = expectShape(channel, res.body);
    expect(c).toMatchObject({
      name: 'general',
      type: 'public',
      description: 'everyone',
      createdBy: owner.id,
      lastSeq: 0,
      memberCount: 2,
    });
    const members = await owner.api.get(`/channels/${c.id}/members`);
    expectStatus(members, 200);
    expect(Object.keys(members.body)).toEqual(['members']);
    const roles = Object.fromEntries(
      members.body.members
        .map((m: unknown) => expectShape(member, m))
        .map((m: { userId: string; role: string }) => [m.userId, m.role]),
    );
    expect(roles).toEqual({ [owner.id]: 'owner', [bob.id]: 'member' });
  });

  test('description defaults to empty', async () => {
    const c = await create(owner, { name: 'quiet', type: 'private' });
    expect(c).toMatchObject({ description: '', type: 'private', memberCount: 1 });
  });

  test.each([
    ['no type', { name: 'x' }, 'body.type'],
    ['an unknown type', { name: 'x', type: 'secret' }, 'body.type'],
    ['a public channel without a name', { type: 'public' }, 'body.name'],
    ['a blank name', { name: '   ', type: 'public' }, 'body.name'],
    ['a name over 80 characters', { name: 'n'.repeat(81), type: 'public' }, 'body.name'],
    [
      'memberIds that are not uuids',
      { name: 'x', type: 'public', memberIds: ['bob'] },
      'body.memberIds.0',
    ],
    ['an unknown field', { name: 'x', type: 'public', ownerId: randomUUID() }, 'body'],
  ])('%s is VALIDATION', async (_what, body, field) => {
    expectError(await owner.api.post('/channels', body), 'VALIDATION', field);
  });

  test('an unknown member id is NOT_FOUND and creates nothing', async () => {
    const before = (await owner.api.get('/channels')).body.channels.length;
    expectError(
      await owner.api.post('/channels', {
        name: 'ghosts',
        type: 'private',
        memberIds: [randomUUID()],
      }),
      'NOT_FOUND',
    );
    expect((await owner.api.get('/channels')).body.channels).toHaveLength(before);
  });
});

describe('direct channels', () => {
  test('unique per pair: a second create in either direction returns the same channel with 200', async () => {
    const first = await owner.api.post('/channels', { type: 'direct', memberIds: [carol.id] });
    expectStatus(first, 201);
    const dm = expectShape(channel, first.body);
    expect(dm).toMatchObject({ type: 'direct', name: null, memberCount: 2 });

    const again = await owner.api.post('/channels', { type: 'direct', memberIds: [carol.id] });
    expectStatus(again, 200);
    expect(again.body.id).toBe(dm.id);
    const reverse = await carol.api.post('/channels', { type: 'direct', memberIds: [owner.id] });
    expectStatus(reverse, 200);
    expect(reverse.body.id).toBe(dm.id);

    const members = (await carol.api.get(`/channels/${dm.id}/members`)).body.members as {
      userId: string;
    }[];
    expect(members.map((m) => m.userId).sort()).toEqual([owner.id, carol.id].sort());
  });

  test('both users opening the conversation at once get one channel', async () => {
    const [a, b] = await Promise.all([
      bob.api.post('/channels', { type: 'direct', memberIds: [dave.id] }),
      dave.api.post('/channels', { type: 'direct', memberIds: [bob.id] }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.id).toBe(b.body.id);
    const dms = (await bob.api.get('/channels')).body.channels.filter(
      (c: { type: string }) => c.type === 'direct',
    );
    expect(dms.filter((c: { id: string }) => c.id === a.body.id)).toHaveLength(1);
  });

  test.each([
    ['no other member', () => ({ type: 'direct' }), 'VALIDATION'],
    ['only the caller', () => ({ type: 'direct', memberIds: [owner.id] }), 'VALIDATION'],
    ['two other members', () => ({ type: 'direct', memberIds: [bob.id, carol.id] }), 'VALIDATION'],
    ['a name', () => ({ type: 'direct', name: 'dm', memberIds: [bob.id] }), 'VALIDATION'],
    ['an unknown user', () => ({ type: 'direct', memberIds: [randomUUID()] }), 'NOT_FOUND'],
  ] as const)('with %s is refused', async (_what, body, code) => {
    expectError(await owner.api.post('/channels', body()), code);
  });

  test('membership is fixed and the name cannot be set', async () => {
    const dm = (await owner.api.post('/channels', { type: 'direct', memberIds: [carol.id] })).body
      .id as string;
    expectError(await owner.api.post(`/channels/${dm}/members`, { userId: bob.id }), 'FORBIDDEN');
    expectError(await owner.api.delete(`/channels/${dm}/members/${carol.id}`), 'FORBIDDEN');
    expectError(await carol.api.post(`/channels/${dm}/leave`), 'FORBIDDEN');
    expectError(await owner.api.patch(`/channels/${dm}`, { name: 'renamed' }), 'FORBIDDEN');
    expectError(await bob.api.get(`/channels/${dm}`), 'NOT_FOUND');
    expectError(await bob.api.post(`/channels/${dm}/join`), 'NOT_FOUND');
  });
});

describe('reading and changing channels', () => {
  test('GET /channels lists the caller’s channels only, each with unreadCount and lastSeq', async () => {
    const mine = await create(dave, { name: 'dave-only', type: 'private' });
    const res = await dave.api.get('/channels');
    expectStatus(res, 200);
    expect(Object.keys(res.body)).toEqual(['channels']);
    const listed = res.body.channels.map((c: unknown) => expectShape(listedChannel, c));
    expect(listed.map((c: { id: string }) => c.id)).toContain(mine.id);
    expect(listed.find((c: { id: string }) => c.id === mine.id)).toMatchObject({
      unreadCount: 0,
      lastSeq: 0,
    });
    expect(
      (await bob.api.get('/channels')).body.channels.map((c: { id: string }) => c.id),
    ).not.toContain(mine.id);
  });

  test('GET /channels/:id: public visible to all, private to members only, unknown is NOT_FOUND', async () => {
    const pub = await create(owner, { name: 'open', type: 'public' });
    const priv = await create(owner, { name: 'closed', type: 'private' });
    expect((await bob.api.get(`/channels/${pub.id}`)).body).toMatchObject({
      id: pub.id,
      name: 'open',
    });
    const hidden = expectError(await bob.api.get(`/channels/${priv.id}`), 'NOT_FOUND');
    const unknown = expectError(await bob.api.get(`/channels/${randomUUID()}`), 'NOT_FOUND');
    // A private channel looks exactly like one that does not exist.
    expect(hidden.error.message).toBe(unknown.error.message);
    expectError(await bob.api.get('/channels/not-a-uuid'), 'VALIDATION', 'params.id');
  });

  test('PATCH /channels/:id renames and describes; blank names are VALIDATION', async () => {
    const c = await create(owner, { name: 'old', type: 'public' });
    const res = await owner.api.patch(`/channels/${c.id}`, { name: 'new', description: 'fresh' });
    expectStatus(res, 200);
    expect(expectShape(channel, res.body)).toMatchObject({
      id: c.id,
      name: 'new',
      description: 'fresh',
    });
    expect((await owner.api.get(`/channels/${c.id}`)).body).toMatchObject({
      name: 'new',
      description: 'fresh',
    });
    expectError(
      await owner.api.patch(`/channels/${c.id}`, { name: '' }),
      'VALIDATION',
      'body.name',
    );
    expectError(
      await owner.api.patch(`/channels/${c.id}`, { type: 'private' }),
      'VALIDATION',
      'body',
    );
    expectError(await owner.api.patch(`/channels/${randomUUID()}`, { name: 'x' }), 'NOT_FOUND');
  });

  test('DELETE /channels/:id removes the channel and its history for everyone', async () => {
    const c = await create(owner, { name: 'doomed', type: 'private', memberIds: [bob.id] });
    const msg = await bob.api.post(`/channels/${c.id}/messages`, {
      clientMsgId: 'm1',
      content: 'bye',
    });
    expectStatus(msg, 201);
    const res = await owner.api.delete(`/channels/${c.id}`);
    expectStatus(res, 204);
    expect(res.body).toBeUndefined();
    expectError(await owner.api.get(`/channels/${c.id}`), 'NOT_FOUND');
    expectError(await bob.api.get(`/messages/${msg.body.id}`), 'NOT_FOUND');
    expect(
      (await bob.api.get('/channels')).body.channels.map((x: { id: string }) => x.id),
    ).not.toContain(c.id);
    expectError(await owner.api.delete(`/channels/${c.id}`), 'NOT_FOUND');
  });
});

describe('discovery and unknown endpoints', () => {
  test('GET /channels?scope=public lists public channels to join, with isMember, never private ones', async () => {
    const pub = await create(owner, { name: 'zz-discoverable', type: 'public' });
    const priv = await create(owner, { name: 'zz-hidden', type: 'private' });
    const res = await dave.api.get('/channels?scope=public&q=zz-');
    expectStatus(res, 200);
    const listed = res.body.channels.map((c: unknown) => expectShape(channel, c));
    expect(listed.map((c: { id: string }) => c.id)).toEqual([pub.id]);
    expect(res.body.channels[0].isMember).toBe(false);
    expect(listed.map((c: { id: string }) => c.id)).not.toContain(priv.id);
    expect((await owner.api.get('/channels?scope=public&q=zz-')).body.channels[0].isMember).toBe(
      true,
    );
    expectError(await dave.api.get('/channels?scope=everything'), 'VALIDATION', 'query.scope');
  });

  test('an unknown endpoint or method is NOT_FOUND in the contract format', async () => {
    expectError(await owner.api.get('/nothing-here'), 'NOT_FOUND');
    expectError(await owner.api.put('/channels', {}), 'NOT_FOUND');
    expectError(await anon.get('/nothing-here'), 'NOT_FOUND');
  });
});

describe('membership', () => {
  test('join a public channel (200 channel, idempotent), then leave (204)', async () => {
    const c = await create(owner, { name: 'lobby', type: 'public' });
    const joined = await carol.api.post(`/channels/${c.id}/join`);
    expectStatus(joined, 200);
    expect(expectShape(channel, joined.body)).toMatchObject({ id: c.id, memberCount: 2 });
    const again = await carol.api.post(`/channels/${c.id}/join`);
    expectStatus(again, 200);
    expect(again.body.memberCount).toBe(2);
    expect(
      (await carol.api.get('/channels')).body.channels.map((x: { id: string }) => x.id),
    ).toContain(c.id);

    const left = await carol.api.post(`/channels/${c.id}/leave`);
    expectStatus(left, 204);
    expect(
      (await carol.api.get('/channels')).body.channels.map((x: { id: string }) => x.id),
    ).not.toContain(c.id);
    expect((await owner.api.get(`/channels/${c.id}`)).body.memberCount).toBe(1);
    expectError(await carol.api.post(`/channels/${c.id}/leave`), 'FORBIDDEN');
  });

  test('a private channel cannot be joined and does not reveal itself', async () => {
    const c = await create(owner, { name: 'vault', type: 'private' });
    expectError(await carol.api.post(`/channels/${c.id}/join`), 'NOT_FOUND');
    expectError(await carol.api.post(`/channels/${randomUUID()}/join`), 'NOT_FOUND');
  });

  test('the owner cannot leave (they delete the channel instead)', async () => {
    const c = await create(owner, { name: 'mine', type: 'public' });
    expectError(await owner.api.post(`/channels/${c.id}/leave`), 'FORBIDDEN');
  });

  test('add a member (201 member), twice is CONFLICT, an unknown user is NOT_FOUND', async () => {
    const c = await create(owner, { name: 'team', type: 'private' });
    const added = await owner.api.post(`/channels/${c.id}/members`, { userId: bob.id });
    expectStatus(added, 201);
    expect(expectShape(member, added.body)).toMatchObject({
      userId: bob.id,
      username: bob.username,
      role: 'member',
    });
    const admin = await owner.api.post(`/channels/${c.id}/members`, {
      userId: carol.id,
      role: 'admin',
    });
    expectStatus(admin, 201);
    expect(admin.body.role).toBe('admin');
    expectError(await owner.api.post(`/channels/${c.id}/members`, { userId: bob.id }), 'CONFLICT');
    expectError(
      await owner.api.post(`/channels/${c.id}/members`, { userId: randomUUID() }),
      'NOT_FOUND',
    );
    expectError(
      await owner.api.post(`/channels/${c.id}/members`, { userId: dave.id, role: 'owner' }),
      'VALIDATION',
      'body.role',
    );
    expectError(
      await owner.api.post(`/channels/${c.id}/members`, { userId: 'dave' }),
      'VALIDATION',
      'body.userId',
    );
    // The new member now sees the private channel.
    expectStatus(await bob.api.get(`/channels/${c.id}`), 200);
  });

  test('remove a member (204); removing a non-member is NOT_FOUND; a member may remove themselves', async () => {
    const c = await create(owner, { name: 'crew', type: 'private', memberIds: [bob.id, carol.id] });
    const removed = await owner.api.delete(`/channels/${c.id}/members/${bob.id}`);
    expectStatus(removed, 204);
    expectError(await bob.api.get(`/channels/${c.id}`), 'NOT_FOUND');
    expectError(await owner.api.delete(`/channels/${c.id}/members/${bob.id}`), 'NOT_FOUND');
    expectStatus(await carol.api.delete(`/channels/${c.id}/members/${carol.id}`), 204);
    expect(
      (await owner.api.get(`/channels/${c.id}/members`)).body.members.map(
        (m: { userId: string }) => m.userId,
      ),
    ).toEqual([owner.id]);
    expectError(
      await owner.api.delete(`/channels/${c.id}/members/not-a-uuid`),
      'VALIDATION',
      'params.userId',
    );
  });

  test('members of a public channel are visible to non-members; of a private one, not', async () => {
    const pub = await create(owner, { name: 'town-square', type: 'public' });
    const priv = await create(owner, { name: 'back-room', type: 'private' });
    expectStatus(await dave.api.get(`/channels/${pub.id}/members`), 200);
    expectError(await dave.api.get(`/channels/${priv.id}/members`), 'NOT_FOUND');
  });

  test('every channel route needs a token', async () => {
    const id = randomUUID();
    for (const [method, path] of [
      ['GET', '/channels'],
      ['POST', '/channels'],
      ['GET', `/channels/${id}`],
      ['PATCH', `/channels/${id}`],
      ['DELETE', `/channels/${id}`],
      ['POST', `/channels/${id}/join`],
      ['POST', `/channels/${id}/leave`],
      ['GET', `/channels/${id}/members`],
      ['POST', `/channels/${id}/members`],
      ['DELETE', `/channels/${id}/members/${id}`],
    ] as const) {
      expectError(
        await anon.request(method, path, method === 'GET' || method === 'DELETE' ? undefined : {}),
        'UNAUTHENTICATED',
      );
    }
  });
});
