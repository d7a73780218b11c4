// Authorization matrix: every protected channel, member and message action, attempted by a
// non-member, a member, an admin and the owner of a public, a private and a direct channel.
// Each case gets a fresh channel, and a refused action must leave the channel as it was.
import { startTestApp, type TestApp } from '../support/app.js';
import { expectError, expectStatus, type ErrorCode } from '../support/contract.js';
import { ApiClient, registerUser, type HttpResult, type TestUser } from '../support/http-client.js';

let t: TestApp;
let cast: Record<
  'owner' | 'admin' | 'member' | 'outsider' | 'otherMember' | 'otherAdmin' | 'newcomer',
  TestUser
>;

beforeAll(async () => {
  t = await startTestApp(
    {
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      MESSAGE_RATE_PER_SECOND: '100000',
      MESSAGE_RATE_BURST: '100000',
    },
    'api_authz',
  );
  const anon = new ApiClient(t.baseUrl);
  const [owner, admin, member, outsider, otherMember, otherAdmin, newcomer] = await Promise.all(
    ['owner', 'admin', 'member', 'outsider', 'othermember', 'otheradmin', 'newcomer'].map((p) =>
      registerUser(anon, p),
    ),
  );
  cast = {
    owner: owner!,
    admin: admin!,
    member: member!,
    outsider: outsider!,
    otherMember: otherMember!,
    otherAdmin: otherAdmin!,
    newcomer: newcomer!,
  };
});
afterAll(async () => {
  await t.stop();
});

type Actor = 'nonMember' | 'member' | 'admin' | 'owner';
type Outcome = number | ErrorCode;

interface Scene {
  channelId: string;
  ownerMessageId: string;
  memberMessageId: string;
}

async function post(user: TestUser, path: string, body?: unknown): Promise<HttpResult> {
  return user.api.post(path, body);
}

/** A channel with an owner, two admins, two plain members and a message from the owner and from a member. */
async function stage(type: 'public' | 'private'): Promise<Scene> {
  const { owner, admin, member, otherMember, otherAdmin } = cast;
  const created = await post(owner, '/channels', {
    name: 'matrix',
    type,
    memberIds: [member.id, otherMember.id],
  });
  expectStatus(created, 201);
  const channelId = created.body.id as string;
  for (const user of [admin, otherAdmin])
    expectStatus(
      await post(owner, `/channels/${channelId}/members`, { userId: user.id, role: 'admin' }),
      201,
    );
  const ownerMessage = await post(owner, `/channels/${channelId}/messages`, {
    clientMsgId: 'o',
    content: 'from the owner',
  });
  const memberMessage = await post(otherMember, `/channels/${channelId}/messages`, {
    clientMsgId: 'm',
    content: 'from a member',
  });
  expectStatus(ownerMessage, 201);
  expectStatus(memberMessage, 201);
  return {
    channelId,
    ownerMessageId: ownerMessage.body.id,
    memberMessageId: memberMessage.body.id,
  };
}

/** A direct channel between the owner (who opened it) and the member. */
async function stageDirect(): Promise<Scene> {
  const { owner, member } = cast;
  // Direct channels are unique per pair: start from a clean pair each time.
  const existing = await post(owner, '/channels', { type: 'direct', memberIds: [member.id] });
  if (existing.status === 200)
    expectStatus(await owner.api.delete(`/channels/${existing.body.id}`), 204);
  const created =
    existing.status === 201
      ? existing
      : await post(owner, '/channels', { type: 'direct', memberIds: [member.id] });
  expectStatus(created, 201);
  const channelId = created.body.id as string;
  const ownerMessage = await post(owner, `/channels/${channelId}/messages`, {
    clientMsgId: 'o',
    content: 'from the owner',
  });
  const memberMessage = await post(member, `/channels/${channelId}/messages`, {
    clientMsgId: 'm',
    content: 'from the member',
  });
  return {
    channelId,
    ownerMessageId: ownerMessage.body.id,
    memberMessageId: memberMessage.body.id,
  };
}

