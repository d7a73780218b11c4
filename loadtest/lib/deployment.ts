import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Infra } from './infra.js';
import { COMPILED, ROOT, sleep } from './paths.js';
import type { ProcessRegistry } from './processes.js';
import type { ClientSpec } from './protocol.js';
import { freePort } from './ports.js';
import { mintTokens, writePopulation, type LoadUser, type Population } from './seed.js';

/**
 * Signalink and its peers: vanilla Socket.IO (the transport's limit, persists nothing), the
 * hand-wired stack (Socket.IO + streams adapter + one INSERT per message) and Centrifugo with
 * its Redis engine and history.
 */
export type ServerKind = 'signalink' | 'vanilla' | 'handwired' | 'centrifugo';
export const SERVER_KINDS: readonly ServerKind[] = [
  'signalink',
  'vanilla',
  'handwired',
  'centrifugo',
];
/** The kinds whose durable state lives in PostgreSQL (each kind's own server). */
export const USES_POSTGRES: ReadonlySet<ServerKind> = new Set(['signalink', 'handwired']);

export interface ServerNode {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  /** Structured log lines seen so far, counted by level and message. */
  logCounts(): Record<string, number>;
  /** Resolves once the process is gone. */
  exited: Promise<void>;
}

export interface Deployment {
  kind: ServerKind;
  nodes: ServerNode[];
  /** The handshake and URL for one user on node `nodeIndex`. */
  client(user: LoadUser, nodeIndex: number): ClientSpec;
  /** The database (Signalink, hand-wired), for per-send statistics. */
  databaseName?: string;
  /** The Redis this deployment uses (its kind's own; see Infra.serversFor). */
  redisUrl: string;
  redisPid: number | undefined;
  /** Its kind's own PostgreSQL server, for the kinds that persist. */
  postgres?: { adminUrl: string; pid: number | undefined };
}

export interface DeployOptions {
  kind: ServerKind;
  nodeCount: number;
  /** Unique per scenario and server: names the database and the Redis key prefix. */
  tag: string;
  population: Population;
  /** Gateway settings for Signalink (rate limits etc.). */
  env?: Record<string, string>;
  /** Start with the inspector on loopback (the idle scenario forces GCs through it). */
  inspect?: boolean;
  /** Write a V8 CPU profile per node into this directory (on graceful exit). */
  cpuProfileDir?: string | undefined;
}

const READY_TIMEOUT_MS = 60_000;

async function waitReady(node: ServerNode, readyPath: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (node.child.exitCode !== null || node.child.signalCode !== null)
      throw new Error(`${node.name} exited before it was ready:\n${node.output()}`);
    try {
      const res = await fetch(`${node.url}${readyPath}`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${node.name} not ready within ${READY_TIMEOUT_MS} ms:\n${node.output()}`);
    await sleep(100);
  }
}

interface NodeFlags {
  inspect?: boolean | undefined;
  cpuProfileDir?: string | undefined;
}

interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  /** Path answering 200 once the process is ready. */
  readyPath: string;
}

async function startNode(
  registry: ProcessRegistry,
  name: string,
  script: string,
  env: Record<string, string>,
  flags: NodeFlags,
): Promise<ServerNode> {
  const port = await freePort();
  const args = [
    ...(flags.inspect ? ['--inspect=127.0.0.1:0'] : []),
    ...(flags.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${flags.cpuProfileDir}`] : []),
    script,
  ];
  return launch(registry, name, {
    command: process.execPath,
    args,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    port,
    readyPath: '/readyz',
  });
}

