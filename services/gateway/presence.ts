import type { PresenceReader, PresenceState, PresenceStatus } from '../chat/presence.js';
import type { Redis } from '../core/redis.js';

/** Default time a connection counts as live without a heartbeat; heartbeats come every TTL/3. */
export const DEFAULT_PRESENCE_TTL_MS = 30_000;

export interface PresenceChange {
  userId: string;
  status: PresenceStatus;
  lastSeenAt: string;
}

/**
 * Connection-level presence: a user is online while any of their sockets on any node is live.
 * A socket is live until it disconnects or its node stops refreshing it for the presence TTL
 * (the node died), after which a sweep on any surviving node reports the user offline.
 */
export interface PresenceStore extends PresenceReader {
  readonly ttlMs: number;
  /** Records a socket; returns the change to broadcast when the user was offline before. */
  connect(userId: string, socketId: string): Promise<PresenceChange | undefined>;
  /** Forgets a socket; returns the change to broadcast when it was the user's last one. */
  disconnect(userId: string, socketId: string): Promise<PresenceChange | undefined>;
  /** Refreshes the live sockets of this node. */
  heartbeat(sockets: { userId: string; socketId: string }[]): Promise<void>;
  /** Sets online/away for a connected user; returns the change if the status moved. */
  setStatus(userId: string, status: 'online' | 'away'): Promise<PresenceChange | undefined>;
  /** Users whose last socket expired (its node died): now offline, reported once across nodes. */
  sweep(): Promise<PresenceChange[]>;
}

const now = () => Date.now();
const iso = (ms: number) => new Date(ms).toISOString();

/** Single-process presence (memory engine). */
export class MemoryPresence implements PresenceStore {
  constructor(readonly ttlMs = DEFAULT_PRESENCE_TTL_MS) {}
  private readonly sockets = new Map<string, Map<string, number>>();
  private readonly status = new Map<string, { status: PresenceStatus; lastSeenAt: number }>();

  private live(userId: string): number {
    const entries = this.sockets.get(userId);
    if (!entries) return 0;
    const t = now();
    for (const [id, expiry] of entries) if (expiry <= t) entries.delete(id);
    if (entries.size === 0) this.sockets.delete(userId);
    return entries.size;
  }

  async connect(userId: string, socketId: string): Promise<PresenceChange | undefined> {
    const wasOnline = this.live(userId) > 0;
    let entries = this.sockets.get(userId);
    if (!entries) this.sockets.set(userId, (entries = new Map()));
    entries.set(socketId, now() + this.ttlMs);
    if (wasOnline) return undefined;
    this.status.set(userId, { status: 'online', lastSeenAt: now() });
    return { userId, status: 'online', lastSeenAt: iso(now()) };
  }

  async disconnect(userId: string, socketId: string): Promise<PresenceChange | undefined> {
    const entries = this.sockets.get(userId);
    if (!entries?.delete(socketId)) return undefined;
    if (this.live(userId) > 0) return undefined;
    this.status.set(userId, { status: 'offline', lastSeenAt: now() });
    return { userId, status: 'offline', lastSeenAt: iso(now()) };
  }

  async heartbeat(sockets: { userId: string; socketId: string }[]): Promise<void> {
    const expiry = now() + this.ttlMs;
    for (const s of sockets) this.sockets.get(s.userId)?.set(s.socketId, expiry);
  }

  async setStatus(userId: string, status: 'online' | 'away'): Promise<PresenceChange | undefined> {
    if (this.live(userId) === 0) return undefined;
    const current = this.status.get(userId);
    if (current?.status === status) return undefined;
    this.status.set(userId, { status, lastSeenAt: now() });
    return { userId, status, lastSeenAt: iso(now()) };
  }

  async sweep(): Promise<PresenceChange[]> {
    // One process: its own sockets never expire unseen, a dead process takes the state with it.
    return [];
  }

  async connectedUserIds(userIds: string[]): Promise<Set<string>> {
    return new Set(userIds.filter((id) => this.live(id) > 0));
  }

  async get(userIds: string[]): Promise<PresenceState[]> {
    return userIds.map((userId) => {
      const online = this.live(userId) > 0;
      const s = this.status.get(userId);
      return {
        userId,
        status: online ? (s?.status === 'away' ? 'away' : 'online') : 'offline',
        lastSeenAt: iso(s?.lastSeenAt ?? 0),
      };
    });
  }
}

// Registers a socket: adds it to the user's set with its expiry and records the user's latest
// expiry in the index the sweep reads. Returns 1 when the user had no live socket before.
const CONNECT = `
local sockets, users, status = KEYS[1], KEYS[2], KEYS[3]
local socketId, userId, nowMs, expiry = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', sockets, '-inf', nowMs)
local before = redis.call('ZCARD', sockets)
redis.call('ZADD', sockets, expiry, socketId)
redis.call('PEXPIRE', sockets, ARGV[5])
redis.call('ZADD', users, 'GT', expiry, userId)
if before == 0 then
  redis.call('HSET', status, 'status', 'online', 'lastSeenAt', nowMs)
  redis.call('PEXPIRE', status, ARGV[6])
  return 1
end
return 0
`;

