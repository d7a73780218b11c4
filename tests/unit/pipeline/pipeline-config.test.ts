import { ConfigError, loadConfig } from '../../../services/core/config.js';

const base = { NODE_ENV: 'test' };

test('pipeline settings have defaults', () => {
  const c = loadConfig(base);
  expect(c.kafka).toEqual({
    topicPrefix: '',
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3000,
    maxWaitMs: 500,
    createTopics: true,
    topicPartitions: 6,
    topicReplicationFactor: undefined,
  });
  expect(c.relay).toMatchObject({ batchSize: 500, retentionSeconds: 86_400 });
  expect(c.notifier).toMatchObject({ transport: 'log', maxAttempts: 6 });
});

test('the webhook transport needs a URL and a signing secret', () => {
  const problems = (() => {
    try {
      loadConfig({ ...base, NOTIFIER_TRANSPORT: 'webhook' });
    } catch (err) {
      return (err as ConfigError).problems;
    }
    return [];
  })();
  expect(problems.some((p) => p.startsWith('NOTIFIER_WEBHOOK_URL'))).toBe(true);
  expect(problems.some((p) => p.startsWith('NOTIFIER_WEBHOOK_SECRET'))).toBe(true);
});

test.each([
  ['KAFKA_TOPIC_PREFIX', 'bad prefix!'],
  ['RELAY_BATCH_SIZE', '0'],
  ['NOTIFIER_MAX_ATTEMPTS', 'many'],
  ['OUTBOX_RETENTION_SECONDS', '-1'],
  ['KAFKA_CREATE_TOPICS', 'yes'],
  ['KAFKA_TOPIC_PARTITIONS', '0'],
  ['KAFKA_TOPIC_REPLICATION_FACTOR', '0'],
])('%s=%s is refused', (name, value) => {
  expect(() => loadConfig({ ...base, [name]: value })).toThrow(ConfigError);
});

test('topics are only checked when something else manages them', () => {
  const c = loadConfig({
    ...base,
    KAFKA_CREATE_TOPICS: 'false',
    KAFKA_TOPIC_PARTITIONS: '12',
    KAFKA_TOPIC_REPLICATION_FACTOR: '3',
  });
  expect(c.kafka).toMatchObject({
    createTopics: false,
    topicPartitions: 12,
    topicReplicationFactor: 3,
  });
});
