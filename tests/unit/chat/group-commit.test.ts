import { jest } from '@jest/globals';
import fc from 'fast-check';
import {
  GroupCommit,
  GroupCommitBusyError,
  GroupCommitClosedError,
  type GroupCommitLimits,
  type Outcome,
} from '../../../services/chat/group-commit.js';

// The batcher's window timer runs on jest's fake timers: a test moves time by exactly what it
// needs, so nothing here depends on how busy the machine is.
beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  jest.useRealTimers();
});

interface Item {
  id: number;
  bytes: number;
  fail?: boolean;
}

/** A write the test finishes by hand, recording every batch it was given. */
function harness(limits: Partial<GroupCommitLimits> = {}) {
  const batches: { items: Item[]; startedAt: number; finish(): void; crash(err: Error): void }[] =
    [];
  let writing = 0;
  let maxWriting = 0;
  const gc = new GroupCommit<Item, string>(
    { maxItems: 4, maxBytes: 1000, maxWaitMs: 10, maxInFlight: 2, ...limits },
    (items) => {
      writing += 1;
      maxWriting = Math.max(maxWriting, writing);
      return new Promise<Outcome<string>[]>((resolve, reject) => {
        batches.push({
          items,
          startedAt: Date.now(),
          finish: () => {
            writing -= 1;
            resolve(
              items.map((i) =>
                i.fail
                  ? { ok: false, error: new Error(`item ${i.id} is bad`) }
                  : { ok: true, value: `stored ${i.id}` },
              ),
            );
          },
          crash: (err) => {
            writing -= 1;
            reject(err);
          },
        });
      });
    },
    (i) => i.bytes,
  );
  let next = 1;
  const submit = (bytes = 10, fail = false) => {
    const item = { id: next++, bytes, fail };
    const result = gc.submit(item).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error: error as Error }),
    );
    return { item, result };
  };
  return { gc, batches, submit, maxWriting: () => maxWriting };
}

const ids = (items: Item[]) => items.map((i) => i.id);
/** Lets promise callbacks run without moving the clock. */
const flushMicrotasks = () => jest.advanceTimersByTimeAsync(0);

test('an idle writer writes a send at once, alone: nothing waits for a batch to fill', async () => {
  const { batches, submit } = harness();
  const a = submit();
  expect(batches).toHaveLength(1);
  expect(ids(batches[0]!.items)).toEqual([1]);
  expect(batches[0]!.startedAt).toBe(1_000_000);
  batches[0]!.finish();
  expect(await a.result).toEqual({ ok: true, value: 'stored 1' });
});

test('sends arriving while a batch is written go together as the next batch, as soon as it is done', async () => {
  const { batches, submit } = harness({ maxWaitMs: 50 });
  const first = submit();
  const later = [submit(), submit(), submit()];
  expect(batches).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(3);
  batches[0]!.finish();
  await flushMicrotasks();
  // Not after the 50 ms window: right when the write in flight settled.
  expect(batches).toHaveLength(2);
  expect(ids(batches[1]!.items)).toEqual([2, 3, 4]);
  expect(batches[1]!.startedAt).toBe(1_000_003);
  batches[1]!.finish();
  expect((await first.result).ok).toBe(true);
  for (const [i, s] of later.entries())
    expect(await s.result).toEqual({ ok: true, value: `stored ${i + 2}` });
});

test('a full batch (count) starts beside the one in flight without waiting for the window', async () => {
  const { batches, submit } = harness({ maxItems: 3, maxWaitMs: 1000 });
  submit();
  for (let i = 0; i < 3; i++) submit();
  expect(batches.map((b) => ids(b.items))).toEqual([[1], [2, 3, 4]]);
  // The next sends open a new batch; both slots are busy, so it waits for one to free up.
  submit();
  expect(batches).toHaveLength(2);
  batches[0]!.finish();
  await flushMicrotasks();
  expect(batches.map((b) => ids(b.items))).toEqual([[1], [2, 3, 4], [5]]);
});

test('the byte bound closes a batch before it would overflow, and an oversized send travels alone', async () => {
  const { batches, submit } = harness({ maxBytes: 100, maxInFlight: 1 });
  submit(10);
  submit(60);
  submit(60); // 120 > 100: closes [2] and opens a batch with [3]
  submit(500); // larger than the bound on its own: closes [3], then is a full batch itself
  submit(10);
  expect(batches).toHaveLength(1);
  for (let expected = 2; expected <= 4; expected++) {
    batches.at(-1)!.finish();
    await flushMicrotasks();
  }
  expect(batches.map((b) => ids(b.items))).toEqual([[1], [2], [3], [4]]);
  batches.at(-1)!.finish();
  await flushMicrotasks();
  expect(ids(batches.at(-1)!.items)).toEqual([5]);
});

