import type { Config } from './config.js';

export interface EngineReport {
  database: string;
  realtime: string;
  events: string;
  /** How to move each memory or embedded engine to its shared, multi-process counterpart. */
  toSwitch: string[];
}

/**
 * What the start-up log says about the engines in use. The embedded and memory engines make a
 * one-command local install; they serve a single process and are never a way to scale.
 */
export function describeEngines(config: Config): EngineReport {
  const toSwitch: string[] = [];
  let database = 'PostgreSQL at DATABASE_URL';
  if (!config.databaseUrl) {
    database = `embedded PostgreSQL (data under ${config.dataDir})`;
    toSwitch.push('set DATABASE_URL to use your own PostgreSQL');
  }
  let realtime = 'Redis (Socket.IO streams adapter, presence, typing, rate limits)';
  if (!config.redisUrl) {
    realtime =
      'memory (Socket.IO in-memory adapter, in-process presence, typing and rate limits; one process only)';
    toSwitch.push('set REDIS_URL to share sockets, presence and rate limits across processes');
  }
  let events = `Kafka at ${config.kafkaBrokers.join(',')}`;
  if (config.kafkaBrokers.length === 0) {
    events = 'in-process event bus (feeds the roles of this process only)';
    toSwitch.push('set KAFKA_BROKERS to run the pipeline roles as separate, scalable processes');
  }
  return { database, realtime, events, toSwitch };
}
