import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { createRedis, type Redis } from '../core/redis.js';

export interface StreamsAdapter {
  adapter: ReturnType<typeof createAdapter>;
  /** The connection the adapter publishes with (it opens its own for reading). */
  redis: Redis;
  streamName: string;
  /** Closes every connection the adapter opened, including its blocked stream reader. */
  disconnect(): void;
}

/**
 * The Socket.IO cluster adapter every gateway node and publisher shares: broadcasts go through
 * one Redis stream (kept to GATEWAY_STREAM_MAXLEN entries), cluster-internal events through
 * Redis PUB/SUB, all under REDIS_KEY_PREFIX.
 */
export function createStreamsAdapter(config: Config, log: Logger, name: string): StreamsAdapter {
  // Broadcasts and cluster events of one batch of sends leave in one write.
  const redis = createRedis(config.redisUrl!, log, name, { autoPipelining: true });
  // The adapter fires PUBLISH without handling its failure; while Redis is down that would be
  // an unhandled rejection per event. Those events are best-effort by design (a missed
  // message.new is refilled from PostgreSQL), so log and settle them here.
  const publish = redis.publish.bind(redis) as (...args: unknown[]) => Promise<number>;
  (redis as unknown as { publish: (...args: unknown[]) => Promise<number> }).publish = (...args) =>
    publish(...args).catch((err: unknown) => {
      log.debug({ err }, 'cluster publish failed');
      return 0;
    });
  // The adapter reads with XREAD BLOCK on duplicates of our connection and only notices it was
  // closed when a read returns; keep them to close them at once on shutdown.
  const duplicates: Redis[] = [];
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (override?: Parameters<Redis['duplicate']>[0]) => {
    // The copies block (XREAD BLOCK) or subscribe: never pipelined behind each other.
    const copy = duplicate({ ...override, enableAutoPipelining: false });
    duplicates.push(copy);
    return copy;
  };
  const prefix = config.redisKeyPrefix;
  const streamName = `${prefix}socket.io`;
  const adapter = createAdapter(redis, {
    streamName,
    maxLen: config.gateway.streamMaxLen,
    readCount: 500,
    blockTimeInMs: 5000,
    sessionKeyPrefix: `${prefix}sio:session:`,
    channelPrefix: streamName,
    heartbeatInterval: 5000,
    heartbeatTimeout: 10_000,
    onlyPlaintext: true,
  });
  return {
    adapter,
    redis,
    streamName,
    disconnect: () => {
      for (const client of [redis, ...duplicates]) client.disconnect();
    },
  };
}
