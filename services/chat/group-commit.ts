/**
 * Group commit: items submitted while a write is in flight are collected and written together,
 * so many sends share one round trip and one transaction. Nothing waits when the writer is
 * idle: the first item after a quiet moment is written at once, alone. Only what arrives while
 * a batch is being written waits, and only until that batch is done, or until the open batch
 * is full (items or bytes) or its oldest item has waited `maxWaitMs`: then it starts beside
 * the ones in flight, up to `maxInFlight` at once.
 *
 * Pure scheduling: what a write does is the `write` function's business. It answers one
 * outcome per item, so one bad item fails alone; a write that throws fails its whole batch.
 */

export interface GroupCommitLimits {
  /** Items in one batch. */
  maxItems: number;
  /** Bytes in one batch (by `sizeOf`); an item larger than this is written alone. */
  maxBytes: number;
  /** How long an item waits for batches in flight before its own batch starts beside them. */
  maxWaitMs: number;
  /** Batches written at the same time (each holds a database connection). */
  maxInFlight: number;
  /**
   * Items waiting (not yet written) beyond which new ones are refused at once: under overload
   * a quick retryable refusal beats a queue that grows without bound. Default 16 × maxItems.
   */
  maxQueued?: number;
}

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface GroupCommitHooks {
  /** Called when a batch's write settles: its size and how long the write took. */
  onBatch?(items: number, bytes: number, elapsedMs: number): void;
}

interface Entry<T, R> {
  item: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

interface Batch<T, R> {
  entries: Entry<T, R>[];
  bytes: number;
}

export class GroupCommitClosedError extends Error {
  constructor() {
    super('the writer is shutting down');
    this.name = 'GroupCommitClosedError';
  }
}

export class GroupCommitBusyError extends Error {
  constructor(readonly queued: number) {
    super(`${queued} items are already waiting to be written`);
    this.name = 'GroupCommitBusyError';
  }
}

export class GroupCommit<T, R> {
  private open: Batch<T, R> = { entries: [], bytes: 0 };
  /** Full or timed-out batches waiting for a free write slot, oldest first. */
  private readonly sealed: Batch<T, R>[] = [];
  private inFlight = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private waiting = 0;
  private readonly maxQueued: number;

  constructor(
    private readonly limits: GroupCommitLimits,
    private readonly write: (items: T[]) => Promise<Outcome<R>[]>,
    private readonly sizeOf: (item: T) => number,
    private readonly hooks: GroupCommitHooks = {},
  ) {
    this.maxQueued = limits.maxQueued ?? 16 * limits.maxItems;
    for (const [name, value] of Object.entries({ ...limits, maxQueued: this.maxQueued })) {
      const min = name === 'maxWaitMs' ? 0 : 1;
      if (!Number.isFinite(value) || value < min)
        throw new RangeError(`${name} must be a number ≥ ${min}, got ${value}`);
    }
  }

  /** Resolves with the item's outcome once the batch holding it has been written. */
  submit(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new GroupCommitClosedError());
    if (this.waiting >= this.maxQueued)
      return Promise.reject(new GroupCommitBusyError(this.waiting));
    const size = this.sizeOf(item);
    return new Promise<R>((resolve, reject) => {
      if (this.open.entries.length > 0 && this.open.bytes + size > this.limits.maxBytes)
        this.seal();
      this.open.entries.push({ item, resolve, reject });
      this.open.bytes += size;
      this.waiting += 1;
      if (this.inFlight === 0 && this.sealed.length === 0) this.seal();
      else if (
        this.open.entries.length >= this.limits.maxItems ||
        this.open.bytes >= this.limits.maxBytes
      )
        this.seal();
      else this.timer ??= setTimeout(() => this.seal(), this.limits.maxWaitMs);
    });
  }

  /** Items accepted and not yet handed to a write. */
  get queued(): number {
    return this.waiting;
  }

  /** Batches being written now. */
  get writing(): number {
    return this.inFlight;
  }

  /**
   * Refuses new items, writes everything already accepted without waiting for the window, and
   * resolves once every write has settled.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.seal();
    this.startWrites(Infinity);
    if (this.inFlight === 0 && this.sealed.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Closes the open batch and starts it if a write slot is free. */
  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.open.entries.length > 0) {
      this.sealed.push(this.open);
      this.open = { entries: [], bytes: 0 };
    }
    this.startWrites(this.limits.maxInFlight);
  }

  private startWrites(slots: number): void {
    while (this.inFlight < slots && this.sealed.length > 0) void this.run(this.sealed.shift()!);
  }

  private async run(batch: Batch<T, R>): Promise<void> {
    this.inFlight += 1;
    this.waiting -= batch.entries.length;
    const started = performance.now();
    const items = batch.entries.map((e) => e.item);
    try {
      const outcomes = await this.write(items);
      if (outcomes.length !== items.length)
        throw new Error(`write answered ${outcomes.length} outcomes for ${items.length} items`);
      batch.entries.forEach((entry, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) entry.resolve(outcome.value);
        else entry.reject(outcome.error);
      });
    } catch (err) {
      for (const entry of batch.entries) entry.reject(err);
    } finally {
      this.inFlight -= 1;
      this.hooks.onBatch?.(items.length, batch.bytes, performance.now() - started);
      this.afterWrite();
    }
  }

  /** A write finished: what queued up behind it goes next, at once (the group-commit step). */
  private afterWrite(): void {
    if (this.sealed.length > 0) this.startWrites(this.closed ? Infinity : this.limits.maxInFlight);
    else if (this.open.entries.length > 0) this.seal();
    if (this.inFlight === 0 && this.sealed.length === 0 && this.open.entries.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
