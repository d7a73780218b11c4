import type { Redis } from '../core/redis.js';

/** Typing expires this long after the last typing.start. */
export const TYPING_TTL_MS = 5000;

/**
 * Who is typing in a channel, shared by every node (Redis) or kept in memory (single node).
 * `start` and `stop` report whether the set of typers changed, so repeated keystrokes do not
 * rebroadcast the same set (that is the throttle). Nothing here is ever persisted.
 */
export interface TypingStore {
  start(channelId: string, userId: string): Promise<{ changed: boolean; userIds: string[] }>;
  stop(channelId: string, userId: string): Promise<{ changed: boolean; userIds: string[] }>;
  /** Drops expired typers; returns the remaining set if anyone expired. */
  expire(channelId: string): Promise<{ changed: boolean; userIds: string[] }>;
}

export class MemoryTyping implements TypingStore {
  private readonly channels = new Map<string, Map<string, number>>();

  private live(channelId: string): { entries: Map<string, number>; expired: boolean } {
    const entries = this.channels.get(channelId) ?? new Map<string, number>();
    const t = Date.now();
    let expired = false;
    for (const [id, until] of entries) {
      if (until <= t) {
        entries.delete(id);
        expired = true;
      }
    }
    if (entries.size === 0) this.channels.delete(channelId);
    else this.channels.set(channelId, entries);
    return { entries, expired };
  }

  async start(channelId: string, userId: string) {
    const { entries, expired } = this.live(channelId);
    const isNew = !entries.has(userId);
    entries.set(userId, Date.now() + TYPING_TTL_MS);
    this.channels.set(channelId, entries);
    return { changed: isNew || expired, userIds: [...entries.keys()] };
  }

  async stop(channelId: string, userId: string) {
    const { entries, expired } = this.live(channelId);
    const removed = entries.delete(userId);
    if (entries.size === 0) this.channels.delete(channelId);
    return { changed: removed || expired, userIds: [...entries.keys()] };
  }

  async expire(channelId: string) {
    const { entries, expired } = this.live(channelId);
    return { changed: expired, userIds: [...entries.keys()] };
  }
}

// KEYS[1] = hash userId -> expiry ms. ARGV: op, userId, now, ttl.
// Returns {changed, userId...}; expired typers are pruned first, so every op also expires.
const TYPING = `
local key, op, userId, nowMs, ttl = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local changed = 0
local all = redis.call('HGETALL', key)
for i = 1, #all, 2 do
  if tonumber(all[i + 1]) <= nowMs then
    redis.call('HDEL', key, all[i])
    changed = 1
  end
end
if op == 'start' then
  if redis.call('HSET', key, userId, nowMs + ttl) == 1 then changed = 1 end
  redis.call('PEXPIRE', key, ttl * 2)
elseif op == 'stop' then
  if redis.call('HDEL', key, userId) == 1 then changed = 1 end
end
local result = { changed }
for _, id in ipairs(redis.call('HKEYS', key)) do table.insert(result, id) end
return result
`;

export class RedisTyping implements TypingStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private async run(op: 'start' | 'stop' | 'expire', channelId: string, userId: string) {
    const [changed, ...userIds] = (await this.redis.eval(
      TYPING,
      1,
      `${this.prefix}typing:${channelId}`,
      op,
      userId,
      Date.now(),
      TYPING_TTL_MS,
    )) as [number, ...string[]];
    return { changed: changed === 1, userIds };
  }

  start(channelId: string, userId: string) {
    return this.run('start', channelId, userId);
  }
  stop(channelId: string, userId: string) {
    return this.run('stop', channelId, userId);
  }
  expire(channelId: string) {
    return this.run('expire', channelId, '');
  }
}