/** Everything an action could change, as the owner sees it. */
async function snapshot(s: Scene): Promise<unknown> {
  const { owner } = cast;
  const [channel, members, messages] = await Promise.all([
    owner.api.get(`/channels/${s.channelId}`),
    owner.api.get(`/channels/${s.channelId}/members`),
    owner.api.get(`/channels/${s.channelId}/messages`),
  ]);
  return {
    channel: channel.body,
    members: members.body.members
      ?.map((m: { userId: string; role: string }) => `${m.userId}:${m.role}`)
      .sort(),
    messages: messages.body.messages?.map(
      (m: { id: string; content: string; deletedAt: string | null }) => [
        m.id,
        m.content,
        m.deletedAt,
      ],
    ),
  };
}

type Action = (user: TestUser, s: Scene) => Promise<HttpResult>;
const ACTIONS: Record<string, Action> = {
  'view the channel': (u, s) => u.api.get(`/channels/${s.channelId}`),
  'list members': (u, s) => u.api.get(`/channels/${s.channelId}/members`),
  'rename the channel': (u, s) => u.api.patch(`/channels/${s.channelId}`, { name: 'renamed' }),
  'describe the channel': (u, s) =>
    u.api.patch(`/channels/${s.channelId}`, { description: 'described' }),
  'delete the channel': (u, s) => u.api.delete(`/channels/${s.channelId}`),
  join: (u, s) => u.api.post(`/channels/${s.channelId}/join`),
  leave: (u, s) => u.api.post(`/channels/${s.channelId}/leave`),
  'add a member': (u, s) =>
    u.api.post(`/channels/${s.channelId}/members`, { userId: cast.newcomer.id }),
  'add an admin': (u, s) =>
    u.api.post(`/channels/${s.channelId}/members`, { userId: cast.newcomer.id, role: 'admin' }),
  'remove a plain member': (u, s) =>
    u.api.delete(`/channels/${s.channelId}/members/${cast.otherMember.id}`),
  'remove another admin': (u, s) =>
    u.api.delete(`/channels/${s.channelId}/members/${cast.otherAdmin.id}`),
  'remove the owner': (u, s) => u.api.delete(`/channels/${s.channelId}/members/${cast.owner.id}`),
  'remove the other party': (u, s) =>
    u.api.delete(
      `/channels/${s.channelId}/members/${u.id === cast.owner.id ? cast.member.id : cast.owner.id}`,
    ),
  'send a message': (u, s) =>
    u.api.post(`/channels/${s.channelId}/messages`, {
      clientMsgId: `new-${u.id}`,
      content: 'hello',
    }),
  'read history': (u, s) => u.api.get(`/channels/${s.channelId}/messages`),
  'mark read': (u, s) => u.api.post(`/channels/${s.channelId}/read`, { seq: 1 }),
  'get a message': (u, s) => u.api.get(`/messages/${s.memberMessageId}`),
  'edit a member’s message': (u, s) =>
    u.api.patch(`/messages/${s.memberMessageId}`, { content: 'rewritten' }),
  'edit the owner’s message': (u, s) =>
    u.api.patch(`/messages/${s.ownerMessageId}`, { content: 'rewritten' }),
  'delete a member’s message': (u, s) => u.api.delete(`/messages/${s.memberMessageId}`),
  'delete the owner’s message': (u, s) => u.api.delete(`/messages/${s.ownerMessageId}`),
};

