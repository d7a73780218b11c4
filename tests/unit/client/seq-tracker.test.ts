import fc from 'fast-check';
import { SeqTracker } from '../../../services/client/seq-tracker.js';

type M = { channelId: string; seq: number; text: string };
const msg = (seq: number, channelId = 'a'): M => ({ channelId, seq, text: `m${seq}` });
const seqs = (list: M[]) => list.map((m) => m.seq);

describe('SeqTracker', () => {
  it('delivers the next seq and drops anything already held', () => {
    const t = new SeqTracker<M>();
    t.track('a', 4);
    expect(seqs(t.offer(msg(5)).deliver)).toEqual([5]);
    expect(t.offer(msg(5))).toEqual({ deliver: [], gap: false });
    expect(t.offer(msg(3))).toEqual({ deliver: [], gap: false });
    expect(t.lastSeq('a')).toBe(5);
  });

  it('holds back a message beyond a hole, reports the gap, and releases it in order once filled', () => {
    const t = new SeqTracker<M>();
    t.track('a', 1);
    expect(t.offer(msg(4))).toEqual({ deliver: [], gap: true });
    expect(t.offer(msg(3))).toEqual({ deliver: [], gap: true });
    expect(t.hasGap('a')).toBe(true);
    expect(t.lastSeq('a')).toBe(1);
    const filled = t.offer(msg(2));
    expect(seqs(filled.deliver)).toEqual([2, 3, 4]);
    expect(filled.gap).toBe(false);
    expect(t.lastSeq('a')).toBe(4);
  });

  it('starts an unknown channel at the first message seen, and keeps channels apart', () => {
    const t = new SeqTracker<M>();
    expect(seqs(t.offer(msg(10, 'b')).deliver)).toEqual([10]);
    expect(seqs(t.offer(msg(1, 'a')).deliver)).toEqual([1]);
    expect(t.offer(msg(12, 'b')).gap).toBe(true);
    expect(t.hasGap('a')).toBe(false);
    expect(t.channelIds().sort()).toEqual(['a', 'b']);
  });

  it('never moves a channel backwards, and track() releases held messages it makes contiguous', () => {
    const t = new SeqTracker<M>();
    t.track('a', 5);
    expect(t.track('a', 2)).toEqual([]);
    expect(t.lastSeq('a')).toBe(5);
    t.offer(msg(8));
    t.offer(msg(9));
    expect(seqs(t.track('a', 7))).toEqual([8, 9]);
    expect(t.hasGap('a')).toBe(false);
  });

  it('bounds what it holds back; the dropped messages are left for catch-up to fetch', () => {
    const t = new SeqTracker<M>(2);
    t.track('a', 0);
    for (const s of [3, 4, 5, 6]) t.offer(msg(s));
    expect(seqs(t.offer(msg(1)).deliver)).toEqual([1]);
    expect(seqs(t.offer(msg(2)).deliver)).toEqual([2, 3, 4]);
    expect(t.lastSeq('a')).toBe(4);
    expect(seqs(t.offer(msg(5)).deliver)).toEqual([5]);
  });

  it('forgets a channel entirely', () => {
    const t = new SeqTracker<M>();
    t.track('a', 3);
    t.forget('a');
    expect(t.isTracked('a')).toBe(false);
    expect(t.lastSeq('a')).toBeUndefined();
  });

  it('whatever order and repetition messages arrive in, delivers each seq at most once and ascending', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 200 }), (arrivals) => {
        const t = new SeqTracker<M>();
        t.track('a', 0);
        const delivered: number[] = [];
        for (const s of arrivals) delivered.push(...seqs(t.offer(msg(s)).deliver));
        // Delivered is exactly 1..k for the longest prefix 1..k present among the arrivals.
        let k = 0;
        while (arrivals.includes(k + 1)) k += 1;
        expect(delivered).toEqual(Array.from({ length: k }, (_, i) => i + 1));
        expect(t.hasGap('a')).toBe(arrivals.some((s) => s > k + 1));
      }),
    );
  });
});
