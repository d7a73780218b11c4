import type { Redis } from './redis.js';
import type { SharedWindows, SyncItem, Verdict } from './shared-windows.js';

/**
 * Adds to fixed-window counters in Redis and reads their totals and time left, all keys in one
 * script call. The keys and values are those rate-limiter-flexible uses (`<prefix>:<key>`, a
 * counter with a TTL), so processes of the previous release count in the same windows.
 */
const WINDOW_ADD = `
local out = {}
for i = 1, #KEYS do
  local total = redis.call('INCRBY', KEYS[i], ARGV[2 * i - 1])
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    ttl = tonumber(ARGV[2 * i])
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  out[2 * i - 1] = total
  out[2 * i] = ttl
end
return out
`;

export interface WindowStore {
  /** False while the connection is down: decisions are then made locally. */
  ready(): boolean;
  add(
    items: { key: string; delta: number; ttlMs: number }[],
  ): Promise<{ total: number; pttlMs: number }[]>;
}

export function redisWindowStore(redis: Redis): WindowStore {
  const command = 'signalinkWindowAdd';
  if (!(command in redis)) redis.defineCommand(command, { lua: WINDOW_ADD });
  const call = (
    redis as unknown as Record<string, (...args: (string | number)[]) => Promise<number[]>>
  )[command]!.bind(redis);
  return {
    ready: () => redis.status === 'ready',
    add: async (items) => {
      const reply = await call(
        items.length,
        ...items.map((i) => i.key),
        ...items.flatMap((i) => [i.delta, Math.ceil(i.ttlMs)]),
      );
      return items.map((_, i) => ({
        total: Number(reply[2 * i]),
        pttlMs: Number(reply[2 * i + 1]),
      }));
    },
  };
}

/** One limit: local windows, the store they reconcile with, and the store's key names. */
export class SharedLimit {
  constructor(
    readonly windows: SharedWindows,
    private readonly keyPrefix: string,
    private readonly store: WindowStore | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async take(key: string): Promise<Verdict> {
    const decision = this.windows.decide(key, this.now());
    if (decision.kind === 'taken') return { ok: true };
    if (decision.kind === 'refused') return { ok: false, retryAfterMs: decision.retryAfterMs };
    if (!this.store || !this.store.ready())
      return this.windows.settleLocally(key, decision.delta, this.now());
    try {
      const [answer] = await this.store.add([
        { key: this.storeKey(key), delta: decision.delta, ttlMs: this.windows.limit.durationMs },
      ]);
      return this.windows.settle(key, decision.delta, answer!.total, answer!.pttlMs, this.now());
    } catch {
      // Redis trouble: this process's own count decides, as an insurance limiter would.
      return this.windows.settleLocally(key, decision.delta, this.now());
    }
  }

  /** Adds what was taken locally to the store, and learns what the other processes took. */
  async sync(): Promise<void> {
    if (!this.store || !this.store.ready()) return;
    const items: SyncItem[] = this.windows.pendingSync(this.now());
    if (items.length === 0) return;
    try {
      const answers = await this.store.add(
        items.map((i) => ({ key: this.storeKey(i.key), delta: i.delta, ttlMs: i.ttlMs })),
      );
      this.windows.applySync(items, answers, this.now());
    } catch {
      this.windows.failSync(items);
    }
  }

  private storeKey(key: string): string {
    return `${this.keyPrefix}:${key}`;
  }
}

/** How often points taken locally are added to Redis. */
export const SYNC_INTERVAL_MS = 50;
