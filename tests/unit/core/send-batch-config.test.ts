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

test('group commit defaults: 256 sends or 1 MiB per batch, a 5 ms window, 4 batches in flight', () => {
  expect(loadConfig({}).sendBatch).toEqual({
    maxItems: 256,
    maxBytes: 1024 * 1024,
    maxWaitMs: 5,
    maxInFlight: 4,
  });
});

test('the settings are read, and batches in flight default to no more than the pool holds', () => {
  expect(
    loadConfig({
      SEND_BATCH_MAX_MESSAGES: '1',
      SEND_BATCH_MAX_BYTES: '65536',
      SEND_BATCH_MAX_WAIT_MS: '0',
      SEND_BATCH_MAX_IN_FLIGHT: '8',
      DATABASE_POOL_MAX: '20',
    }).sendBatch,
  ).toEqual({ maxItems: 1, maxBytes: 65536, maxWaitMs: 0, maxInFlight: 8 });
  expect(loadConfig({ DATABASE_POOL_MAX: '2' }).sendBatch.maxInFlight).toBe(2);
});

test('bad values are refused with the variable named', () => {
  expect(problemsOf({ SEND_BATCH_MAX_MESSAGES: '0' })[0]).toMatch(/^SEND_BATCH_MAX_MESSAGES:/);
  expect(problemsOf({ SEND_BATCH_MAX_BYTES: '100' })[0]).toMatch(/^SEND_BATCH_MAX_BYTES:/);
  expect(problemsOf({ SEND_BATCH_MAX_WAIT_MS: '-1' })[0]).toMatch(/^SEND_BATCH_MAX_WAIT_MS:/);
  expect(problemsOf({ SEND_BATCH_MAX_WAIT_MS: 'soon' })[0]).toMatch(/^SEND_BATCH_MAX_WAIT_MS:/);
  expect(
    problemsOf({ SEND_BATCH_MAX_IN_FLIGHT: '11', DATABASE_POOL_MAX: '10' }).join('\n'),
  ).toMatch(/SEND_BATCH_MAX_IN_FLIGHT: must not exceed DATABASE_POOL_MAX/);
});
