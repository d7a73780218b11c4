import { ConfigError, loadConfig } from '../../../services/core/config.js';

test('operator settings have defaults and WATCH_NAMESPACE is a list', () => {
  const c = loadConfig({ ROLES: 'operator', WATCH_NAMESPACE: 'chat, ops' });
  expect(c.operator).toEqual({
    watchNamespaces: ['chat', 'ops'],
    podName: undefined,
    leaseNamespace: undefined,
    leaseName: 'signalink-operator',
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
    resyncSeconds: 300,
    workers: 2,
  });
  expect(loadConfig({}).operator.watchNamespaces).toEqual([]);
  expect(loadConfig({ POD_NAMESPACE: 'ops' }).operator.leaseNamespace).toBe('ops');
  expect(
    loadConfig({ POD_NAMESPACE: 'ops', OPERATOR_LEASE_NAMESPACE: 'x' }).operator.leaseNamespace,
  ).toBe('x');
});

test('an operator-only process in production needs no JWT secret; other roles still do', () => {
  expect(() => loadConfig({ NODE_ENV: 'production', ROLES: 'operator' })).not.toThrow();
  expect(() => loadConfig({ NODE_ENV: 'production', ROLES: 'operator,api' })).toThrow(/JWT_SECRET/);
  expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
});

test.each([
  [{ WATCH_NAMESPACE: 'Chat' }, 'WATCH_NAMESPACE'],
  [{ OPERATOR_RENEW_DEADLINE_SECONDS: '15' }, 'OPERATOR_RENEW_DEADLINE_SECONDS'],
  [{ OPERATOR_RETRY_PERIOD_SECONDS: '10' }, 'OPERATOR_RETRY_PERIOD_SECONDS'],
  [{ OPERATOR_WORKERS: '0' }, 'OPERATOR_WORKERS'],
  [{ OPERATOR_LEASE_NAME: 'Not A Name' }, 'OPERATOR_LEASE_NAME'],
])('%j is refused, naming %s', (env, variable) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toContain(variable);
    return;
  }
  throw new Error('accepted');
});
