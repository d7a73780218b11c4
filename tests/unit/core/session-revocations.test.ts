import { SessionRevocations } from '../../../services/core/auth/session-revocations.js';

/** A store whose answers the test sets, counting how often it is asked; time is the test's. */
function harness() {
  const revoked = new Set<string>();
  const asked: string[] = [];
  let now = 1_000_000;
  const cache = new SessionRevocations(
    {
      isFamilyRevoked: async (id) => {
        asked.push(id);
        return revoked.has(id);
      },
    },
    () => now,
  );
  return { cache, revoked, asked, advance: (ms: number) => (now += ms) };
}

test('a live session is asked about at most once per 5 s, so a revocation shows within 5 s', async () => {
  const { cache, revoked, asked, advance } = harness();
  expect(await cache.isRevoked('s1')).toBe(false);
  revoked.add('s1');
  advance(4999);
  expect(await cache.isRevoked('s1')).toBe(false);
  expect(asked).toEqual(['s1']);
  advance(1);
  expect(await cache.isRevoked('s1')).toBe(true);
  expect(asked).toEqual(['s1', 's1']);
});

test('a revocation announced to this process is refused at once, without asking the store', async () => {
  const { cache, asked } = harness();
  expect(await cache.isRevoked('s1')).toBe(false);
  expect(cache.knownRevoked('s1')).toBe(false);
  cache.markRevoked('s1');
  expect(cache.knownRevoked('s1')).toBe(true);
  expect(await cache.isRevoked('s1')).toBe(true);
  expect(await cache.isRevoked('s2')).toBe(false);
  expect(asked).toEqual(['s1', 's2']);
});

test('a revoked session stays revoked: it is not asked about again, however long it has been', async () => {
  const { cache, revoked, asked, advance } = harness();
  revoked.add('s1');
  expect(await cache.isRevoked('s1')).toBe(true);
  advance(3_600_000);
  revoked.delete('s1'); // a store can never un-revoke; the cache must not rely on asking
  expect(await cache.isRevoked('s1')).toBe(true);
  expect(asked).toEqual(['s1']);
});
