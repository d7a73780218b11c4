import { backoffDelay } from '../../../services/events/backoff.js';

test('delays grow exponentially up to the cap, with jitter between half the base and the ceiling', () => {
  expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
  expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(100);
  expect(backoffDelay(4, 100, 10_000, () => 1)).toBe(800);
  expect(backoffDelay(30, 100, 10_000, () => 1)).toBe(10_000);
  expect(backoffDelay(1000, 100, 10_000, () => 1)).toBe(10_000);
});

test('jitter spreads retries of the same attempt', () => {
  const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(5, 100, 10_000)));
  expect(delays.size).toBeGreaterThan(10);
  for (const d of delays) {
    expect(d).toBeGreaterThanOrEqual(50);
    expect(d).toBeLessThanOrEqual(1600);
  }
});
