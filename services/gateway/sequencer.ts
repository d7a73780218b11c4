import type { Message } from '../chat/model.js';

export interface SequencerDeps {
  /** Hands messages to the local sockets of the channel room, in order. */
  deliver(channelId: string, messages: Message[]): void;
  /** The channel's committed head (last seq) now. */
  fetchHead(channelId: string): Promise<number>;
  /** Reads committed messages with afterSeq < seq < beforeSeq (ascending) from the database. */
  fetchRange(
    channelId: string,
    afterSeq: number,
    beforeSeq: number | undefined,
  ): Promise<Message[]>;
  /** Called when a gap had to be filled from the database. */
  onGapFilled?(channelId: string, count: number): void;
  onError?(err: unknown): void;
}

interface ChannelState {
  delivered: number;
  /** Waiting for the head to start from: messages are only held until then. */
  starting: boolean;
  held: Map<number, Message>;
  timer: NodeJS.Timeout | undefined;
  filling: boolean;
  /** Set after a failed database read, so retries back off instead of spinning. */
  retryAt: number;
  touchedAt: number;
}

const RETRY_AFTER_ERROR_MS = 1000;

/**
 * Delivers message.new to one node's sockets in seq order with no gaps. Broadcasts from
 * different senders (and nodes) can arrive out of order, and an overloaded adapter can drop
 * them; because a seq is only taken after every smaller seq of the channel has committed, a
 * gap can always be filled from PostgreSQL. A message arriving ahead of a gap is held for
 * `holdMs` (the missing broadcast is usually microseconds behind), then the gap is read from
 * the database. Already delivered seqs are dropped, so each socket sees each seq once.
 */
export class ChannelSequencer {
  private readonly channels = new Map<string, ChannelState>();

  constructor(
    private readonly deps: SequencerDeps,
    private readonly holdMs = 50,
    private readonly maxChannels = 100_000,
    private readonly joinHeadWaitMs = 1000,
  ) {}

  /** The highest seq delivered on this node, if the channel is tracked. */
  delivered(channelId: string): number | undefined {
    return this.channels.get(channelId)?.delivered;
  }

  offer(message: Message): void {
    let state = this.channels.get(message.channelId);
    if (!state) {
      // A channel no local join announced (should not happen): order from the first message seen.
      this.evictIfFull();
      state = this.newState(message.seq - 1, false);
      this.channels.set(message.channelId, state);
    }
    state.touchedAt = Date.now();
    if (state.starting) {
      state.held.set(message.seq, message);
      return;
    }
    if (message.seq <= state.delivered || state.held.has(message.seq)) return;
    state.held.set(message.seq, message);
    this.flush(message.channelId, state);
  }

  /**
   * Starts ordering a channel whose first local socket just joined, from the head read when that
   * socket's handshake listed its channels: everything committed later reaches the socket live
   * (or from the database), everything before it the client syncs on connect.
   */
  startAt(channelId: string, head: number): void {
    if (this.channels.has(channelId)) return;
    this.evictIfFull();
    this.channels.set(channelId, this.newState(head, false));
  }

