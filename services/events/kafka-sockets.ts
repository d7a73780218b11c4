import { connect, type Socket } from 'node:net';
import type { ISocketFactory } from 'kafkajs';

/**
 * kafkajs's socket factory, plus a register of the sockets it opened. Across broker outages
 * kafkajs can lose track of a connection (its broker object is replaced while a consumer
 * still holds the old one), and disconnecting the client then leaves that connection open
 * with its request-timeout timer running; `closeAll` closes whatever is left once every
 * client was disconnected.
 */
export function trackedSockets(): { factory: ISocketFactory; closeAll(): void } {
  const open = new Set<Socket>();
  const factory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = connect({ host, port }, onConnect);
    // As kafkajs's default factory does, so dead peers are noticed.
    socket.setKeepAlive(true, 60_000);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    return socket;
  };
  return {
    factory,
    closeAll: () => {
      for (const socket of open) {
        // Ending (not destroying) makes the broker close its side, and kafkajs reacts to that
        // end by failing the connection's pending requests and stopping its timers.
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref();
      }
      open.clear();
    },
  };
}
