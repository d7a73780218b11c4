import type { IKafkaTopic } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaTopic';
import { TOPICS } from '../../chat/outbox.js';
import { metadataFor, type DesiredContext } from './context.js';

/**
 * The four topics of the contract as Strimzi KafkaTopics. Object names are DNS names derived
 * from the topic (prefixes may hold `_` or capitals); spec.topicName is the real name.
 */
export function kafkaTopics(ctx: DesiredContext): (IKafkaTopic & { metadata: { name: string } })[] {
  const strimzi = ctx.spec.kafka.strimzi;
  if (!strimzi) return [];
  return Object.values(TOPICS).map((topic) => {
    const topicName = ctx.spec.kafka.topicPrefix + topic;
    const objectName = `${ctx.name}-${topicName.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}`
      .replace(/[^a-z0-9]+$/, '')
      .slice(0, 253);
    return {
      apiVersion: 'kafka.strimzi.io/v1',
      kind: 'KafkaTopic',
      metadata: metadataFor(ctx, objectName, 'kafka', {
        labels: { 'strimzi.io/cluster': strimzi.clusterName },
      }),
      spec: {
        topicName,
        partitions: strimzi.partitions,
        replicas: strimzi.replicas,
        config: {
          'min.insync.replicas': strimzi.minInSyncReplicas,
          'retention.ms': strimzi.retentionHours * 3_600_000,
          'cleanup.policy': 'delete',
        },
      },
    };
  });
}
