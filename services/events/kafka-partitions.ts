// Which partition each outgoing event is written to, decided here instead of inside one kafkajs
// sendBatch. kafkajs (2.2.4) loses messages in a sendBatch that spans several leaders: when a
// leader dies mid-call and its partitions move to a broker that had already answered for its
// own partitions, the retry sends only to brokers without an answer, so the moved partitions
// are never sent and the call still succeeds. Publishing every partition as a send of its own
// keeps each call, and each of its retries, about one partition: nothing can be skipped.
import kafkajs, { type PartitionMetadata } from 'kafkajs';

export interface KeyedRecord {
  topic: string;
  key: string;
  value: string;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: { key: string; value: string }[];
}

/** kafkajs's default partitioner: Java's murmur2 on the key, so keys land where Java clients put them. */
const defaultPartitioner = kafkajs.Partitioners.DefaultPartitioner();

/** The partitioner reads only how many partitions there are (keyed records never use leaders). */
const metadataOf = new Map<number, PartitionMetadata[]>();
function partitionsOf(count: number): PartitionMetadata[] {
  let list = metadataOf.get(count);
  if (!list) {
    list = Array.from({ length: count }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [],
      isr: [],
    }));
    metadataOf.set(count, list);
  }
  return list;
}

export function partitionOf(topic: string, key: string, partitionCount: number): number {
  return defaultPartitioner({
    topic,
    partitionMetadata: partitionsOf(partitionCount),
    message: { key, value: null },
  });
}

/**
 * Groups records by topic and partition, keeping their order within each partition (the order
 * per key that consumers rely on). Throws for a topic whose partition count is unknown.
 */
export function partitionBatches(
  records: readonly KeyedRecord[],
  partitionCounts: ReadonlyMap<string, number>,
): PartitionBatch[] {
  const batches = new Map<string, PartitionBatch>();
  for (const r of records) {
    const count = partitionCounts.get(r.topic);
    if (!count || count < 1) throw new Error(`no partition count known for Kafka topic ${r.topic}`);
    const partition = partitionOf(r.topic, r.key, count);
    const id = `${r.topic}\u0000${partition}`;
    let batch = batches.get(id);
    if (!batch) {
      batch = { topic: r.topic, partition, messages: [] };
      batches.set(id, batch);
    }
    batch.messages.push({ key: r.key, value: r.value });
  }
  return [...batches.values()];
}
