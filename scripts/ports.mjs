// Loopback ports for the servers the harness starts.
import { createServer, connect } from 'node:net';

/** A port free on 127.0.0.1 right now (another process may still take it before we bind). */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:port. */
export function tcpOpen(port) {
  return new Promise((res) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      res(true);
    });
    sock.once('error', () => res(false));
  });
}
