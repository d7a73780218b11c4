import { WorkQueue, type Clock } from '../../../services/operator/work-queue.js';

/** A clock whose timers fire only when the test advances it. */
function manualClock() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 1;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      timers = timers.filter((t) => t.id !== id);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
    timers = timers.filter((t) => t.at > now);
    for (const t of due) t.fn();
  };
  return { clock, advance, pending: () => timers.length };
}

test('a key queued many times is handed out once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  expect(q.depth).toBe(2);
  expect(await q.get()).toBe('a');
  expect(await q.get()).toBe('b');
  expect(q.depth).toBe(0);
});

test('a key is never processed twice at once; an add while it runs re-queues it after', async () => {
  const q = new WorkQueue();
  q.add('a');
  const key = await q.get();
  q.add('a'); // changed while being reconciled
  expect(q.depth).toBe(0);
  q.done(key!);
  expect(q.depth).toBe(1);
  expect(await q.get()).toBe('a');
});

test('a waiting worker gets the next key at once', async () => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.add('x');
  expect(await waiting).toBe('x');
});

test('delayed adds: the earliest wins, an immediate add cancels the delay', () => {
  const { clock, advance, pending } = manualClock();
  const q = new WorkQueue({ clock });
  q.addAfter('a', 10_000);
  q.addAfter('a', 3_000);
  q.addAfter('a', 8_000);
  expect(pending()).toBe(1);
  advance(2_999);
  expect(q.depth).toBe(0);
  advance(1);
  expect(q.depth).toBe(1);
  q.addAfter('b', 5_000);
  q.add('b');
  expect(pending()).toBe(0);
  expect(q.depth).toBe(2);
});

test('failures back off exponentially per key and forget resets them', () => {
  const { clock } = manualClock();
  const q = new WorkQueue({ clock, retryBaseMs: 1000, retryMaxMs: 60_000, random: () => 1 });
  expect([1, 2, 3, 4].map(() => q.addRateLimited('a'))).toEqual([1000, 2000, 4000, 8000]);
  expect(q.addRateLimited('b')).toBe(1000);
  for (let i = 0; i < 10; i++) q.addRateLimited('a');
  expect(q.addRateLimited('a')).toBe(60_000);
  q.forget('a');
  expect(q.failuresOf('a')).toBe(0);
  expect(q.addRateLimited('a')).toBe(1000);
});

test('shutting down releases waiting workers and drops pending keys', async () => {
  const { clock, pending } = manualClock();
  const q = new WorkQueue({ clock });
  const waiting = q.get();
  q.addAfter('later', 1000);
  q.shutDown();
  expect(await waiting).toBeUndefined();
  expect(pending()).toBe(0);
  q.add('after');
  expect(await q.get()).toBeUndefined();
});
