import { ConfigError, loadConfig } from '../../../services/core/config.js';

test('idle pooled connections are kept for 10 minutes unless DATABASE_POOL_IDLE_TIMEOUT_MS says otherwise', () => {
  expect(loadConfig({}).databasePoolIdleTimeoutMs).toBe(600_000);
  expect(loadConfig({ DATABASE_POOL_IDLE_TIMEOUT_MS: '250' }).databasePoolIdleTimeoutMs).toBe(250);
});

test('a pool idle timeout that is not a positive integer is refused, naming the variable', () => {
  for (const value of ['0', '-5', 'soon', '1.5']) {
    let problems: string[] = [];
    try {
      loadConfig({ DATABASE_POOL_IDLE_TIMEOUT_MS: value });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      problems = (err as ConfigError).problems;
    }
    expect(problems.join('\n')).toMatch(/^DATABASE_POOL_IDLE_TIMEOUT_MS:/);
  }
});
