// Real Apache Kafka for tests and local runs: N combined broker+controller processes in KRaft
// mode on 127.0.0.1, from the jars scripts/tools/kafka.sh collects. Each node can be killed and
// started again on the same ports and data, so fault tests can take brokers away.
// Plain JavaScript so it runs before anything is compiled.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer, connect } from 'node:net';
import { freePort, tcpOpen } from './ports.mjs';

const ROOT = resolve(import.meta.dirname, '..');

/** Runs the (cached, idempotent) installer and returns the directory with libs/. */
export function kafkaHome() {
  if (process.env.KAFKA_HOME_DIR) return process.env.KAFKA_HOME_DIR;
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'tools', 'kafka.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.toString().trim().split('\n').pop();
}

/**
 * Kafka cluster ids are 16 random bytes in URL-safe base64 without padding; one starting with
 * `-` would be read as an option by the storage tool, so those are drawn again.
 */
function clusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Clients use the CLIENT listener, advertised at `port` (a proxy's port when the cluster is
 * proxied); brokers replicate over INTERNAL, so cutting client connections spares replication.
 */
function serverProperties({
  id,
  port,
  brokerPort,
  internalPort,
  controllerPort,
  voters,
  logDir,
  replication,
}) {
  const minIsr = replication >= 3 ? 2 : 1;
  return [
    'process.roles=broker,controller',
    `node.id=${id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=CLIENT://127.0.0.1:${brokerPort},INTERNAL://127.0.0.1:${internalPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=CLIENT://127.0.0.1:${port},INTERNAL://127.0.0.1:${internalPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=INTERNAL',
    'listener.security.protocol.map=CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${logDir}`,
    // The product creates its topics; nothing may appear because someone asked for it.
    'auto.create.topics.enable=false',
    `default.replication.factor=${replication}`,
    `min.insync.replicas=${minIsr}`,
    `offsets.topic.replication.factor=${replication}`,
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${replication}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    // Consumers in tests use short sessions so a killed member leaves the group quickly.
    'group.consumer.session.timeout.ms=6000',
    'group.consumer.min.session.timeout.ms=1000',
    'group.min.session.timeout.ms=1000',
    'num.partitions=3',
    'log.flush.interval.messages=9223372036854775807',
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'log.cleaner.enable=false',
    'delete.topic.enable=true',
    '',
  ].join('\n');
}

class KafkaNode {
  constructor(home, props, dir, label) {
    this.home = home;
    this.props = props;
    this.dir = dir;
    this.label = label;
    this.child = undefined;
    this.stderr = '';
  }

