import type { SeqTracker, Sequenced } from './seq-tracker.js';

export interface SyncPage<M> {
  messages: M[];
  hasMore: boolean;
}

/** One `channel.sync` round trip: messages with seq > afterSeq, ascending. */
export type FetchSyncPage<M> = (channelId: string, afterSeq: number) => Promise<SyncPage<M>>;

export class CatchUpStalled extends Error {
  constructor(readonly channelId: string) {
    super(
      `channel.sync for ${channelId} reported more messages but returned none past the last seq held`,
    );
    this.name = 'CatchUpStalled';
  }
}

/**
 * Brings tracked channels up to date through `channel.sync`, paging until the server says there
 * is nothing more. At most one run per channel at a time: asking again while a run is under way
 * makes that run go round once more (the request may have been caused by something the current
 * page already missed) instead of starting a second, overlapping one.
 */
export class CatchUp<M extends Sequenced> {
  private readonly runs = new Map<string, { again: boolean; done: Promise<void> }>();

  constructor(
    private readonly tracker: SeqTracker<M>,
    private readonly fetchPage: FetchSyncPage<M>,
    private readonly deliver: (messages: M[]) => void,
  ) {}

  /** Resolves once the channel holds everything the server had when the last request came in. */
  request(channelId: string): Promise<void> {
    const running = this.runs.get(channelId);
    if (running) {
      running.again = true;
      return running.done;
    }
    const run = { again: false, done: Promise.resolve() };
    run.done = (async () => {
      try {
        do {
          run.again = false;
          await this.pageThrough(channelId);
        } while (run.again);
      } finally {
        this.runs.delete(channelId);
      }
    })();
    this.runs.set(channelId, run);
    return run.done;
  }

  isRunning(channelId: string): boolean {
    return this.runs.has(channelId);
  }

  private async pageThrough(channelId: string): Promise<void> {
    for (;;) {
      // A channel forgotten meanwhile (left, removed) has nothing left to catch up on.
      const after = this.tracker.lastSeq(channelId);
      if (after === undefined) return;
      const page = await this.fetchPage(channelId, after);
      if (!this.tracker.isTracked(channelId)) return;
      for (const message of page.messages) {
        if (message.channelId !== channelId) continue;
        const { deliver } = this.tracker.offer(message);
        if (deliver.length > 0) this.deliver(deliver);
      }
      if (!page.hasMore) return;
      if ((this.tracker.lastSeq(channelId) ?? after) <= after) throw new CatchUpStalled(channelId);
    }
  }
}