  /**
   * Like startAt, for a room that a membership change made elsewhere created here. That change
   * carries the channel's head at the moment it committed (startFromJoinHead), and starting
   * there is what makes a message sent right after the join reach the new member live: a head
   * read now could already include it while its broadcast is still on the way, and it would be
   * dropped as delivered. What arrives meanwhile is held. Without that head (a node of an older
   * version made the change, or its announcement was lost) the head is read from the database
   * after `joinHeadWaitMs`.
   */
  startFromDatabase(channelId: string): void {
    if (this.channels.has(channelId)) return;
    this.evictIfFull();
    const state = this.newState(0, true);
    this.channels.set(channelId, state);
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.deps
        .fetchHead(channelId)
        .then((head) => this.begin(channelId, state, head))
        .catch((err: unknown) => {
          // Fall back to starting at the first message seen, as for an unannounced channel.
          this.deps.onError?.(err);
          this.begin(channelId, state, undefined);
        });
    }, this.joinHeadWaitMs);
  }

  /** The head a membership change carried: a room still waiting to start begins there. */
  startFromJoinHead(channelId: string, head: number): void {
    const state = this.channels.get(channelId);
    if (!state?.starting) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    this.begin(channelId, state, head);
  }

  /** Ends the wait for a start: from `head`, or (unknown) from just before the first held seq. */
  private begin(channelId: string, state: ChannelState, head: number | undefined): void {
    if (this.channels.get(channelId) !== state || !state.starting) return;
    const firstHeld = state.held.size > 0 ? Math.min(...state.held.keys()) : Infinity;
    state.delivered =
      head === undefined
        ? firstHeld === Infinity
          ? 0
          : firstHeld - 1
        : Math.min(head, firstHeld - 1);
    state.starting = false;
    this.flush(channelId, state);
  }

  private newState(delivered: number, starting: boolean): ChannelState {
    return {
      delivered,
      starting,
      held: new Map(),
      timer: undefined,
      filling: false,
      retryAt: 0,
      touchedAt: Date.now(),
    };
  }

  /**
   * Makes sure everything up to `lastSeq` (the channel's committed head) is delivered, e.g.
   * after the adapter lagged or a periodic head check found the node behind.
   */
  catchUp(channelId: string, lastSeq: number): void {
    const state = this.channels.get(channelId);
    if (!state || state.starting || lastSeq <= state.delivered || state.filling) return;
    void this.fill(channelId, state, lastSeq + 1);
  }

  trackedChannels(): string[] {
    return [...this.channels.keys()];
  }

  forget(channelId: string): void {
    const state = this.channels.get(channelId);
    if (state?.timer) clearTimeout(state.timer);
    this.channels.delete(channelId);
  }

  stop(): void {
    for (const state of this.channels.values()) if (state.timer) clearTimeout(state.timer);
    this.channels.clear();
  }

  private flush(channelId: string, state: ChannelState): void {
    const ready: Message[] = [];
    let next = state.held.get(state.delivered + 1);
    while (next) {
      ready.push(next);
      state.held.delete(next.seq);
      state.delivered = next.seq;
      next = state.held.get(state.delivered + 1);
    }
    if (ready.length > 0) this.deps.deliver(channelId, ready);
    if (state.held.size === 0) {
      if (state.timer) clearTimeout(state.timer);
      state.timer = undefined;
      return;
    }
    if (!state.timer && !state.filling) {
      const delay = Math.max(this.holdMs, state.retryAt - Date.now());
      state.timer = setTimeout(() => {
        state.timer = undefined;
        const lowestHeld = Math.min(...state.held.keys());
        void this.fill(channelId, state, lowestHeld);
      }, delay);
    }
  }

  private async fill(channelId: string, state: ChannelState, beforeSeq: number): Promise<void> {
    if (state.filling) return;
    state.filling = true;
    try {
      const from = state.delivered;
      const missing = await this.deps.fetchRange(channelId, from, beforeSeq);
      if (this.channels.get(channelId) !== state) return; // forgotten meanwhile
      let filled = 0;
      for (const m of missing) {
        if (m.seq > state.delivered && !state.held.has(m.seq)) {
          state.held.set(m.seq, m);
          filled += 1;
        }
      }
      if (filled > 0) this.deps.onGapFilled?.(channelId, filled);
      // Seqs below a committed seq are committed too, so an empty read can only mean the
      // channel's history was deleted; skip ahead rather than hold forever.
      const stillMissing =
        beforeSeq - 1 > state.delivered && !missing.some((m) => m.seq === state.delivered + 1);
      if (stillMissing && state.held.size > 0) state.delivered = Math.min(...state.held.keys()) - 1;
      state.retryAt = 0;
    } catch (err) {
      state.retryAt = Date.now() + RETRY_AFTER_ERROR_MS;
      this.deps.onError?.(err);
    } finally {
      state.filling = false;
    }
    this.flush(channelId, state);
  }

  private evictIfFull(): void {
    if (this.channels.size < this.maxChannels) return;
    let oldest: [string, number] | undefined;
    for (const [id, s] of this.channels)
      if (!oldest || s.touchedAt < oldest[1]) oldest = [id, s.touchedAt];
    if (oldest) this.forget(oldest[0]);
  }
}
