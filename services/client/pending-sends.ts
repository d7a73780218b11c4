/** The error part of a failed ack or REST response (PROTOCOL.md, Errors). */
export interface WireError {
  code: string;
  message: string;
  details?: unknown;
}

export interface SendRequest {
  channelId: string;
  clientMsgId: string;
  content: string;
  replyTo?: string | null;
}

export interface PendingSend extends SendRequest {
  /** Attempts emitted so far; the ack of an older attempt is still accepted if it succeeds. */
  attempts: number;
  /** `in-flight`: emitted, ack awaited; `waiting`: to be emitted when connected (or after a delay). */
  state: 'in-flight' | 'waiting';
  lastError?: WireError;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 10_000;

/** Exponential backoff with full jitter, so many clients that failed together do not retry together. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * random());
}

/**
 * Whether a send that was answered with an error may be tried again with the same clientMsgId.
 * Only what the contract calls transient is retried: RATE_LIMITED (after the time the server
 * names) and UNAVAILABLE. Everything else would fail the same way again.
 */
export function retryDecision(
  error: WireError,
  attempt: number,
  random: () => number = Math.random,
): RetryDecision {
  if (error.code === 'RATE_LIMITED') {
    const retryAfterMs = (error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    const delayMs =
      typeof retryAfterMs === 'number' && retryAfterMs >= 0
        ? retryAfterMs
        : backoffMs(attempt, random);
    return { retry: true, delayMs };
  }
  if (error.code === 'UNAVAILABLE') return { retry: true, delayMs: backoffMs(attempt, random) };
  return { retry: false };
}

/**
 * Bookkeeping of sends not yet acknowledged, in the order they were made. Each keeps the
 * clientMsgId it was given first, so every retry is the same send to the server.
 */
export class PendingSends {
  private readonly entries = new Map<string, PendingSend>();

  /** Registers a send; registering a clientMsgId that is still pending returns the existing entry. */
  add(request: SendRequest): PendingSend {
    const existing = this.entries.get(request.clientMsgId);
    if (existing) return existing;
    const entry: PendingSend = { ...request, attempts: 0, state: 'waiting' };
    this.entries.set(request.clientMsgId, entry);
    return entry;
  }

  get(clientMsgId: string): PendingSend | undefined {
    return this.entries.get(clientMsgId);
  }

  /** Marks a new attempt as emitted and returns its number. */
  begin(clientMsgId: string): number {
    const entry = this.require(clientMsgId);
    entry.attempts += 1;
    entry.state = 'in-flight';
    return entry.attempts;
  }

  /** True when `attempt` is the latest attempt of a send that is still pending. */
  isCurrent(clientMsgId: string, attempt: number): boolean {
    return this.entries.get(clientMsgId)?.attempts === attempt;
  }

  /** The attempt failed or timed out; the send waits for its next attempt. */
  postpone(clientMsgId: string, error?: WireError): void {
    const entry = this.entries.get(clientMsgId);
    if (!entry) return;
    entry.state = 'waiting';
    if (error) entry.lastError = error;
  }

  /** Acked (or given up on): no longer pending. */
  settle(clientMsgId: string): PendingSend | undefined {
    const entry = this.entries.get(clientMsgId);
    this.entries.delete(clientMsgId);
    return entry;
  }

  /** The connection dropped: acks of in-flight attempts will never arrive, so all of them wait. */
  connectionLost(): void {
    for (const entry of this.entries.values()) entry.state = 'waiting';
  }

  /** The oldest pending send to a channel: with ordered sends, the only one that may be in flight. */
  headOf(channelId: string): PendingSend | undefined {
    for (const entry of this.entries.values()) if (entry.channelId === channelId) return entry;
    return undefined;
  }

  waiting(): PendingSend[] {
    return this.list().filter((entry) => entry.state === 'waiting');
  }

  list(): PendingSend[] {
    return [...this.entries.values()];
  }

  get size(): number {
    return this.entries.size;
  }

  private require(clientMsgId: string): PendingSend {
    const entry = this.entries.get(clientMsgId);
    if (!entry) throw new Error(`no pending send with clientMsgId ${clientMsgId}`);
    return entry;
  }
}
