import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from './config.js';
import { AppError } from './errors.js';
import { redisWindowStore, SharedLimit, SYNC_INTERVAL_MS } from './message-limits.js';
import type { Redis } from './redis.js';
import { SharedWindows, type Verdict } from './shared-windows.js';

export type LimitName = 'api' | 'login' | 'register' | 'message' | 'channelMessage' | 'typing';

interface LimitSpec {
  points: number;
  durationSeconds: number;
  /** Extra points allowed over a longer window (token-bucket style burst). */
  burst?: { points: number; durationSeconds: number };
}

export function limitSpecs(config: Config): Record<LimitName, LimitSpec> {
  const l = config.limits;
  return {
    api: { points: l.apiRequestsPerMinute, durationSeconds: 60 },
    login: { points: l.loginAttemptsPer15Minutes, durationSeconds: 15 * 60 },
    register: { points: l.registrationsPerHourPerIp, durationSeconds: 3600 },
    message: {
      points: l.messagesPerSecond,
      durationSeconds: 1,
      burst: { points: l.messageBurst, durationSeconds: 10 },
    },
    channelMessage: { points: l.channelMessagesPerSecond, durationSeconds: 1 },
    typing: { points: 5, durationSeconds: 1 },
  };
}

type Limiter = RateLimiterAbstract | BurstyRateLimiter;

/**
 * Limits checked on every send: counted locally and reconciled with Redis in the background
 * (services/core/shared-windows.ts), so a send far below its limits never waits for Redis.
 */
const SENDING_LIMITS = new Set<LimitName>(['message', 'channelMessage']);
/** Part of a sending limit a process gives out before it asks Redis for each point. */
const LOCAL_SHARE = 0.5;

interface SharedPair {
  main: SharedLimit;
  /** A longer window drawn on only when the main one is full (token-bucket style burst). */
  burst?: SharedLimit | undefined;
}

/**
 * Named rate limits backed by Redis (shared by every replica) or by memory (single node).
 * When Redis is unreachable, the in-memory insurance limiter keeps enforcing a per-process
 * limit instead of failing requests.
 */
export class RateLimits {
  private readonly limiters = new Map<LimitName, Limiter>();
  private readonly shared = new Map<LimitName, SharedPair>();
  private readonly syncTimer: NodeJS.Timeout | undefined;

  constructor(config: Config, redis: Redis | undefined) {
    const store = redis ? redisWindowStore(redis) : undefined;
    for (const [name, spec] of Object.entries(limitSpecs(config)) as [LimitName, LimitSpec][]) {
      if (SENDING_LIMITS.has(name)) {
        const limit = (points: number, seconds: number, suffix: string) =>
          new SharedLimit(
            new SharedWindows({ points, durationMs: seconds * 1000, localShare: LOCAL_SHARE }),
            `${config.redisKeyPrefix}rl:${name}${suffix}`,
            store,
          );
        this.shared.set(name, {
          main: limit(spec.points, spec.durationSeconds, ''),
          burst: spec.burst && limit(spec.burst.points, spec.burst.durationSeconds, ':burst'),
        });
        continue;
      }
      const make = (points: number, duration: number, suffix: string): RateLimiterAbstract => {
        const keyPrefix = `${config.redisKeyPrefix}rl:${name}${suffix}`;
        const memory = new RateLimiterMemory({ points, duration, keyPrefix });
        if (!redis) return memory;
        return new RateLimiterRedis({
          storeClient: redis,
          points,
          duration,
          keyPrefix,
          // While Redis is reconnecting, go straight to the insurance limiter: waiting for
          // ioredis's retries would add seconds to every request.
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix }),
        });
      };
      const main = make(spec.points, spec.durationSeconds, '');
      this.limiters.set(
        name,
        spec.burst
          ? new BurstyRateLimiter(
              main,
              make(spec.burst.points, spec.burst.durationSeconds, ':burst'),
            )
          : main,
      );
    }
    if (store) {
      this.syncTimer = setInterval(() => void this.syncShared(), SYNC_INTERVAL_MS);
      this.syncTimer.unref();
    }
  }

  /** Takes one point for `key`; throws RATE_LIMITED with retryAfterMs when over the limit. */
  async consume(name: LimitName, key: string): Promise<void> {
    const shared = this.shared.get(name);
    if (shared) {
      const verdict = await takeShared(shared, key);
      if (!verdict.ok)
        throw new AppError('RATE_LIMITED', `rate limit exceeded (${name})`, {
          retryAfterMs: verdict.retryAfterMs,
        });
      return;
    }
    const limiter = this.limiters.get(name);
    if (!limiter) throw new Error(`unknown limit ${name}`);
    try {
      await limiter.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        throw new AppError('RATE_LIMITED', `rate limit exceeded (${name})`, {
          retryAfterMs: Math.max(1, Math.ceil(err.msBeforeNext)),
        });
      }
      throw err;
    }
  }

  /** Adds the sending limits' last local counts to Redis and stops syncing. */
  async stop(): Promise<void> {
    clearInterval(this.syncTimer);
    await this.syncShared();
  }

  private async syncShared(): Promise<void> {
    await Promise.all([...this.shared.values()].flatMap((p) => [p.main.sync(), p.burst?.sync()]));
  }

  /** Forgets the points taken for `key`, e.g. failed logins after a successful one. */
  async reset(name: LimitName, key: string): Promise<void> {
    const limiter = this.limiters.get(name);
    if (limiter && 'delete' in limiter) await limiter.delete(key);
  }
}

/** The burst window is drawn on only when the main one refuses, as BurstyRateLimiter does. */
async function takeShared(pair: SharedPair, key: string): Promise<Verdict> {
  const main = await pair.main.take(key);
  if (main.ok || !pair.burst) return main;
  const burst = await pair.burst.take(key);
  if (burst.ok) return burst;
  return { ok: false, retryAfterMs: Math.min(main.retryAfterMs, burst.retryAfterMs) };
}
