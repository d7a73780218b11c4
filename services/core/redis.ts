import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export type { Redis };

export function createRedis(url: string, log: Logger, name: string): Redis {
  const client = new Redis(url, {
    connectionName: `signalink-${name}`,
    // Fail commands quickly while Redis is down instead of queueing them forever; callers map
    // the error to UNAVAILABLE or fall back (rate limits use an in-memory insurance limiter).
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
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
