import { decide, microTime, observe } from '../../../services/operator/leader-election.js';

const ME = 'op-a';
const lease = (holder: string | undefined, renewTime = 't1', durationS = 15) => ({
  holderIdentity: holder,
  renewTime,
  leaseDurationSeconds: durationS,
  leaseTransitions: 0,
});

test('no lease: create it; our own lease: renew it; an emptied lease: take it', () => {
  expect(decide(undefined, ME, undefined, 0, 15)).toBe('create');
  expect(decide(lease(ME), ME, undefined, 0, 15)).toBe('renew');
  expect(decide(lease(''), ME, undefined, 0, 15)).toBe('takeover');
});

test('another holder is waited out for a whole lease duration of our own clock', () => {
  const seen = observe(undefined, lease('op-b'), 1_000);
  expect(decide(lease('op-b'), ME, seen, 1_000, 15)).toBe('wait');
  expect(decide(lease('op-b'), ME, seen, 15_999, 15)).toBe('wait');
  expect(decide(lease('op-b'), ME, seen, 16_000, 15)).toBe('takeover');
});

test('a holder that keeps renewing is never taken over, whatever its clock says', () => {
  let seen = observe(undefined, lease('op-b', '1970-01-01T00:00:00.000000Z'), 0);
  for (let t = 2_000; t <= 60_000; t += 2_000) {
    seen = observe(seen, lease('op-b', `renew-${t}`), t);
    expect(decide(lease('op-b', `renew-${t}`), ME, seen, t, 15)).toBe('wait');
  }
});

test('the holder’s own lease duration counts', () => {
  const seen = observe(undefined, lease('op-b', 't', 40), 0);
  expect(decide(lease('op-b', 't', 40), ME, seen, 30_000, 15)).toBe('wait');
  expect(decide(lease('op-b', 't', 40), ME, seen, 40_000, 15)).toBe('takeover');
});

test('MicroTime has six fractional digits', () => {
  expect(microTime(Date.UTC(2030, 0, 2, 3, 4, 5, 678))).toBe('2030-01-02T03:04:05.678000Z');
});
