import kafkajs from 'kafkajs';
import { partitionBatches, partitionOf } from '../../../services/events/kafka-partitions.js';

const keys = Array.from({ length: 200 }, (_, i) => `channel-${i}`);

test('a key goes to the partition kafkajs would pick for it, whatever the leaders', () => {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  const metadata = Array.from({ length: 6 }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: (partitionId % 3) + 1,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
  }));
  for (const key of keys)
    expect(partitionOf('t', key, 6)).toBe(
      partitioner({ topic: 't', partitionMetadata: metadata, message: { key, value: 'x' } }),
    );
});

test('keys spread over every partition and stay within range', () => {
  const seen = new Set(keys.map((k) => partitionOf('t', k, 6)));
  expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  expect(keys.every((k) => partitionOf('t', k, 1) === 0)).toBe(true);
});

test('records are grouped per topic and partition, each exactly once, in their order', () => {
  const records = keys.flatMap((key, i) => [
    { topic: 'a', key, value: `a${i}` },
    { topic: 'b', key, value: `b${i}` },
  ]);
  const counts = new Map([
    ['a', 6],
    ['b', 3],
  ]);
  const batches = partitionBatches(records, counts);
  expect(new Set(batches.map((b) => `${b.topic}/${b.partition}`)).size).toBe(batches.length);
  expect(batches.filter((b) => b.topic === 'a')).toHaveLength(6);
  expect(batches.filter((b) => b.topic === 'b')).toHaveLength(3);
  const all = batches.flatMap((b) => b.messages.map((m) => m.value));
  expect(all.sort()).toEqual(records.map((r) => r.value).sort());
  for (const b of batches) {
    for (const m of b.messages)
      expect(partitionOf(b.topic, m.key, counts.get(b.topic)!)).toBe(b.partition);
    // Within a partition the records keep the order they were given in.
    const indices = b.messages.map((m) => Number(m.value.slice(1)));
    expect(indices).toEqual([...indices].sort((x, y) => x - y));
  }
});

test('a topic of unknown size is refused rather than guessed', () => {
  expect(() =>
    partitionBatches([{ topic: 'unknown', key: 'k', value: 'v' }], new Map([['a', 6]])),
  ).toThrow(/no partition count known for Kafka topic unknown/);
  expect(() =>
    partitionBatches([{ topic: 'a', key: 'k', value: 'v' }], new Map([['a', 0]])),
  ).toThrow(/no partition count/);
  expect(partitionBatches([], new Map())).toEqual([]);
});