test('a send waits at most maxWaitMs for a slow batch in flight before its own starts beside it', async () => {
  const { batches, submit } = harness({ maxWaitMs: 10, maxInFlight: 2 });
  submit();
  await jest.advanceTimersByTimeAsync(2);
  submit();
  await jest.advanceTimersByTimeAsync(9);
  submit();
  expect(batches).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1); // 10 ms after send 2 arrived
  expect(batches.map((b) => ids(b.items))).toEqual([[1], [2, 3]]);
  expect(batches[1]!.startedAt).toBe(1_000_012);
});

test('with every slot busy, a timed-out batch queues and goes first when a slot frees up', async () => {
  const { batches, submit, maxWriting } = harness({ maxWaitMs: 5, maxInFlight: 1 });
  submit();
  submit();
  await jest.advanceTimersByTimeAsync(5); // batch [2] is closed but has no slot
  submit();
  await jest.advanceTimersByTimeAsync(5); // batch [3] is closed too
  submit();
  expect(batches).toHaveLength(1);
  batches[0]!.finish();
  await flushMicrotasks();
  expect(ids(batches[1]!.items)).toEqual([2]);
  batches[1]!.finish();
  await flushMicrotasks();
  expect(ids(batches[2]!.items)).toEqual([3]);
  batches[2]!.finish();
  await flushMicrotasks();
  expect(ids(batches[3]!.items)).toEqual([4]);
  expect(maxWriting()).toBe(1);
});

test('one bad send in a batch fails alone; its neighbours get their own answers', async () => {
  const { batches, submit } = harness();
  submit();
  const sends = [submit(), submit(10, true), submit()];
  batches[0]!.finish();
  await flushMicrotasks();
  batches[1]!.finish();
  const [a, bad, c] = await Promise.all(sends.map((s) => s.result));
  expect(a).toEqual({ ok: true, value: 'stored 2' });
  expect(bad!.ok).toBe(false);
  expect(bad!.ok === false && bad!.error.message).toBe('item 3 is bad');
  expect(c).toEqual({ ok: true, value: 'stored 4' });
});

test('a write that throws fails its own batch only; the next batch is written as usual', async () => {
  const { batches, submit } = harness();
  const first = submit();
  const second = submit();
  batches[0]!.crash(new Error('connection reset'));
  await flushMicrotasks();
  batches[1]!.finish();
  const r1 = await first.result;
  expect(r1.ok === false && r1.error.message).toBe('connection reset');
  expect(await second.result).toEqual({ ok: true, value: 'stored 2' });
});

test('a write answering the wrong number of outcomes fails the whole batch instead of mismatching answers', async () => {
  const gc = new GroupCommit<number, number>(
    { maxItems: 10, maxBytes: 1000, maxWaitMs: 1, maxInFlight: 1 },
    async (items) => items.slice(1).map((v) => ({ ok: true, value: v })),
    () => 1,
  );
  await expect(gc.submit(7)).rejects.toThrow('answered 0 outcomes for 1 items');
});

test('close writes what was accepted at once, waits for it, and refuses new sends', async () => {
  const { gc, batches, submit } = harness({ maxWaitMs: 1000, maxInFlight: 1 });
  const a = submit();
  const b = submit();
  let closed = false;
  const closing = gc.close().then(() => (closed = true));
  const late = submit();
  expect((await late.result).ok === false).toBe(true);
  const lateResult = await late.result;
  expect(lateResult.ok === false && lateResult.error).toBeInstanceOf(GroupCommitClosedError);
  batches[0]!.finish();
  await flushMicrotasks();
  // The window is 1 s; close does not wait for it.
  expect(ids(batches[1]!.items)).toEqual([2]);
  expect(closed).toBe(false);
  batches[1]!.finish();
  await closing;
  expect((await a.result).ok && (await b.result).ok).toBe(true);
  expect(gc.queued).toBe(0);
  expect(gc.writing).toBe(0);
});

