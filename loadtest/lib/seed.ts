import { randomUUID } from 'node:crypto';
import knexFactory from 'knex';
import { SignJWT } from 'jose';

export interface LoadUser {
  id: string;
  username: string;
  /** The channels this user belongs to (rooms to join on connect). */
  channelIds: string[];
}

export interface Population {
  users: LoadUser[];
  /** channelId → member user ids, in the order they were added. */
  channels: Map<string, string[]>;
}

/**
 * Builds `channelCount` channels of `membersPerChannel` distinct users each (plus
 * `loneUsers` users in no channel) in memory; `writePopulation` stores it for Signalink and
 * the baseline reads the same ids from the handshake.
 */
export function makePopulation(
  tag: string,
  channelCount: number,
  membersPerChannel: number,
): Population {
  const users: LoadUser[] = [];
  const channels = new Map<string, string[]>();
  for (let c = 0; c < channelCount; c++) {
    const channelId = randomUUID();
    const members: string[] = [];
    for (let m = 0; m < membersPerChannel; m++) {
      const user = { id: randomUUID(), username: `${tag}_${c}_${m}`, channelIds: [channelId] };
      users.push(user);
      members.push(user.id);
    }
    channels.set(channelId, members);
  }
  return { users, channels };
}

const CHUNK = 1000;

/**
 * Inserts users, channels and memberships straight into PostgreSQL: thousands of argon2
 * registrations through the API would take longer than the benchmark itself and measure
 * nothing the scenarios care about.
 */
export async function writePopulation(databaseUrl: string, population: Population): Promise<void> {
  const db = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 2 } });
  try {
    const users = population.users.map((u) => ({
      id: u.id,
      username: u.username,
      email: `${u.username}@loadtest.invalid`,
      password_hash: 'not-a-password-hash',
      display_name: u.username,
    }));
    for (let i = 0; i < users.length; i += CHUNK)
      await db('users').insert(users.slice(i, i + CHUNK));
    const channels = [...population.channels.entries()].map(([id, members], i) => ({
      id,
      type: 'private',
      name: `load-${i}`,
      created_by: members[0]!,
    }));
    for (let i = 0; i < channels.length; i += CHUNK)
      await db('channels').insert(channels.slice(i, i + CHUNK));
    const memberships = [...population.channels.entries()].flatMap(([channelId, members]) =>
      members.map((userId, i) => ({
        channel_id: channelId,
        user_id: userId,
        role: i === 0 ? 'owner' : 'member',
      })),
    );
    for (let i = 0; i < memberships.length; i += CHUNK)
      await db('channel_members').insert(memberships.slice(i, i + CHUNK));
  } finally {
    await db.destroy();
  }
}

/**
 * Mints access tokens exactly as services/core/auth/access-tokens.ts issues them, or (with
 * `centrifugo`) Centrifugo connection tokens: the user id as `sub`, an expiry, nothing else.
 */
export async function mintTokens(
  secret: string,
  users: LoadUser[],
  ttlSeconds = 4 * 3600,
  options: { centrifugo?: boolean } = {},
): Promise<Map<string, string>> {
  const key = new TextEncoder().encode(secret);
  const tokens = new Map<string, string>();
  for (const u of users) {
    const jwt = options.centrifugo
      ? new SignJWT({})
      : new SignJWT({ username: u.username, sid: randomUUID(), typ: 'access' })
          .setIssuer('signalink')
          .setAudience('signalink');
    const token = await jwt
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(u.id)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(key);
    tokens.set(u.id, token);
  }
  return tokens;
}
