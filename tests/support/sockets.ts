import { io, type Socket } from 'socket.io-client';
import { CONDITION_TIMEOUT_MS } from './deadlines.js';

/** Connects a raw Socket.IO client (WebSocket only, no automatic reconnection). */
export function connectSocket(
  url: string,
  token: string | undefined,
  opts: { reconnection?: boolean } = {},
): Promise<Socket> {
  const socket = io(url, {
    transports: ['websocket'],
    auth: token === undefined ? {} : { token },
    reconnection: opts.reconnection ?? false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

export async function emitAck<T = any>(
  socket: Socket,
  event: string,
  payload?: unknown,
  timeoutMs = CONDITION_TIMEOUT_MS,
): Promise<T> {
  return (await socket.timeout(timeoutMs).emitWithAck(event, payload)) as T;
}

/** Records every occurrence of the given events on a socket, for later assertions. */
export class EventLog {
  readonly events: { event: string; payload: any }[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(socket: Socket, names: string[]) {
    for (const name of names) {
      socket.on(name, (payload: unknown) => {
        this.events.push({ event: name, payload });
        this.waiters = this.waiters.filter((w) => {
          if (!w.check()) return true;
          w.resolve();
          return false;
        });
      });
    }
  }

  of(event: string): any[] {
    return this.events.filter((e) => e.event === event).map((e) => e.payload);
  }

  /** Resolves once `predicate` holds over the recorded events; rejects after timeoutMs. */
  waitFor(
    predicate: (log: EventLog) => boolean,
    timeoutMs = CONDITION_TIMEOUT_MS,
    what = 'condition',
  ): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `timed out waiting for ${what}; saw ${JSON.stringify(this.events.map((e) => e.event))}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ check: () => predicate(this), resolve: done });
    });
  }
}
