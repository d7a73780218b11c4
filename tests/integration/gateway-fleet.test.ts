// The gateways' shared connection counts (rebalancing) on a real Redis: what each node sees of
// the others, expiry by Redis's own clock, and leaving at once.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisFleetConnections } from '../../services/gateway/fleet.js';
import { requiredEnv } from '../support/env.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(requiredEnv('REDIS_URL'));
});
afterAll(() => redis.disconnect());

const fleet = () => new RedisFleetConnections(redis, `fleet${randomBytes(3).toString('hex')}:`);

it('each node sees every other live node’s latest count, not its own', async () => {
  const f = fleet();
  expect(await f.report('a', 10, 60_000)).toEqual([]);
  expect(await f.report('b', 20, 60_000)).toEqual([10]);
  expect((await f.report('c', 0, 60_000)).sort((x, y) => x - y)).toEqual([10, 20]);
  // A new report replaces the node's previous one.
  await f.report('a', 15, 60_000);
  expect((await f.report('c', 1, 60_000)).sort((x, y) => x - y)).toEqual([15, 20]);
});

it('a node whose report expired (it died) drops out, and one that leaves drops out at once', async () => {
  const f = fleet();
  await f.report('dying', 500, 300);
  await f.report('leaving', 7, 60_000);
  expect((await f.report('me', 1, 60_000)).sort((x, y) => x - y)).toEqual([7, 500]);
  await f.leave('leaving');
  expect(await f.report('me', 1, 60_000)).toEqual([500]);
  const deadline = Date.now() + 20_000;
  let seen = await f.report('me', 1, 60_000);
  while (seen.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await f.report('me', 1, 60_000);
  }
  expect(seen).toEqual([]);
});

it('installations with different key prefixes never see each other', async () => {
  const one = fleet();
  const other = fleet();
  await one.report('x', 100, 60_000);
  expect(await other.report('y', 1, 60_000)).toEqual([]);
});

it('garbage in the counts (a hand-edited key) is ignored, never a crash', async () => {
  const prefix = `fleet${randomBytes(3).toString('hex')}:`;
  const f = new RedisFleetConnections(redis, prefix);
  await f.report('good', 5, 60_000);
  await redis.hset(`${prefix}gateway:fleet:connections`, 'bad', 'lots');
  await redis.zadd(`${prefix}gateway:fleet:expiry`, Date.now() + 60_000, 'bad');
  expect(await f.report('me', 1, 60_000)).toEqual([5]);
});
