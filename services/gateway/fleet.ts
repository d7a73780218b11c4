import type { Redis } from '../core/redis.js';

/** Where the gateways of one installation share how many connections each holds. */
export interface FleetConnections {
  /**
   * Records this node's count, valid for `ttlMs`, and returns the counts of every other node
   * whose report has not expired.
   */
  report(nodeId: string, connections: number, ttlMs: number): Promise<number[]>;
  /** Removes this node at once (it drains or stops) instead of waiting for its report to expire. */
  leave(nodeId: string): Promise<void>;
}

// KEYS: the expiry index (node -> expiry ms, Redis clock) and the counts (node -> count).
// Redis's own clock decides expiry, so nodes with skewed clocks still agree on who is live.
const REPORT = `
local index, counts = KEYS[1], KEYS[2]
local node, count, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', index, now + ttl, node)
redis.call('HSET', counts, node, count)
local dead = redis.call('ZRANGEBYSCORE', index, '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(dead) do
  redis.call('ZREM', index, id)
  redis.call('HDEL', counts, id)
end
redis.call('PEXPIRE', index, ttl * 2)
redis.call('PEXPIRE', counts, ttl * 2)
local result = {}
local all = redis.call('HGETALL', counts)
for i = 1, #all, 2 do
  if all[i] ~= node then table.insert(result, all[i + 1]) end
end
return result
`;

export class RedisFleetConnections implements FleetConnections {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get indexKey() {
    return `${this.prefix}gateway:fleet:expiry`;
  }
  private get countsKey() {
    return `${this.prefix}gateway:fleet:connections`;
  }

  async report(nodeId: string, connections: number, ttlMs: number): Promise<number[]> {
    const others = (await this.redis.eval(
      REPORT,
      2,
      this.indexKey,
      this.countsKey,
      nodeId,
      Math.max(0, Math.round(connections)),
      Math.max(1, Math.round(ttlMs)),
    )) as string[];
    return others.map(Number).filter((n) => Number.isFinite(n) && n >= 0);
  }

  async leave(nodeId: string): Promise<void> {
    await this.redis.multi().zrem(this.indexKey, nodeId).hdel(this.countsKey, nodeId).exec();
  }
}