test('limits are validated', () => {
  const make = (limits: Partial<GroupCommitLimits>) =>
    new GroupCommit(
      { maxItems: 1, maxBytes: 1, maxWaitMs: 0, maxInFlight: 1, ...limits },
      async () => [],
      () => 1,
    );
  expect(() => make({})).not.toThrow();
  expect(() => make({ maxItems: 0 })).toThrow(RangeError);
  expect(() => make({ maxInFlight: 0 })).toThrow(RangeError);
  expect(() => make({ maxWaitMs: -1 })).toThrow(RangeError);
  expect(() => make({ maxBytes: Number.NaN })).toThrow(RangeError);
});

test('property: any arrival pattern keeps every bound, every answer and submission order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        maxItems: fc.integer({ min: 1, max: 6 }),
        maxBytes: fc.integer({ min: 20, max: 200 }),
        maxWaitMs: fc.integer({ min: 0, max: 20 }),
        maxInFlight: fc.integer({ min: 1, max: 3 }),
        // Refusals under backlog have their own test.
        maxQueued: fc.constant(10_000),
      }),
      // Each step: wait some ms, submit a send of some size, maybe finish the oldest write.
      fc.array(
        fc.record({
          gapMs: fc.integer({ min: 0, max: 15 }),
          bytes: fc.integer({ min: 1, max: 250 }),
          fail: fc.boolean(),
          finishOldest: fc.boolean(),
        }),
        { minLength: 1, maxLength: 40 },
      ),
      async (limits, steps) => {
        const { gc, batches, submit, maxWriting } = harness(limits);
        const submitted: { id: number; at: number; result: Promise<unknown>; fail: boolean }[] = [];
        let finished = 0;
        const finishOldest = async () => {
          const open = batches.slice(finished);
          if (open.length === 0) return false;
          // Writes can finish in any order; finish the oldest unfinished one.
          open[0]!.finish();
          finished += 1;
          await flushMicrotasks();
          return true;
        };
        for (const step of steps) {
          await jest.advanceTimersByTimeAsync(step.gapMs);
          const wasIdle = gc.writing === 0 && gc.queued === 0;
          const s = submit(step.bytes, step.fail);
          submitted.push({ id: s.item.id, at: Date.now(), result: s.result, fail: step.fail });
          // An idle writer starts the send right away.
          if (wasIdle) expect(batches.at(-1)!.items.at(-1)!.id).toBe(s.item.id);
          if (step.finishOldest) await finishOldest();
        }
        // Drain: time passes and every write eventually finishes.
        for (let guard = 0; guard < 1000; guard++) {
          await jest.advanceTimersByTimeAsync(limits.maxWaitMs + 1);
          if (!(await finishOldest()) && gc.queued === 0 && gc.writing === 0) break;
        }
        expect(gc.queued).toBe(0);
        expect(maxWriting()).toBeLessThanOrEqual(limits.maxInFlight);
        const seen = batches.flatMap((b) => ids(b.items));
        // Every send written exactly once, batches in submission order.
        expect(seen).toEqual(submitted.map((s) => s.id));
        for (const b of batches) {
          expect(b.items.length).toBeLessThanOrEqual(limits.maxItems);
          const bytes = b.items.reduce((n, i) => n + i.bytes, 0);
          if (b.items.length > 1) expect(bytes).toBeLessThanOrEqual(limits.maxBytes);
        }
        // Each send got its own answer.
        for (const s of submitted) {
          const r = (await s.result) as { ok: boolean; value?: string };
          expect(r.ok).toBe(!s.fail);
          if (r.ok) expect(r.value).toBe(`stored ${s.id}`);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('past maxQueued waiting sends, new ones are refused at once (retryable) until the backlog drains', async () => {
  const { gc, batches, submit } = harness({ maxItems: 2, maxQueued: 3, maxInFlight: 1 });
  submit(); // written at once: not waiting
  const waiting = [submit(), submit(), submit()];
  const refused = submit();
  const r = await refused.result;
  expect(r.ok === false && r.error).toBeInstanceOf(GroupCommitBusyError);
  expect(gc.queued).toBe(3);
  batches[0]!.finish();
  await flushMicrotasks();
  // [2, 3] is being written, [4] waits: room again.
  expect(gc.queued).toBe(1);
  const later = submit();
  batches[1]!.finish();
  await flushMicrotasks();
  batches[2]!.finish();
  for (const s of [...waiting, later]) expect((await s.result).ok).toBe(true);
});