async function launch(registry: ProcessRegistry, name: string, l: Launch): Promise<ServerNode> {
  const { port } = l;
  const { child, output } = registry.spawn(name, l.command, l.args, {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...l.env,
  });
  // Signalink logs JSON lines (pino); count them by level and message over the whole run,
  // since the output tail mostly shows shutdown.
  const counts: Record<string, number> = {};
  let partial = '';
  const countLines = (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string };
        const key = `${entry.level ?? '?'} ${entry.msg ?? ''}`;
        counts[key] = (counts[key] ?? 0) + 1;
      } catch {
        // not a log line
      }
    }
  };
  child.stdout?.on('data', countLines);
  child.stderr?.on('data', countLines);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const node: ServerNode = {
    name,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    child,
    output,
    logCounts: () => ({ ...counts }),
    exited,
  };
  await waitReady(node, l.readyPath);
  return node;
}

/**
 * Starts `nodeCount` processes of one server kind against its kind's own PostgreSQL and
 * Redis, and prepares its users: for Signalink a fresh database (migrated by the first node)
 * holding the population, and minted access tokens; for Centrifugo connection tokens; for the
 * Socket.IO peers nothing but the handshake (the hand-wired one gets an empty database).
 */
export async function deploy(
  registry: ProcessRegistry,
  infra: Infra,
  options: DeployOptions,
): Promise<Deployment> {
  const prefix = `${options.tag}:`;
  const { redis, postgres } = await infra.serversFor(options.kind);
  const common = {
    kind: options.kind,
    redisUrl: redis.url,
    redisPid: redis.pid,
    ...(postgres ? { postgres: { adminUrl: postgres.adminUrl, pid: postgres.pid } } : {}),
  };
  const createDatabase = (name: string) => {
    if (!postgres) throw new Error(`${options.kind} has no PostgreSQL (see USES_POSTGRES)`);
    return postgres.createDatabase(name);
  };
  const nodes: ServerNode[] = [];
  const socketIoPeer = (nodeIndex: number, user: LoadUser): ClientSpec => ({
    userId: user.id,
    url: nodes[nodeIndex % nodes.length]!.url,
    transport: 'socketio',
    auth: { userId: user.id, channelIds: user.channelIds },
    channelIds: user.channelIds,
  });

  if (options.kind === 'vanilla' || options.kind === 'handwired') {
    const script = join(
      COMPILED,
      'baseline',
      options.kind === 'vanilla' ? 'server.js' : 'handwired.js',
    );
    const databaseName = options.kind === 'handwired' ? dbName(options.tag) : undefined;
    const env: Record<string, string> = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix };
    if (databaseName) env.DATABASE_URL = await createDatabase(databaseName);
    for (let i = 0; i < options.nodeCount; i++)
      nodes.push(await startNode(registry, `${options.kind}-${i}`, script, env, options));
    return {
      ...common,
      ...(databaseName ? { databaseName } : {}),
      nodes,
      client: (user, nodeIndex) => socketIoPeer(nodeIndex, user),
    };
  }

  if (options.kind === 'centrifugo') {
    const secret = randomBytes(32).toString('hex');
    for (let i = 0; i < options.nodeCount; i++)
      nodes.push(
        await startCentrifugo(registry, `centrifugo-${i}`, { redisUrl: redis.url, prefix, secret }),
      );
    const tokens = await mintTokens(secret, options.population.users, 4 * 3600, {
      centrifugo: true,
    });
    return {
      ...common,
      nodes,
      client: (user, nodeIndex) => ({
        userId: user.id,
        url: `${nodes[nodeIndex % nodes.length]!.url.replace(/^http/, 'ws')}/connection/websocket`,
        transport: 'centrifugo',
        auth: { token: tokens.get(user.id)! },
        channelIds: user.channelIds,
      }),
    };
  }

  const databaseName = dbName(options.tag);
  const databaseUrl = await createDatabase(databaseName);
  const secret = randomBytes(32).toString('hex');
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    ROLES: 'api,gateway',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET: secret,
    LOG_LEVEL: 'warn',
    // The benchmark measures the gateway, not its abuse limits; limits are still consulted.
    MESSAGE_RATE_PER_SECOND: '100000',
    MESSAGE_RATE_BURST: '100000',
    CHANNEL_MESSAGE_RATE_PER_SECOND: '100000',
    MAX_CONNECTIONS_PER_USER: '5',
    // The load clients never reconnect by themselves: nothing may shed them.
    GATEWAY_REBALANCE_INTERVAL_MS: '0',
    DRAIN_TIMEOUT_MS: '2000',
    ...options.env,
  };
  const script = join(ROOT, 'dist', 'main.js');
  // The first node applies the migrations; the population goes in before anyone connects.
  nodes.push(await startNode(registry, 'signalink-0', script, env, options));
  await writePopulation(databaseUrl, options.population);
  for (let i = 1; i < options.nodeCount; i++)
    nodes.push(await startNode(registry, `signalink-${i}`, script, env, options));
  const tokens = await mintTokens(secret, options.population.users);
  return {
    ...common,
    databaseName,
    nodes,
    client: (user, nodeIndex) => ({
      userId: user.id,
      url: nodes[nodeIndex % nodes.length]!.url,
      transport: 'socketio',
      auth: { token: tokens.get(user.id)! },
      channelIds: user.channelIds,
    }),
  };
}