// Removes a socket; returns 1 when no live socket is left (the user just went offline).
const DISCONNECT = `
local sockets, users, status = KEYS[1], KEYS[2], KEYS[3]
local socketId, userId, nowMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local removed = redis.call('ZREM', sockets, socketId)
redis.call('ZREMRANGEBYSCORE', sockets, '-inf', nowMs)
if removed == 1 and redis.call('ZCARD', sockets) == 0 then
  redis.call('ZREM', users, userId)
  redis.call('HSET', status, 'status', 'offline', 'lastSeenAt', nowMs)
  redis.call('PEXPIRE', status, ARGV[4])
  return 1
end
return 0
`;

// Claims users whose latest socket expiry has passed. ZREM makes each claim happen once even
// when several nodes sweep at the same moment.
const SWEEP = `
local users, nowMs, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local expired = redis.call('ZRANGEBYSCORE', users, '-inf', nowMs, 'LIMIT', 0, limit)
local claimed = {}
for _, userId in ipairs(expired) do
  if redis.call('ZREM', users, userId) == 1 then table.insert(claimed, userId) end
end
return claimed
`;

const STATUS_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** Presence shared by every gateway node through Redis. */
export class RedisPresence implements PresenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlMs = DEFAULT_PRESENCE_TTL_MS,
  ) {}

  private socketsKey(userId: string) {
    return `${this.prefix}presence:sockets:${userId}`;
  }
  private statusKey(userId: string) {
    return `${this.prefix}presence:status:${userId}`;
  }
  private get usersKey() {
    return `${this.prefix}presence:users`;
  }

  async connect(userId: string, socketId: string): Promise<PresenceChange | undefined> {
    const t = now();
    const cameOnline = (await this.redis.eval(
      CONNECT,
      3,
      this.socketsKey(userId),
      this.usersKey,
      this.statusKey(userId),
      socketId,
      userId,
      t,
      t + this.ttlMs,
      this.ttlMs * 2,
      STATUS_RETENTION_MS,
    )) as number;
    return cameOnline === 1 ? { userId, status: 'online', lastSeenAt: iso(t) } : undefined;
  }

  async disconnect(userId: string, socketId: string): Promise<PresenceChange | undefined> {
    const t = now();
    const wentOffline = (await this.redis.eval(
      DISCONNECT,
      3,
      this.socketsKey(userId),
      this.usersKey,
      this.statusKey(userId),
      socketId,
      userId,
      t,
      STATUS_RETENTION_MS,
    )) as number;
    return wentOffline === 1 ? { userId, status: 'offline', lastSeenAt: iso(t) } : undefined;
  }

  async heartbeat(sockets: { userId: string; socketId: string }[]): Promise<void> {
    if (sockets.length === 0) return;
    const expiry = now() + this.ttlMs;
    const pipeline = this.redis.pipeline();
    for (const s of sockets) {
      pipeline.zadd(this.socketsKey(s.userId), expiry, s.socketId);
      pipeline.pexpire(this.socketsKey(s.userId), this.ttlMs * 2);
      pipeline.zadd(this.usersKey, 'GT', expiry, s.userId);
    }
    await pipeline.exec();
  }

  async setStatus(userId: string, status: 'online' | 'away'): Promise<PresenceChange | undefined> {
    const t = now();
    const previous = await this.redis.hget(this.statusKey(userId), 'status');
    if (previous === status) return undefined;
    await this.redis.hset(this.statusKey(userId), 'status', status, 'lastSeenAt', String(t));
    return { userId, status, lastSeenAt: iso(t) };
  }

  async sweep(): Promise<PresenceChange[]> {
    const t = now();
    const claimed = (await this.redis.eval(SWEEP, 1, this.usersKey, t, 500)) as string[];
    const changes: PresenceChange[] = [];
    for (const userId of claimed) {
      // A reconnect may have raced the claim: only report users with no live socket left.
      const live = await this.redis.zcount(this.socketsKey(userId), t, '+inf');
      if (live > 0) {
        const latest = await this.redis.zrange(this.socketsKey(userId), '-1', '-1', 'WITHSCORES');
        if (latest[1]) await this.redis.zadd(this.usersKey, 'GT', latest[1], userId);
        continue;
      }
      await this.redis.hset(this.statusKey(userId), 'status', 'offline', 'lastSeenAt', String(t));
      changes.push({ userId, status: 'offline', lastSeenAt: iso(t) });
    }
    return changes;
  }

  async connectedUserIds(userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const t = now();
    const pipeline = this.redis.pipeline();
    for (const id of userIds) pipeline.zcount(this.socketsKey(id), t, '+inf');
    const results = (await pipeline.exec()) ?? [];
    const online = new Set<string>();
    results.forEach(([err, count], i) => {
      if (err) throw err;
      if (Number(count) > 0) online.add(userIds[i]!);
    });
    return online;
  }

  async get(userIds: string[]): Promise<PresenceState[]> {
    const online = await this.connectedUserIds(userIds);
    const pipeline = this.redis.pipeline();
    for (const id of userIds) pipeline.hmget(this.statusKey(id), 'status', 'lastSeenAt');
    const results = (await pipeline.exec()) ?? [];
    return userIds.map((userId, i) => {
      const [status, lastSeenAt] = (results[i]?.[1] as (string | null)[] | undefined) ?? [
        null,
        null,
      ];
      return {
        userId,
        status: online.has(userId) ? (status === 'away' ? 'away' : 'online') : 'offline',
        lastSeenAt: iso(Number(lastSeenAt ?? 0)),
      };
    });
  }
}

export function createPresenceStore(
  redis: Redis | undefined,
  prefix: string,
  ttlMs: number,
): PresenceStore {
  return redis ? new RedisPresence(redis, prefix, ttlMs) : new MemoryPresence(ttlMs);
}
