import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from './config.js';
import { AppError } from './errors.js';
import type { Redis } from './redis.js';

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
 * Named rate limits backed by Redis (shared by every replica) or by memory (single node).
 * When Redis is unreachable, the in-memory insurance limiter keeps enforcing a per-process
 * limit instead of failing requests.
 */
export class RateLimits {
  private readonly limiters = new Map<LimitName, Limiter>();

  constructor(config: Config, redis: Redis | undefined) {
    for (const [name, spec] of Object.entries(limitSpecs(config)) as [LimitName, LimitSpec][]) {
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
  }

  /** Takes one point for `key`; throws RATE_LIMITED with retryAfterMs when over the limit. */
  async consume(name: LimitName, key: string): Promise<void> {
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

  /** Forgets the points taken for `key`, e.g. failed logins after a successful one. */
  async reset(name: LimitName, key: string): Promise<void> {
    const limiter = this.limiters.get(name);
    if (limiter && 'delete' in limiter) await limiter.delete(key);
  }
}
