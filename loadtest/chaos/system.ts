// The system under test: shared servers (PostgreSQL, Redis, three Kafka brokers) and, per
// experiment, a fresh deployment on them: its own database, Redis key prefix and Kafka topic
// prefix, three gateway processes (ROLES=api,gateway) behind HAProxy, and relay, analytics and
// notifier processes. Every process runs the real entry point, node dist/main.js.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { loadConfig } from '../../services/core/config.js';
import type { RebalanceSettings } from '../../services/gateway/rebalance.js';
import { ROOT, sleep } from '../lib/paths.js';
import { freePort } from '../lib/ports.js';
import type { ProcessRegistry } from '../lib/processes.js';
import { startHaproxy, type Haproxy } from './haproxy.js';
import { PostgresServer, RedisServer } from '../lib/servers.js';
import { startKafka, type KafkaCluster } from './kafka.js';

export interface Infra {
  postgres: PostgresServer;
  redis: RedisServer;
  kafka: KafkaCluster;
  stop(): Promise<void>;
}

export async function startInfra(registry: ProcessRegistry): Promise<Infra> {
  const started: { stop(): Promise<void> }[] = [];
  try {
    const [postgres, redis] = await Promise.all([
      PostgresServer.create(registry),
      RedisServer.create(registry),
    ]);
    started.push({ stop: () => postgres.remove() }, { stop: () => redis.stop() });
    const kafka = await startKafka(registry);
    started.push(kafka);
    return {
      postgres,
      redis,
      kafka,
      stop: async () => {
        await Promise.allSettled(started.map((s) => s.stop()));
      },
    };
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw err;
  }
}

/** Shared by every process and by the load (so the verifier can log in). */
export const JWT_SECRET = 'chaos-suite-secret-chaos-suite-secret-0123';

/** One Signalink process on a fixed port, which can be killed and started again. */
export class SignalinkProcess {
  private child: ReturnType<ProcessRegistry['spawn']>['child'] | undefined;
  private output: () => string = () => '';
  private exit: Promise<number | string> | undefined;
  private readonly logs: string[] = [];

