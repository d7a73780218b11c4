import fc from 'fast-check';
import { CatchUp, CatchUpStalled, type SyncPage } from '../../../services/client/catch-up.js';
import { SeqTracker } from '../../../services/client/seq-tracker.js';

type M = { channelId: string; seq: number };

/** A channel's history as the server holds it, answering channel.sync the way the contract says. */
function serverWith(count: number, pageSize: number) {
  const calls: number[] = [];
  const fetchPage = async (channelId: string, afterSeq: number): Promise<SyncPage<M>> => {
    calls.push(afterSeq);
    const messages: M[] = [];
    for (let s = afterSeq + 1; s <= Math.min(count, afterSeq + pageSize); s++)
      messages.push({ channelId, seq: s });
    return { messages, hasMore: afterSeq + pageSize < count };
  };
  return { calls, fetchPage };
}

describe('CatchUp', () => {
  it('pages from the last seq held until the server has no more, delivering each message once', async () => {
    const tracker = new SeqTracker<M>();
    tracker.track('a', 3);
    const server = serverWith(11, 3);
    const delivered: number[] = [];
    const catchUp = new CatchUp(tracker, server.fetchPage, (ms) =>
      delivered.push(...ms.map((m) => m.seq)),
    );
    await catchUp.request('a');
    expect(server.calls).toEqual([3, 6, 9]);
    expect(delivered).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(tracker.lastSeq('a')).toBe(11);
  });

  it('releases messages that were held back behind the hole it fills', async () => {
    const tracker = new SeqTracker<M>();
    tracker.track('a', 1);
    tracker.offer({ channelId: 'a', seq: 5 });
    const delivered: number[] = [];
    const catchUp = new CatchUp(tracker, serverWith(4, 10).fetchPage, (ms) =>
      delivered.push(...ms.map((m) => m.seq)),
    );
    await catchUp.request('a');
    expect(delivered).toEqual([2, 3, 4, 5]);
    expect(tracker.hasGap('a')).toBe(false);
  });

  it('runs one sync per channel at a time; a request during a run makes it go round again', async () => {
    const tracker = new SeqTracker<M>();
    tracker.track('a', 0);
    let total = 2;
    const calls: number[] = [];
    let release!: () => void;
    const firstPageGate = new Promise<void>((r) => (release = r));
    const fetchPage = async (channelId: string, afterSeq: number): Promise<SyncPage<M>> => {
      calls.push(afterSeq);
      if (calls.length === 1) await firstPageGate;
      const messages: M[] = [];
      for (let s = afterSeq + 1; s <= total; s++) messages.push({ channelId, seq: s });
      return { messages, hasMore: false };
    };
    const delivered: number[] = [];
    const catchUp = new CatchUp(tracker, fetchPage, (ms) =>
      delivered.push(...ms.map((m) => m.seq)),
    );
    const first = catchUp.request('a');
    // Two more messages are committed after the first page was read, and another gap is seen.
    total = 4;
    const second = catchUp.request('a');
    release();
    await Promise.all([first, second]);
    expect(calls).toEqual([0, 4]);
    expect(delivered).toEqual([1, 2, 3, 4]);
    expect(catchUp.isRunning('a')).toBe(false);
  });

  it('fails instead of looping when the server claims more but returns nothing new', async () => {
    const tracker = new SeqTracker<M>();
    tracker.track('a', 2);
    const catchUp = new CatchUp(
      tracker,
      async () => ({ messages: [{ channelId: 'a', seq: 2 }], hasMore: true }),
      () => {},
    );
    await expect(catchUp.request('a')).rejects.toBeInstanceOf(CatchUpStalled);
    expect(catchUp.isRunning('a')).toBe(false);
  });

  it('does nothing for a channel that is not tracked, and stops when the channel is forgotten mid-run', async () => {
    const tracker = new SeqTracker<M>();
    const server = serverWith(5, 2);
    const catchUp = new CatchUp(tracker, server.fetchPage, () => {});
    await catchUp.request('a');
    expect(server.calls).toEqual([]);

    tracker.track('b', 0);
    const forgetting = new CatchUp(
      tracker,
      async (channelId, afterSeq) => {
        tracker.forget('b');
        return server.fetchPage(channelId, afterSeq);
      },
      () => {},
    );
    await forgetting.request('b');
    expect(tracker.isTracked('b')).toBe(false);
  });

  it('propagates a failed page and lets a later request start afresh', async () => {
    const tracker = new SeqTracker<M>();
    tracker.track('a', 0);
    let fail = true;
    const server = serverWith(3, 10);
    const catchUp = new CatchUp(
      tracker,
      async (channelId, afterSeq) => {
        if (fail) throw new Error('connection lost');
        return server.fetchPage(channelId, afterSeq);
      },
      () => {},
    );
    await expect(catchUp.request('a')).rejects.toThrow('connection lost');
    fail = false;
    await catchUp.request('a');
    expect(tracker.lastSeq('a')).toBe(3);
  });

  it('after any mix of live arrivals, a catch-up leaves the client holding exactly 1..n in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 60 }),
        async (n, pageSize, arrivals) => {
          const tracker = new SeqTracker<M>();
          tracker.track('a', 0);
          const delivered: number[] = [];
          for (const s of arrivals.filter((s) => s <= n))
            delivered.push(...tracker.offer({ channelId: 'a', seq: s }).deliver.map((m) => m.seq));
          await new CatchUp(tracker, serverWith(n, pageSize).fetchPage, (ms) =>
            delivered.push(...ms.map((m) => m.seq)),
          ).request('a');
          expect(delivered).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        },
      ),
    );
  });
});
