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

/**
 * Binds one client event: the payload is validated, the handler's result is acknowledged as
 * `{ok: true, ...result}`, and anything thrown becomes `{ok: false, error}` with a contract
 * code. Handlers never throw out of here, whatever the client sends.
 */
export function bindEvent<S extends z.ZodType>(
  socket: Socket,
  event: string,
  schema: S,
  rt: HandlerRuntime,
  handler: (payload: z.output<S>, identity: SocketIdentity) => Promise<object | void>,
): void {
  socket.on(event, async (payload: unknown, maybeAck: unknown) => {
    // emit(event, ack) without a payload puts the callback first.
    let ack: Ack = () => {};
    if (typeof maybeAck === 'function') ack = maybeAck as Ack;
    else if (typeof payload === 'function') {
      ack = payload as Ack;
      payload = undefined;
    }
    rt.inflight.count += 1;
    try {
      const input = parseInput(schema, payload);
      const result = await handler(input, socket.data as SocketIdentity);
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
  });
}

export function forbidden(message: string): AppError {
  return new AppError('FORBIDDEN', message);
}
