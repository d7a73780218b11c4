import type { WireError } from './pending-sends.js';

/**
 * A failure the server reported with a contract code (PROTOCOL.md, Errors), or one the client
 * determined itself: `UNAVAILABLE` when not connected or an ack timed out, `UNAUTHENTICATED`
 * when no valid token could be obtained.
 */
export class SignalinkError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** HTTP status for REST failures. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SignalinkError';
  }

  static from(error: WireError, status?: number): SignalinkError {
    return new SignalinkError(error.code, error.message, error.details, status);
  }
}
