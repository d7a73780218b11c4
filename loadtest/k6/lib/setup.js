// Shared setup(): accounts and channels through the REST API, and the run's identity.
import { createChannel, registerOrLogin, registerUsers } from './rest.js';
import { envString } from './env.js';

export const PASSWORD = envString('PASSWORD', 'signalink-load-test');

/** A short id for this run; names of accounts and channels start with it. */
export function newRunId() {
  return envString(
    'RUN_ID',
    `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`,
  );
}

/**
 * Registers `userCount` users and an owner, and creates one channel per entry of
 * `membersOfChannel` (each a list of user indexes), owned by the owner. USER_PREFIX reuses
 * accounts across runs (a second run logs in instead of registering).
 */
export function setUp(baseUrl, runId, userCount, membersOfChannel) {
  const prefix = envString('USER_PREFIX', `k6${runId}`);
  const owner = registerOrLogin(baseUrl, `${prefix}-owner`, PASSWORD);
  const users = registerUsers(baseUrl, prefix, userCount, PASSWORD);
  const channels = membersOfChannel.map((members, i) => ({
    id: createChannel(
      baseUrl,
      owner.token,
      `${runId} load ${i}`,
      members.map((u) => users[u].id),
    ),
    members,
  }));
  return { runId, baseUrl, owner, users, channels, startedAt: new Date().toISOString() };
}

/** Channels of `size` members over `userCount` users, each user in about the same number. */
export function spreadMembers(channelCount, size, userCount) {
  const channels = [];
  for (let c = 0; c < channelCount; c += 1) {
    const members = [];
    for (let j = 0; j < size; j += 1) members.push((c * size + j) % userCount);
    channels.push(members.filter((u, i) => members.indexOf(u) === i));
  }
  return channels;
}

/** The channel ids each user belongs to. */
export function channelsByUser(setupData) {
  const byUser = setupData.users.map(() => []);
  for (const channel of setupData.channels)
    for (const u of channel.members) byUser[u].push(channel.id);
  return byUser;
}

/** The slice of `count` items that VU slot `slot` of `slots` owns (round-robin). */
export function sliceFor(slot, slots, count) {
  const mine = [];
  for (let i = slot; i < count; i += slots) mine.push(i);
  return mine;
}
