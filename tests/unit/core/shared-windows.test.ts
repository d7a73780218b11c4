import { SharedLimit, type WindowStore } from '../../../services/core/message-limits.js';
import { SharedWindows } from '../../../services/core/shared-windows.js';

const T0 = 1_000_000;

/** A store like Redis's: counters with a time to live, on a clock the test moves. */
function fakeStore(clock: { now: number }) {
  const counters = new Map<string, { value: number; expiresAt: number }>();
  let up = true;
  let calls = 0;
  const store: WindowStore = {
    ready: () => up,
    add: async (items) => {
      calls += 1;
      if (!up) throw new Error('connection is closed');
      return items.map((i) => {
        let c = counters.get(i.key);
        if (!c || clock.now >= c.expiresAt) {
          c = { value: 0, expiresAt: clock.now + i.ttlMs };
          counters.set(i.key, c);
        }
        c.value += i.delta;
        return { total: c.value, pttlMs: c.expiresAt - clock.now };
      });
    },
  };
  return {
    store,
    counters,
    calls: () => calls,
    setUp: (v: boolean) => (up = v),
  };
}

function process2(limit: { points: number; durationMs: number }, share = 0.5) {
  const clock = { now: T0 };
  const redis = fakeStore(clock);
  const make = () =>
    new SharedLimit(
      new SharedWindows({ ...limit, localShare: share }),
      'p:rl:message',
      redis.store,
      () => clock.now,
    );
  return { clock, redis, a: make(), b: make() };
}

test('far below the limit a take is decided locally; the store hears of it with the next sync', async () => {
  const { redis, a } = process2({ points: 10, durationMs: 1000 });
  for (let i = 0; i < 5; i++) expect(await a.take('u')).toEqual({ ok: true });
  expect(redis.calls()).toBe(0);
  await a.sync();
  expect(redis.calls()).toBe(1);
  expect(redis.counters.get('p:rl:message:u')?.value).toBe(5);
  await a.sync(); // nothing new: no call
  expect(redis.calls()).toBe(1);
});

test('close to the limit each take asks the store: one process gives out exactly the limit', async () => {
  const { redis, a } = process2({ points: 10, durationMs: 1000 });
  const verdicts = [];
  for (let i = 0; i < 14; i++) verdicts.push(await a.take('u'));
  expect(verdicts.filter((v) => v.ok)).toHaveLength(10);
  expect(
    verdicts.slice(10).every((v) => !v.ok && v.retryAfterMs > 0 && v.retryAfterMs <= 1000),
  ).toBe(true);
  // Once the window is known to be full, refusals need no store call at all.
  const callsWhenFull = redis.calls();
  await a.take('u');
  expect(redis.calls()).toBe(callsWhenFull);
});

test('two processes share one window: together they never give out more than the limit once they ask', async () => {
  const { a, b } = process2({ points: 10, durationMs: 1000 });
  // Interleaved, as a user with two devices on two gateways sends.
  const verdicts = [];
  for (let i = 0; i < 20; i++) verdicts.push(await (i % 2 ? b : a).take('u'));
  // Each gives its local share (half the limit) on its own, then asks; the store is exact.
  expect(verdicts.filter((v) => v.ok).length).toBeLessThanOrEqual(10 + 10 * 0.5);
  // After a sync both know the window is full.
  await a.sync();
  await b.sync();
  expect((await a.take('u')).ok).toBe(false);
  expect((await b.take('u')).ok).toBe(false);
});

test('what another process took, learnt from a sync, counts against the local share', async () => {
  const { a, b } = process2({ points: 10, durationMs: 1000 });
  for (let i = 0; i < 4; i++) await b.take('u');
  await b.sync();
  await a.take('u'); // a's first take: local
  await a.sync(); // a learns the total (5)
  // 5 of 10 are used: past the local share, so a asks for each of the remaining 5.
  const verdicts = [];
  for (let i = 0; i < 7; i++) verdicts.push(await a.take('u'));
  expect(verdicts.filter((v) => v.ok)).toHaveLength(5);
});

test('a new window starts empty; retryAfter counts down to it', async () => {
  const { clock, a } = process2({ points: 2, durationMs: 1000 });
  expect((await a.take('u')).ok).toBe(true);
  expect((await a.take('u')).ok).toBe(true);
  clock.now += 400;
  const refused = await a.take('u');
  expect(refused).toEqual({ ok: false, retryAfterMs: 600 });
  clock.now += 600;
  expect((await a.take('u')).ok).toBe(true);
});

test('keys are independent', async () => {
  const { a } = process2({ points: 1, durationMs: 1000 });
  expect((await a.take('u1')).ok).toBe(true);
  expect((await a.take('u1')).ok).toBe(false);
  expect((await a.take('u2')).ok).toBe(true);
});

test('with Redis down, a process still holds each key to the limit with its own count, and syncs later', async () => {
  const { redis, a } = process2({ points: 4, durationMs: 10_000 });
  redis.setUp(false);
  const verdicts = [];
  for (let i = 0; i < 6; i++) verdicts.push(await a.take('u'));
  expect(verdicts.map((v) => v.ok)).toEqual([true, true, true, true, false, false]);
  await a.sync(); // not ready: nothing sent
  redis.setUp(true);
  await a.sync();
  // Every point taken while Redis was away reached it (refused takes are counted as well).
  expect(redis.counters.get('p:rl:message:u')?.value).toBeGreaterThanOrEqual(4);
});

test('a sync that fails keeps its points for the next one', async () => {
  const clock = { now: T0 };
  const redis = fakeStore(clock);
  let fail = true;
  const flaky: WindowStore = {
    ready: () => true,
    add: async (items) => {
      if (fail) throw new Error('timeout');
      return redis.store.add(items);
    },
  };
  const a = new SharedLimit(
    new SharedWindows({ points: 100, durationMs: 1000, localShare: 0.5 }),
    'k',
    flaky,
    () => clock.now,
  );
  for (let i = 0; i < 3; i++) await a.take('u');
  await a.sync();
  fail = false;
  await a.sync();
  expect(redis.counters.get('k:u')?.value).toBe(3);
});

test('limits are validated', () => {
  expect(() => new SharedWindows({ points: 0, durationMs: 1000, localShare: 0.5 })).toThrow(
    RangeError,
  );
  expect(() => new SharedWindows({ points: 1, durationMs: 1000, localShare: 2 })).toThrow(
    RangeError,
  );
});

test('takes made while an ask is on its way count it: a burst at once gets exactly the limit', async () => {
  const { a } = process2({ points: 3, durationMs: 1000 });
  const verdicts = await Promise.all(Array.from({ length: 8 }, () => a.take('u')));
  expect(verdicts.filter((v) => v.ok)).toHaveLength(3);
});
