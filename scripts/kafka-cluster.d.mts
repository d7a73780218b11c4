// Types of kafka-cluster.mjs for the TypeScript tests.
export interface KafkaNode {
  readonly label: string;
  readonly running: boolean;
  readonly props: { id: number; port: number; brokerPort: number; controllerPort: number };
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}
export interface KafkaCluster {
  bootstrap: string;
  nodes: KafkaNode[];
  pids(): { name: string; pid: number }[];
  waitForBrokers(count?: number): Promise<void>;
  /** Proxied clusters only: drops every client connection; returns how many were open. */
  cutClientConnections(): number;
  stop(): Promise<void>;
}
export function kafkaHome(): string;
export function startKafkaCluster(options?: {
  brokers?: number;
  proxied?: boolean;
}): Promise<KafkaCluster>;
