import { topicsToCreate } from '../../../services/events/kafka-topics.js';

const settings = {
  names: ['p.signalink.messages', 'p.signalink.receipts'],
  create: true,
  partitions: 6,
  replicationFactor: undefined,
};

test.each([
  [1, 1],
  [2, 2],
  [3, 3],
  [5, 3],
])('with %i brokers and no replication factor set, topics get %i replicas', (brokers, rf) => {
  expect(topicsToCreate(settings, new Set(), brokers)).toEqual([
    { topic: 'p.signalink.messages', numPartitions: 6, replicationFactor: rf },
    { topic: 'p.signalink.receipts', numPartitions: 6, replicationFactor: rf },
  ]);
});

test('an explicit replication factor wins, and existing topics are left alone', () => {
  expect(
    topicsToCreate({ ...settings, replicationFactor: 2 }, new Set(['p.signalink.messages']), 5),
  ).toEqual([{ topic: 'p.signalink.receipts', numPartitions: 6, replicationFactor: 2 }]);
});
