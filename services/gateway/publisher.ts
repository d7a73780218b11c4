import { Server } from 'socket.io';
import type { RoleContext, RoleHandle } from '../role.js';
import { createStreamsAdapter } from './adapter.js';
import { Broadcaster } from './broadcast.js';

/**
 * For processes that change chat state without running the gateway (ROLES=api): a Socket.IO
 * server that listens nowhere and only publishes into the same Redis stream, so messages sent
 * over REST still reach every gateway node's sockets. Without Redis there is no other node to
 * tell, and sockets can only live in a process that runs the gateway itself.
 */
export async function startPublisher(ctx: RoleContext): Promise<RoleHandle> {
  if (!ctx.config.redisUrl) return { stop: async () => {} };
  const cluster = createStreamsAdapter(ctx.config, ctx.log, 'publisher');
  const io = new Server({ adapter: cluster.adapter });
  const broadcaster = new Broadcaster(io, undefined, true, ctx.log);
  ctx.fanout.attach(broadcaster);
  // Sessions ended here (logout over REST) close their sockets on the gateway nodes.
  const unlisten = ctx.refreshTokens.onFamilyRevoked((id) => broadcaster.sessionEnded(id));
  return {
    stop: async () => {
      unlisten();
      io.of('/').adapter.close();
      cluster.disconnect();
    },
  };
}