const dbName = (tag: string) => tag.replace(/[^a-z0-9_]/g, '_');

/**
 * A Centrifugo node: Redis engine (PUB/SUB between nodes, history in Redis streams), one
 * namespace `chat` where subscribers may publish and every channel keeps a history so a
 * client that reconnects (to any node) recovers what it missed. Loopback only.
 */
async function startCentrifugo(
  registry: ProcessRegistry,
  name: string,
  o: { redisUrl: string; prefix: string; secret: string },
): Promise<ServerNode> {
  const port = await freePort();
  const dir = join(ROOT, '.cache', 'loadtest', 'centrifugo');
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, `${name}-${port}.json`);
  writeFileSync(configFile, JSON.stringify(centrifugoConfig(port, o), null, 2));
  return launch(registry, name, {
    command: centrifugoBinary(),
    args: ['--config', configFile],
    env: {},
    port,
    readyPath: '/health',
  });
}

export function centrifugoConfig(
  port: number,
  o: { redisUrl: string; prefix: string; secret: string },
): object {
  return {
    http_server: { address: '127.0.0.1', port },
    log: { level: 'warn' },
    health: { enabled: true },
    engine: { type: 'redis', redis: { address: [o.redisUrl], prefix: `${o.prefix}centrifugo` } },
    client: { token: { hmac_secret_key: o.secret }, allowed_origins: ['*'] },
    channel: {
      namespaces: [
        {
          name: 'chat',
          allow_subscribe_for_client: true,
          allow_publish_for_subscriber: true,
          history_size: 10_000,
          history_ttl: '600s',
          force_recovery: true,
        },
      ],
    },
  };
}

let centrifugoPath: string | undefined;

/** The binary that scripts/tools/centrifugo.sh builds (from the Go module proxy) or has cached. */
export function centrifugoBinary(): string {
  if (!centrifugoPath) {
    const out = execFileSync('bash', [join(ROOT, 'scripts', 'tools', 'centrifugo.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    centrifugoPath = join(out.trim().split('\n').pop()!, 'centrifugo');
  }
  return centrifugoPath;
}

/** SIGKILLs a node (the crash scenario) and waits until it is gone. */
export async function killNode(node: ServerNode): Promise<void> {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  await node.exited;
}

/**
 * Stops a deployment's nodes: SIGTERM (a graceful exit also writes CPU profiles), then
 * SIGKILL after a grace period.
 */
export async function undeploy(deployment: Deployment, graceMs = 5000): Promise<void> {
  await Promise.all(
    deployment.nodes.map(async (node) => {
      if (node.child.exitCode !== null || node.child.signalCode !== null) return;
      node.child.kill('SIGTERM');
      const timer = setTimeout(() => node.child.kill('SIGKILL'), graceMs);
      await node.exited;
      clearTimeout(timer);
    }),
  );
}
