// The topics of the contract on a Kafka cluster: created at start with the configured
// partitions and replication (idempotent, several processes may race), or, when something else
// manages them (the operator's Strimzi KafkaTopics), only checked. Brokers never auto-create
// them for us: a topic born from a stray request gets the broker's defaults, not ours.
import type { Admin, ITopicConfig } from 'kafkajs';
import type { Logger } from '../core/logger.js';

export interface TopicSettings {
  /** Physical names (prefix included). */
  names: string[];
  create: boolean;
  partitions: number;
  /** Absent: three, or the number of brokers when the cluster has fewer. */
  replicationFactor: number | undefined;
}

export class MissingTopicsError extends Error {
  constructor(readonly missing: string[]) {
    super(
      `Kafka topics missing: ${missing.join(', ')} (KAFKA_CREATE_TOPICS=false: create them, for instance as Strimzi KafkaTopics, or let Signalink create them)`,
    );
    this.name = 'MissingTopicsError';
  }
}

/** What to create, given what exists and how many brokers the cluster has. */
export function topicsToCreate(
  settings: TopicSettings,
  existing: ReadonlySet<string>,
  brokerCount: number,
): ITopicConfig[] {
  const replicationFactor = settings.replicationFactor ?? Math.max(1, Math.min(3, brokerCount));
  return settings.names
    .filter((name) => !existing.has(name))
    .map((topic) => ({ topic, numPartitions: settings.partitions, replicationFactor }));
}

/**
 * Creates (or checks) the topics and returns how many partitions each has; throws when they
 * cannot be made ready.
 */
export async function ensureTopics(
  admin: Admin,
  settings: TopicSettings,
  log: Logger,
): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics());
  const missing = settings.names.filter((n) => !existing.has(n));
  if (missing.length === 0) return partitionCounts(admin, settings, log);
  if (!settings.create) throw new MissingTopicsError(missing);
  const { brokers } = await admin.describeCluster();
  const plan = topicsToCreate(settings, existing, brokers.length);
  // Another replica may create them at the same moment: kafkajs treats "already exists" as
  // success, and waitForLeaders makes the topics usable before the first produce or join.
  const created = await admin.createTopics({ topics: plan, waitForLeaders: true, timeout: 30_000 });
  if (created)
    log.info(
      {
        topics: plan.map((t) => t.topic),
        partitions: settings.partitions,
        replicationFactor: plan[0]?.replicationFactor,
      },
      'created Kafka topics',
    );
  return partitionCounts(admin, settings, log);
}

/**
 * The topics' partition counts, read once per process: partitions added later are used after a
 * restart. A topic with fewer partitions than configured works but spreads load less; say so.
 */
async function partitionCounts(
  admin: Admin,
  settings: TopicSettings,
  log: Logger,
): Promise<Map<string, number>> {
  const { topics } = await admin.fetchTopicMetadata({ topics: settings.names });
  const counts = new Map<string, number>();
  for (const t of topics) {
    counts.set(t.name, t.partitions.length);
    if (t.partitions.length < settings.partitions)
      log.warn(
        { topic: t.name, partitions: t.partitions.length, configured: settings.partitions },
        'Kafka topic has fewer partitions than KAFKA_TOPIC_PARTITIONS (left as it is)',
      );
  }
  return counts;
}