  constructor(
    private readonly registry: ProcessRegistry,
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts it and waits for /readyz 200. */
  async start(timeoutMs = 90_000): Promise<void> {
    if (this.running) return;
    const spawned = this.registry.spawn(
      this.name,
      process.execPath,
      [resolve(ROOT, 'dist/main.js')],
      { ...this.env, PORT: String(this.port) },
    );
    this.child = spawned.child;
    this.output = spawned.output;
    const child = spawned.child;
    this.exit = new Promise((res) =>
      child.once('exit', (code, signal) => {
        this.logs.push(spawned.output());
        res(code ?? signal ?? 'unknown');
      }),
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${this.name} exited (${child.exitCode}): ${this.output().slice(-3000)}`);
      if ((await this.ready()) === 200) return;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async ready(): Promise<number> {
    return fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => 0,
    );
  }

  /** Sends the signal and resolves with the exit code (or signal name) once it is gone. */
  async kill(signal: NodeJS.Signals): Promise<number | string> {
    if (!this.child || !this.exit) return 'not started';
    if (this.running) this.child.kill(signal);
    return this.exit;
  }

  /** A Prometheus sample of this process (0 when absent, undefined when unreachable). */
  async metric(name: string): Promise<number | undefined> {
    if (!this.running) return undefined;
    const text = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.text(),
      () => undefined,
    );
    if (text === undefined) return undefined;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : 0;
  }

  /** Everything it printed, every run of it. */
  allOutput(): string {
    return [...this.logs, this.running ? this.output() : ''].join('\n--- restarted ---\n');
  }
}

export interface DeploymentOptions {
  /** Gateways started at first (the others are in the HAProxy pool but not running). */
  initialGateways?: number;
  /** Extra environment for every process. */
  env?: Record<string, string>;
}

export interface Deployment {
  url: string;
  /** The environment every process runs with (ROLES and PORT aside). */
  env: Record<string, string>;
  databaseUrl: string;
  db: Knex;
  gateways: SignalinkProcess[];
  relay: SignalinkProcess;
  analytics: SignalinkProcess;
  notifier: SignalinkProcess;
  haproxy: Haproxy;
  /** Connections each gateway holds now (0 for one that is down). */
  connections(): Promise<number[]>;
  /** Sum of a metric over the running gateways. */
  gatewaySum(metric: string): Promise<number>;
  /** Writes every process's output under `dir`. */
  saveLogs(dir: string): void;
  stop(): Promise<void>;
}

export const GATEWAY_COUNT = 3;

/**
 * The settings every process runs with: the contract's defaults except limits raised for the
 * load, short Kafka sessions and presence TTL (so faults resolve in seconds), and rebalancing
 * every second with a small threshold (the fleet here holds tens of connections, not tens of
 * thousands).
 */
export function deploymentEnv(infra: Infra, label: string): Record<string, string> {
  const suffix = randomBytes(3).toString('hex');
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn',
    JWT_SECRET,
    DATA_DIR: `/tmp/signalink-chaos-${suffix}`,
    REDIS_URL: infra.redis.url,
    REDIS_KEY_PREFIX: `chaos-${label}-${suffix}:`,
    KAFKA_BROKERS: infra.kafka.bootstrap,
    KAFKA_TOPIC_PREFIX: `chaos-${label}-${suffix}.`,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    KAFKA_MAX_WAIT_MS: '100',
    RELAY_RETRY_MAX_MS: '1000',
    NOTIFIER_TRANSPORT: 'log',
    REGISTRATIONS_PER_HOUR_PER_IP: '100000',
    API_RATE_LIMIT_PER_MINUTE: '100000',
    MESSAGE_RATE_PER_SECOND: '1000',
    MESSAGE_RATE_BURST: '1000',
    CHANNEL_MESSAGE_RATE_PER_SECOND: '1000',
    GATEWAY_PRESENCE_TTL_MS: '6000',
    DRAIN_TIMEOUT_MS: '10000',
    GATEWAY_REBALANCE_INTERVAL_MS: '1000',
    GATEWAY_REBALANCE_MIN_EXCESS: '1',
    GATEWAY_REBALANCE_FRACTION: '0.3',
    GATEWAY_REBALANCE_TOLERANCE: '1.2',
  };
}

/** The gateways' rebalancing settings, read the way the gateways read them. */
export function rebalanceSettings(env: Record<string, string>): RebalanceSettings {
  return loadConfig({ ...env, ROLES: 'gateway' }).gateway.rebalance;
}

export async function deploy(
  registry: ProcessRegistry,
  infra: Infra,
  label: string,
  options: DeploymentOptions = {},
): Promise<Deployment> {
  const base = deploymentEnv(infra, label);
  const databaseUrl = await infra.postgres.createDatabase(
    `chaos_${label.replace(/\W/g, '_')}_${randomBytes(3).toString('hex')}`,
  );
  const env = { ...base, DATABASE_URL: databaseUrl, ...options.env };
  const gateways: SignalinkProcess[] = [];
  for (let i = 1; i <= GATEWAY_COUNT; i++)
    gateways.push(
      new SignalinkProcess(registry, `gateway-${i}`, await freePort(), {
        ...env,
        ROLES: 'api,gateway',
      }),
    );
  const role = async (r: string) =>
    new SignalinkProcess(registry, r, await freePort(), {
      ...env,
      ROLES: r,
    });
  const [relay, analytics, notifier] = [
    await role('relay'),
    await role('analytics'),
    await role('notifier'),
  ];
  const haproxy = await startHaproxy(
    registry,
    gateways.map((g) => ({ name: g.name, port: g.port })),
  );
  // knex logs pool errors (PostgreSQL restarting) on stdout, where only verdicts belong.
  const toStderr = (m: unknown) => process.stderr.write(`[knex] ${String(m)}\n`);
  const db = knexFactory({
    client: 'pg',
    connection: databaseUrl,
    pool: { min: 0, max: 3 },
    log: { warn: toStderr, error: toStderr, deprecate: toStderr, debug: toStderr },
  });
  const all = [...gateways, relay, analytics, notifier];
  const deployment: Deployment = {
    url: haproxy.url,
    env,
    databaseUrl,
    db,
    gateways,
    relay,
    analytics,
    notifier,
    haproxy,
    connections: () =>
      Promise.all(
        gateways.map(async (g) => (await g.metric('signalink_gateway_connections')) ?? 0),
      ),
    gatewaySum: async (metric) =>
      (await Promise.all(gateways.map(async (g) => (await g.metric(metric)) ?? 0))).reduce(
        (a, b) => a + b,
        0,
      ),
    saveLogs: (dir) => {
      mkdirSync(dir, { recursive: true });
      for (const p of all) writeFileSync(join(dir, `${p.name}.log`), p.allOutput());
    },
    stop: async () => {
      await Promise.allSettled(all.map((p) => p.kill('SIGKILL')));
      await haproxy.stop();
      await db.destroy();
    },
  };
  try {
    // The first process runs the migrations; the others start on a migrated database.
    await gateways[0]!.start();
    const initial = Math.max(1, Math.min(GATEWAY_COUNT, options.initialGateways ?? GATEWAY_COUNT));
    await Promise.all([
      ...gateways.slice(1, initial).map((g) => g.start()),
      relay.start(),
      analytics.start(),
      notifier.start(),
    ]);
    await waitForPool(haproxy.url);
  } catch (err) {
    await deployment.stop();
    throw err;
  }
  return deployment;
}

/** HAProxy marks a server up on its first good check; wait until requests get through. */
async function waitForPool(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error(`no gateway reachable through HAProxy at ${url} within 30 s`);
}