const N = 'NOT_FOUND';
const F = 'FORBIDDEN';
// [nonMember, member, admin, owner]
const PRIVATE: Record<string, [Outcome, Outcome, Outcome, Outcome]> = {
  'view the channel': [N, 200, 200, 200],
  'list members': [N, 200, 200, 200],
  'rename the channel': [N, F, 200, 200],
  'describe the channel': [N, F, 200, 200],
  'delete the channel': [N, F, F, 204],
  join: [N, F, F, F],
  leave: [N, 204, 204, F],
  'add a member': [N, F, 201, 201],
  'add an admin': [N, F, F, 201],
  'remove a plain member': [N, F, 204, 204],
  'remove another admin': [N, F, F, 204],
  'remove the owner': [N, F, F, F],
  'send a message': [N, 201, 201, 201],
  'read history': [N, 200, 200, 200],
  'mark read': [N, 204, 204, 204],
  'get a message': [N, 200, 200, 200],
  'edit a member’s message': [N, F, F, F],
  'edit the owner’s message': [N, F, F, 200],
  'delete a member’s message': [N, F, 204, 204],
  'delete the owner’s message': [N, F, 204, 204],
};
// A public channel is visible to everyone and open to join; everything else needs membership.
const PUBLIC: Record<string, [Outcome, Outcome, Outcome, Outcome]> = {
  ...PRIVATE,
  'view the channel': [200, 200, 200, 200],
  'list members': [200, 200, 200, 200],
  'rename the channel': [F, F, 200, 200],
  'describe the channel': [F, F, 200, 200],
  'delete the channel': [F, F, F, 204],
  join: [200, 200, 200, 200],
  leave: [F, 204, 204, F],
  'add a member': [F, F, 201, 201],
  'add an admin': [F, F, F, 201],
  'remove a plain member': [F, F, 204, 204],
  'remove another admin': [F, F, F, 204],
  'remove the owner': [F, F, F, F],
  'send a message': [F, 201, 201, 201],
  'read history': [F, 200, 200, 200],
  'mark read': [F, 204, 204, 204],
};
// Direct channels: two fixed members, no name, nobody joins; the opener owns it. [nonMember, member, owner]
const DIRECT: Record<string, [Outcome, Outcome, Outcome]> = {
  'view the channel': [N, 200, 200],
  'list members': [N, 200, 200],
  'rename the channel': [N, F, F],
  'describe the channel': [N, F, 200],
  join: [N, F, F],
  leave: [N, F, F],
  'add a member': [N, F, F],
  'remove the other party': [N, F, F],
  'send a message': [N, 201, 201],
  'read history': [N, 200, 200],
  'mark read': [N, 204, 204],
  'get a message': [N, 200, 200],
  'edit the owner’s message': [N, F, 200],
  'delete the owner’s message': [N, F, 204],
  'delete the channel': [N, F, 204],
};

function userFor(actor: Actor): TestUser {
  return actor === 'nonMember' ? cast.outsider : cast[actor];
}

function expectOutcome(res: HttpResult, expected: Outcome): void {
  if (typeof expected === 'number') expectStatus(res, expected);
  else expectError(res, expected);
}

const ACTORS: Actor[] = ['nonMember', 'member', 'admin', 'owner'];
const rows = (type: 'public' | 'private', table: typeof PRIVATE) =>
  Object.entries(table).flatMap(([action, outcomes]) =>
    outcomes.map((expected, i) => [type, ACTORS[i]!, action, expected] as const),
  );

describe.each([
  ['private', PRIVATE],
  ['public', PUBLIC],
] as const)('%s channel', (type, table) => {
  test.each(rows(type, table))('%s: %s → %s → %s', async (_type, actor, action, expected) => {
    const scene = await stage(type);
    const before = await snapshot(scene);
    const res = await ACTIONS[action]!(userFor(actor), scene);
    expectOutcome(res, expected);
    if (typeof expected === 'string') expect(await snapshot(scene)).toEqual(before);
  });
});

describe('direct channel', () => {
  const directActors: Actor[] = ['nonMember', 'member', 'owner'];
  test.each(
    Object.entries(DIRECT).flatMap(([action, outcomes]) =>
      outcomes.map((expected, i) => [directActors[i]!, action, expected] as const),
    ),
  )('direct: %s → %s → %s', async (actor, action, expected) => {
    const scene = await stageDirect();
    const before = await snapshot(scene);
    const res = await ACTIONS[action]!(userFor(actor), scene);
    expectOutcome(res, expected);
    if (typeof expected === 'string') expect(await snapshot(scene)).toEqual(before);
  });
});
