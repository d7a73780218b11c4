import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export type { Redis };

export interface RedisOptions {
  /**
   * Commands issued in the same tick leave in one write (ioredis auto-pipelining): the rate
   * limits, presence and broadcasts of concurrent sends share syscalls and round trips. Never
   * for a connection that blocks (XREAD BLOCK) or subscribes: a pipeline waits for the one
   * before it.
   */
  autoPipelining?: boolean;
}

export function createRedis(
  url: string,
  log: Logger,
  name: string,
  options: RedisOptions = {},
): Redis {
  const client = new Redis(url, {
    connectionName: `signalink-${name}`,
    // Fail commands quickly while Redis is down instead of queueing them forever; callers map
    // the error to UNAVAILABLE or fall back (rate limits use an in-memory insurance limiter).
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    enableAutoPipelining: options.autoPipelining ?? false,
  });
  let lastError = '';
  client.on('error', (err: Error) => {
    // ioredis reports every reconnect attempt; log each distinct failure once.
    if (err.message !== lastError)
      log.warn({ err: err.message, client: name }, 'redis connection error');
    lastError = err.message;
  });
  client.on('ready', () => {
    if (lastError) log.info({ client: name }, 'redis connection restored');
    lastError = '';
  });
  return client;
}

export async function pingRedis(client: Redis): Promise<void> {
  const reply = await client.ping();
  if (reply !== 'PONG') throw new Error(`unexpected redis ping reply ${reply}`);
}
