import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Infra } from './infra.js';
import { COMPILED, ROOT, sleep } from './paths.js';
import type { ProcessRegistry } from './processes.js';
import type { ClientSpec } from './protocol.js';
import { freePort } from './ports.js';
import { mintTokens, writePopulation, type LoadUser, type Population } from './seed.js';

export type ServerKind = 'signalink' | 'baseline';
export const SERVER_KINDS: readonly ServerKind[] = ['signalink', 'baseline'];

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
  /** Signalink's database (for per-send statistics); none for the baseline. */
  databaseName?: string;
  /** The Redis this deployment uses (its own; see Infra.redis). */
  redisUrl: string;
  redisPid: number | undefined;
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

async function waitReady(node: ServerNode): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (node.child.exitCode !== null || node.child.signalCode !== null)
      throw new Error(`${node.name} exited before it was ready:\n${node.output()}`);
    try {
      const res = await fetch(`${node.url}/readyz`);
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
  const { child, output } = registry.spawn(name, process.execPath, args, {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
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
  await waitReady(node);
  return node;
}

/**
 * Starts `nodeCount` processes of one server kind against the run's PostgreSQL and Redis, and
 * prepares its users: for Signalink a fresh database (migrated by the first node) holding the
 * population, and minted access tokens; for the baseline nothing but the handshake.
 */
export async function deploy(
  registry: ProcessRegistry,
  infra: Infra,
  options: DeployOptions,
): Promise<Deployment> {
  const prefix = `${options.tag}:`;
  const nodes: ServerNode[] = [];
  if (options.kind === 'baseline') {
    const script = join(COMPILED, 'baseline', 'server.js');
    for (let i = 0; i < options.nodeCount; i++) {
      nodes.push(
        await startNode(
          registry,
          `baseline-${i}`,
          script,
          { REDIS_URL: infra.redis.baseline.url, REDIS_KEY_PREFIX: prefix },
          options,
        ),
      );
    }
    return {
      kind: 'baseline',
      redisUrl: infra.redis.baseline.url,
      redisPid: infra.redis.baseline.pid,
      nodes,
      client: (user, nodeIndex) => ({
        userId: user.id,
        url: nodes[nodeIndex % nodes.length]!.url,
        auth: { userId: user.id, channelIds: user.channelIds },
        channelIds: user.channelIds,
      }),
    };
  }

  const databaseName = options.tag.replace(/[^a-z0-9_]/g, '_');
  const databaseUrl = await infra.createDatabase(databaseName);
  const secret = randomBytes(32).toString('hex');
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    ROLES: 'api,gateway',
    DATABASE_URL: databaseUrl,
    REDIS_URL: infra.redis.signalink.url,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET: secret,
    LOG_LEVEL: 'warn',
    // The benchmark measures the gateway, not its abuse limits; limits are still consulted.
    MESSAGE_RATE_PER_SECOND: '100000',
    MESSAGE_RATE_BURST: '100000',
    CHANNEL_MESSAGE_RATE_PER_SECOND: '100000',
    MAX_CONNECTIONS_PER_USER: '5',
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
    kind: 'signalink',
    databaseName,
    redisUrl: infra.redis.signalink.url,
    redisPid: infra.redis.signalink.pid,
    nodes,
    client: (user, nodeIndex) => ({
      userId: user.id,
      url: nodes[nodeIndex % nodes.length]!.url,
      auth: { token: tokens.get(user.id)! },
      channelIds: user.channelIds,
    }),
  };
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
