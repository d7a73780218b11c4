import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { AppError, errorBody, parseInput, toAppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { GatewayMetrics } from './metrics.js';

export type Ack = (response: unknown) => void;

export interface SocketIdentity {
  userId: string;
  username: string;
  sessionId: string;
  /** Wall-clock milliseconds (fractional) when the handshake was accepted. */
  connectedAt: number;
}

export interface HandlerRuntime {
  log: Logger;
  metrics: GatewayMetrics;
  /** Counts handlers in progress so a drain can wait for them. */
  inflight: { count: number };
}

type EventHandler = (
  payload: unknown,
  identity: SocketIdentity,
  socket: Socket,
) => Promise<object | void>;

/**
 * The client events a gateway answers. Every payload is validated, the handler's result is
 * acknowledged as `{ok: true, ...result}`, and anything thrown becomes `{ok: false, error}`
 * with a contract code: handlers never throw out of here, whatever the client sends.
 *
 * Handlers are registered once per process and reach each socket through one listener that
 * all sockets share, so a connection carries no closures of its own: a listener per event
 * and socket cost about 2.5 KB of heap per idle connection (docs/benchmarks.md).
 */
export class SocketEvents {
  private readonly handlers = new Map<string, { schema: z.ZodType; handle: EventHandler }>();
  private readonly listener: (this: Socket, event: unknown, ...args: unknown[]) => void;

  constructor(private readonly rt: HandlerRuntime) {
    const run = this.run.bind(this);
    // Socket.IO calls "any" listeners with the socket as `this`.
    this.listener = function (this: Socket, event: unknown, ...args: unknown[]) {
      void run(this, event, args);
    };
  }

  on<S extends z.ZodType>(
    event: string,
    schema: S,
    handle: (
      payload: z.output<S>,
      identity: SocketIdentity,
      socket: Socket,
    ) => Promise<object | void>,
  ): void {
    if (this.handlers.has(event)) throw new Error(`${event} has a handler already`);
    this.handlers.set(event, { schema, handle: handle as EventHandler });
  }

  /** Routes a socket's events to the handlers. */
  attach(socket: Socket): void {
    socket.onAny(this.listener);
  }

  private async run(socket: Socket, event: unknown, args: unknown[]): Promise<void> {
    // emit(event, ack) without a payload puts the callback first; the ack is always last.
    const last = args[args.length - 1];
    const ack: Ack = typeof last === 'function' ? (last as Ack) : () => {};
    const payload = typeof args[0] === 'function' ? undefined : args[0];
    // Events nobody handles are ignored, as Socket.IO does for events without a listener.
    if (typeof event !== 'string') return;
    const bound = this.handlers.get(event);
    if (!bound) return;
    const { rt } = this;
    rt.inflight.count += 1;
    try {
      const input = parseInput(bound.schema, payload);
      const result = await bound.handle(input, socket.data as SocketIdentity, socket);
      ack({ ok: true, ...(result ?? {}) });
    } catch (err) {
      const appError = toAppError(err);
      rt.metrics.eventErrors.inc({ event, code: appError.code });
      if (appError.code === 'RATE_LIMITED') rt.metrics.rateLimited.inc({ event });
      if (appError.code === 'INTERNAL' || appError.code === 'UNAVAILABLE') {
        rt.log.error(
          { err, event, socketId: socket.id, userId: (socket.data as SocketIdentity).userId },
          'socket event failed',
        );
      }
      ack({ ok: false, ...errorBody(appError) });
    } finally {
      rt.inflight.count -= 1;
    }
  }
}

export function forbidden(message: string): AppError {
  return new AppError('FORBIDDEN', message);
}