  get running() {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  java(mainClass, args, options = {}) {
    return spawn(
      'java',
      [
        '-Xms128m',
        '-Xmx512m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${join(this.home, 'log4j2.properties')}`,
        `-Dkafka.logs.dir=${this.dir}`,
        '-cp',
        join(this.home, 'libs', '*'),
        mainClass,
        ...args,
      ],
      options,
    );
  }

  format(id) {
    execFileSync(
      'java',
      [
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1',
        `-Dlog4j2.configurationFile=${join(this.home, 'log4j2.properties')}`,
        '-cp',
        join(this.home, 'libs', '*'),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        id,
        '-c',
        join(this.dir, 'server.properties'),
        '--ignore-formatted',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  }

  /** Starts the process; resolves once its client port accepts connections. */
  async start() {
    if (this.running) return;
    const child = this.java('kafka.Kafka', [join(this.dir, 'server.properties')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    this.stderr = '';
    child.stderr.on('data', (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    child.on('exit', (code, signal) => {
      if (!child.stoppedOnPurpose && process.env.KAFKA_CLUSTER_QUIET !== '1')
        process.stderr.write(`[kafka] ${this.label} exited (code ${code}, signal ${signal})\n`);
    });
    const deadline = Date.now() + 120_000;
    while (!(await tcpOpen(this.props.brokerPort))) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${this.label} exited during start: ${this.stderr.trim()}`);
      if (Date.now() > deadline)
        throw new Error(`${this.label} did not open port ${this.props.brokerPort}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL (a crash) by default; SIGTERM is a controlled shutdown. Resolves once it is gone. */
  kill(signal = 'SIGKILL') {
    const child = this.child;
    if (!child || !this.running) return Promise.resolve();
    child.stoppedOnPurpose = true;
    return new Promise((res) => {
      child.once('exit', () => res());
      child.kill(signal);
      if (signal !== 'SIGKILL') setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    });
  }
}

/**
 * Starts `brokers` combined nodes (1 or 3; with 3, topics default to replication 3 and
 * min.insync.replicas 2). With `proxied`, clients reach each broker through a TCP proxy in
 * this process, and `cutClientConnections()` closes every client connection at once, as a
 * broker that drops its connections would. Returns the bootstrap list, the nodes, a readiness
 * wait and stop().
 */
export async function startKafkaCluster({ brokers = 1, proxied = false } = {}) {
  const home = kafkaHome();
  const root = mkdtempSync(join(tmpdir(), 'signalink-kafka-'));
  const proxies = [];
  const ports = [];
  for (let i = 0; i < brokers; i++) {
    const brokerPort = await freePort();
    const proxy = proxied ? await startProxy(brokerPort) : undefined;
    if (proxy) proxies.push(proxy);
    ports.push({
      port: proxy ? proxy.port : brokerPort,
      brokerPort,
      internalPort: await freePort(),
      controllerPort: await freePort(),
    });
  }
  const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controllerPort}`).join(',');
  const id = clusterId();
  const replication = Math.min(brokers, 3);
  const nodes = ports.map((p, i) => {
    const dir = join(root, `node-${i + 1}`);
    mkdirSync(join(dir, 'data'), { recursive: true });
    const props = { id: i + 1, ...p, voters, logDir: join(dir, 'data'), replication };
    writeFileSync(join(dir, 'server.properties'), serverProperties(props));
    return new KafkaNode(home, props, dir, `kafka-${i + 1}`);
  });
  const clientPorts = nodes.map((n) => n.props.port);
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    for (const proxy of proxies) proxy.close();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const n of nodes) n.format(id);
    // The controllers need each other for a quorum, so every node starts at once.
    await Promise.all(nodes.map((n) => n.start()));
    await waitForBrokers(clientPorts, brokers);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    bootstrap: clientPorts.map((p) => `127.0.0.1:${p}`).join(','),
    nodes,
    pids: () => nodes.filter((n) => n.running).map((n) => ({ name: n.label, pid: n.child.pid })),
    waitForBrokers: (count = brokers) => waitForBrokers(clientPorts, count),
    /** Closes every client connection through the proxies; returns how many were open. */
    cutClientConnections: () => proxies.reduce((sum, proxy) => sum + proxy.cut(), 0),
    stop,
  };
}

/** A TCP forwarder to 127.0.0.1:target that can drop every connection it carries. */
function startProxy(target) {
  const pairs = new Set();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () =>
      res({
        port: server.address().port,
        cut: () => {
          const n = pairs.size;
          for (const { client, upstream } of [...pairs]) {
            client.destroy();
            upstream.destroy();
          }
          return n;
        },
        close: () => {
          server.close();
          for (const { client, upstream } of pairs) {
            client.destroy();
            upstream.destroy();
          }
        },
      }),
    );
  });
}

/** Waits until the cluster reports `count` live brokers to a metadata request. */
async function waitForBrokers(ports, count, timeoutMs = 120_000) {
  const { default: kafkajs } = await import('kafkajs');
  const kafka = new kafkajs.Kafka({
    clientId: 'kafka-cluster-probe',
    brokers: ports.map((p) => `127.0.0.1:${p}`),
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const { brokers, controller } = await admin.describeCluster();
      last = `${brokers.length} brokers, controller ${controller}`;
      if (brokers.length >= count && controller !== null && controller >= 0) return;
    } catch (err) {
      last = err.message;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Kafka did not report ${count} brokers within ${timeoutMs} ms (${last})`);
}
