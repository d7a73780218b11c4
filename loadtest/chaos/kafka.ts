// The chaos suite's Kafka: three combined broker+controller nodes that experiments kill and
// start again (scripts/kafka-cluster.mjs).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../lib/paths.js';
import type { ProcessRegistry } from '../lib/processes.js';

export interface KafkaNode {
  readonly label: string;
  readonly running: boolean;
  readonly child?: ChildProcess;
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}
export interface KafkaCluster {
  bootstrap: string;
  nodes: KafkaNode[];
  pids(): { name: string; pid: number }[];
  waitForBrokers(count?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Three combined broker+controller nodes (scripts/kafka-cluster.mjs): replication 3, min ISR 2. */
export async function startKafka(registry: ProcessRegistry): Promise<KafkaCluster> {
  // A runtime path: the plain .mjs helper is not compiled into .cache/loadtest.
  const href = pathToFileURL(join(ROOT, 'scripts', 'kafka-cluster.mjs')).href;
  const mod = (await import(href)) as {
    startKafkaCluster(o: { brokers: number }): Promise<KafkaCluster>;
  };
  // The experiments kill brokers on purpose; the helper would report each exit.
  process.env.KAFKA_CLUSTER_QUIET = '1';
  const cluster = await mod.startKafkaCluster({ brokers: 3 });
  for (const { name, pid } of cluster.pids()) registry.note(name, pid);
  return cluster;
}
