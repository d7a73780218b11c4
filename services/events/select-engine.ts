import type { Registry } from 'prom-client';
import { TOPICS } from '../chat/outbox.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { EventBus } from './bus.js';
import { ANALYTICS_CONSUMER, NOTIFIER_CONSUMER } from './consumer-groups.js';
import { KafkaEventBus } from './kafka-bus.js';
import { MemoryEventBus, type LocalConsumerGroup } from './memory-bus.js';
import { createBusMetrics } from './metrics.js';

/** Kafka when KAFKA_BROKERS is set; otherwise the in-process engine feeding this process's roles. */
export function createEventBus(config: Config, log: Logger, registry: Registry): EventBus {
  const metrics = createBusMetrics(registry);
  const busLog = log.child({ component: 'event-bus' });
  if (config.kafkaBrokers.length > 0) {
    return new KafkaEventBus({
      brokers: config.kafkaBrokers,
      clientId: config.kafkaClientId,
      topicPrefix: config.kafka.topicPrefix,
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
      maxWaitMs: config.kafka.maxWaitMs,
      topics: {
        logicalNames: Object.values(TOPICS),
        create: config.kafka.createTopics,
        partitions: config.kafka.topicPartitions,
        replicationFactor: config.kafka.topicReplicationFactor,
      },
      log: busLog,
      metrics,
    });
  }
  const localGroups: LocalConsumerGroup[] = [];
  if (config.roles.has('analytics')) localGroups.push(ANALYTICS_CONSUMER);
  if (config.roles.has('notifier')) localGroups.push(NOTIFIER_CONSUMER);
  return new MemoryEventBus({ log: busLog, metrics, localGroups });
}
