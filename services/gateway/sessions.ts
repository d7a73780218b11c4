import type { Server } from 'socket.io';
import { z } from 'zod';
import { sessionRoom } from './rooms.js';

/** Cluster event: a session ended (logout, refresh-token reuse); every node closes its sockets. */
export const SESSION_ENDED_EVENT = 'signalink:session.ended';

export const sessionEndedPayload = z.object({ sessionId: z.uuid() });

/**
 * What a socket of an ended session is told before it is closed (docs/protocol-extensions.md):
 * its tokens no longer work, so reconnecting is pointless; the client signs in again.
 */
export const SESSION_ENDED_NOTICE = { reconnectInMs: -1, reason: 'UNAUTHENTICATED' } as const;

/**
 * Closes this node's sockets of a session, each after the notice. Both go through the local
 * adapter synchronously, so every socket has the notice written before its disconnect packet
 * (a cluster-wide emit would go through the Redis stream first and arrive after the close).
 * Returns how many sockets were closed.
 */
export function closeSessionSockets(io: Server, sessionId: string): number {
  const room = sessionRoom(sessionId);
  const count = io.of('/').adapter.rooms.get(room)?.size ?? 0;
  if (count === 0) return 0;
  io.local.to(room).emit('server.draining', SESSION_ENDED_NOTICE);
  io.local.in(room).disconnectSockets(true);
  return count;
}
