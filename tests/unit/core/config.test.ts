import { ConfigError, loadConfig } from '../../../services/core/config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

test('an empty environment gives a working development configuration', () => {
  const config = loadConfig({});
  expect(config.nodeEnv).toBe('development');
  expect(config.port).toBe(3000);
  expect([...config.roles].sort()).toEqual(['analytics', 'api', 'gateway', 'notifier', 'relay']);
  expect(config.databaseUrl).toBeUndefined();
  expect(config.redisUrl).toBeUndefined();
  expect(config.kafkaBrokers).toEqual([]);
  expect(config.jwtSecret).toBeUndefined();
  expect(config.httpBodyLimitBytes).toBe(64 * 1024);
  expect(config.limits.loginAttemptsPer15Minutes).toBe(10);
  expect(config.drainTimeoutMs).toBe(20_000);
});

test('values are parsed: numbers, lists, lower-cased admin names, blank as absent', () => {
  const config = loadConfig({
    PORT: '8080',
    ROLES: ' api , gateway ',
    KAFKA_BROKERS: 'k1:9092,k2:9092,',
    ADMIN_USERNAMES: 'Alice,BOB',
    REDIS_URL: '   ',
    DATABASE_URL: 'postgres://u:p@db:5432/signalink',
    API_RATE_LIMIT_PER_MINUTE: '30',
  });
  expect(config.port).toBe(8080);
  expect([...config.roles].sort()).toEqual(['api', 'gateway']);
  expect(config.kafkaBrokers).toEqual(['k1:9092', 'k2:9092']);
  expect([...config.adminUsernames].sort()).toEqual(['alice', 'bob']);
  expect(config.redisUrl).toBeUndefined();
  expect(config.databaseUrl).toBe('postgres://u:p@db:5432/signalink');
  expect(config.limits.apiRequestsPerMinute).toBe(30);
});

test.each([
  [{ PORT: 'eighty' }, 'PORT'],
  [{ PORT: '70000' }, 'PORT'],
  [{ ROLES: 'api,chat' }, 'ROLES'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
  [{ DATABASE_URL: 'mysql://db/signalink' }, 'DATABASE_URL'],
  [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
  [{ JWT_SECRET: 'too short' }, 'JWT_SECRET'],
  [{ API_RATE_LIMIT_PER_MINUTE: '0' }, 'API_RATE_LIMIT_PER_MINUTE'],
  [{ HTTP_BODY_LIMIT_BYTES: '-1' }, 'HTTP_BODY_LIMIT_BYTES'],
  [{ NOTIFIER_TRANSPORT: 'webhook' }, 'NOTIFIER_WEBHOOK_URL'],
])('%j is refused with a problem naming %s', (env, variable) => {
  const problems = problemsOf(env);
  // A list names the entry too, e.g. `ROLES.1: ...`.
  expect(problems.some((p) => p.startsWith(`${variable}:`) || p.startsWith(`${variable}.`))).toBe(
    true,
  );
});

test('production refuses to start without JWT_SECRET, and accepts a long one', () => {
  const problems = problemsOf({ NODE_ENV: 'production' });
  expect(problems).toEqual([expect.stringMatching(/^JWT_SECRET: .*required/)]);
  expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) }).jwtSecret).toBe(
    's'.repeat(32),
  );
});

test('every problem of the values themselves is reported at once', () => {
  const problems = problemsOf({ PORT: 'x', LOG_LEVEL: 'y', DATABASE_URL: 'mysql://db' });
  expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
    'DATABASE_URL',
    'LOG_LEVEL',
    'PORT',
  ]);
});

test('gateway rebalancing: defaults, overrides, and values refused', () => {
  expect(loadConfig({}).gateway.rebalance).toEqual({
    intervalMs: 10_000,
    tolerance: 1.2,
    minExcess: 10,
    fraction: 0.2,
    maxPerInterval: 100,
  });
  expect(
    loadConfig({
      GATEWAY_REBALANCE_INTERVAL_MS: '0',
      GATEWAY_REBALANCE_TOLERANCE: '1.5',
      GATEWAY_REBALANCE_MIN_EXCESS: '2',
      GATEWAY_REBALANCE_FRACTION: '1',
      GATEWAY_REBALANCE_MAX_PER_INTERVAL: '7',
    }).gateway.rebalance,
  ).toEqual({ intervalMs: 0, tolerance: 1.5, minExcess: 2, fraction: 1, maxPerInterval: 7 });
  for (const [variable, value] of [
    ['GATEWAY_REBALANCE_INTERVAL_MS', '-1'],
    ['GATEWAY_REBALANCE_TOLERANCE', '0.9'],
    ['GATEWAY_REBALANCE_MIN_EXCESS', '0'],
    ['GATEWAY_REBALANCE_FRACTION', '0'],
    ['GATEWAY_REBALANCE_FRACTION', '1.5'],
    ['GATEWAY_REBALANCE_MAX_PER_INTERVAL', 'lots'],
  ] as const)
    expect(problemsOf({ [variable]: value }).some((p) => p.startsWith(`${variable}:`))).toBe(true);
});
