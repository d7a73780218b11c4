import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Server } from 'socket.io';
import { createRedis } from '../core/redis.js';
import type { RoleContext, RoleHandle } from '../role.js';
import { Broadcaster } from './broadcast.js';

/**
 * For processes that change chat state without running the gateway (ROLES=api): a Socket.IO
 * server that listens nowhere and only publishes into the same Redis stream, so messages sent
 * over REST still reach every gateway node's sockets. Without Redis there is no other node to
 * tell, and sockets can only live in a process that runs the gateway itself.
 */
export async function startPublisher(ctx: RoleContext): Promise<RoleHandle> {
  if (!ctx.config.redisUrl) return { stop: async () => {} };
  const redis = createRedis(ctx.config.redisUrl, ctx.log, 'publisher');
  const prefix = ctx.config.redisKeyPrefix;
  const io = new Server({
    adapter: createAdapter(redis, {
      streamName: `${prefix}socket.io`,
      maxLen: ctx.config.gateway.streamMaxLen,
      sessionKeyPrefix: `${prefix}sio:session:`,
      channelPrefix: `${prefix}socket.io`,
      onlyPlaintext: true,
    }),
  });
  ctx.fanout.attach(new Broadcaster(io, undefined, true, ctx.log));
  return {
    stop: async () => {
      io.of('/').adapter.close();
      redis.disconnect();
    },
  };
}
