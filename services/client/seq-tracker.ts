/** What ordering needs to know about a message. */
export interface Sequenced {
  channelId: string;
  seq: number;
}

export interface Offered<M> {
  /** Messages that may now be shown, in seq order; each seq is delivered once. */
  deliver: M[];
  /** True while a message ahead of a missing seq is held back: catch-up must fill the hole. */
  gap: boolean;
}

interface ChannelState<M> {
  last: number;
  ahead: Map<number, M>;
}

/**
 * Per-channel ordering on the receiving side. The server numbers messages per channel without
 * gaps, so `last + 1` is the only seq that can be shown next: older ones are duplicates (a
 * recovered connection replays, a sync overlaps a live event) and newer ones mean something was
 * missed. Those are held back, bounded, until catch-up supplies the missing ones; anything
 * dropped from the hold-back is fetched again by that same catch-up.
 */
export class SeqTracker<M extends Sequenced> {
  private readonly channels = new Map<string, ChannelState<M>>();

  constructor(private readonly maxHeldBack = 1000) {}

  /**
   * Declares that everything up to `seq` is already held (history loaded, counted as unread).
   * Never moves a channel backwards. Returns held-back messages that became deliverable.
   */
  track(channelId: string, seq: number): M[] {
    const state = this.channels.get(channelId);
    if (!state) {
      this.channels.set(channelId, { last: seq, ahead: new Map() });
      return [];
    }
    if (seq <= state.last) return [];
    state.last = seq;
    for (const held of state.ahead.keys()) if (held <= seq) state.ahead.delete(held);
    return this.drain(state);
  }

  isTracked(channelId: string): boolean {
    return this.channels.has(channelId);
  }

  /** The highest seq delivered (or declared held) for the channel; undefined when untracked. */
  lastSeq(channelId: string): number | undefined {
    return this.channels.get(channelId)?.last;
  }

  channelIds(): string[] {
    return [...this.channels.keys()];
  }

  hasGap(channelId: string): boolean {
    return (this.channels.get(channelId)?.ahead.size ?? 0) > 0;
  }

  forget(channelId: string): void {
    this.channels.delete(channelId);
  }

  /**
   * Offers a received message. A channel seen for the first time starts at that message: with
   * nothing held before it there is nothing to compare against.
   */
  offer(message: M): Offered<M> {
    let state = this.channels.get(message.channelId);
    if (!state) {
      state = { last: message.seq - 1, ahead: new Map() };
      this.channels.set(message.channelId, state);
    }
    if (message.seq <= state.last) return { deliver: [], gap: state.ahead.size > 0 };
    if (message.seq > state.last + 1) {
      if (state.ahead.size < this.maxHeldBack) state.ahead.set(message.seq, message);
      return { deliver: [], gap: true };
    }
    state.last = message.seq;
    const deliver = [message, ...this.drain(state)];
    return { deliver, gap: state.ahead.size > 0 };
  }

  private drain(state: ChannelState<M>): M[] {
    const out: M[] = [];
    for (let next = state.ahead.get(state.last + 1); next; next = state.ahead.get(state.last + 1)) {
      state.ahead.delete(next.seq);
      state.last = next.seq;
      out.push(next);
    }
    return out;
  }
}
