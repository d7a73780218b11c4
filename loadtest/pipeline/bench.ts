// Event pipeline benchmark (issue 4): outbox → Kafka throughput and commit-to-Kafka lag at a
// steady message rate, then the time to drain a large outbox backlog after a Kafka outage.
// Not a test: it prints numbers. Runs against throw-away PostgreSQL, Redis and the
// Kafka-protocol mock broker (scripts/test-servers.mjs), everything on 127.0.0.1, bounded
// in count and time. Usage: see loadtest/pipeline/README.md.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import knexFactory, { type Knex } from 'knex';
import { FanoutSlot } from '../../services/chat/fanout.js';
import { MessageService } from '../../services/chat/messages.js';
import { messageEvent, OutboxWakeup, TOPICS, writeOutbox } from '../../services/chat/outbox.js';
import { loadConfig } from '../../services/core/config.js';
import { RateLimits } from '../../services/core/rate-limits.js';
import { ROOT } from '../lib/paths.js';
const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '30' },
    backlog: { type: 'string', default: '100000' },
    channels: { type: 'string', default: '200' },
    lanes: { type: 'string', default: '32' },
    writer: { type: 'string', default: 'outbox' },
    partitions: { type: 'string', default: '48' },
    observe: { type: 'string' },
    brokers: { type: 'string' },
    batch: { type: 'string', default: '500' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const BACKLOG = Number(args.backlog);
const CHANNELS = Number(args.channels);
const LANES = Number(args.lanes);
const PARTITIONS = Number(args.partitions);
const WRITER = args.writer === 'send' ? 'send' : 'outbox';
const OVERALL_LIMIT_MS = 10 * 60_000;

const children: ChildProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function freePort(): Promise<number> {
  const { freePort: find } = (await import(resolve(ROOT, 'scripts/test-servers.mjs'))) as {
    freePort: () => Promise<number>;
  };
  return find();
}

function control(port: number, command: string): Promise<string> {
  return new Promise((res, rej) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.on('data', (d) => (reply += d.toString()));
    socket.on('close', () => res(reply.trim()));
    socket.on('error', rej);
    socket.end(`${command}\n`);
  });
}

async function main(): Promise<void> {
  const { startTestServers } = (await import(resolve(ROOT, 'scripts/test-servers.mjs'))) as {
    startTestServers: () => Promise<{ env: Record<string, string>; stop: () => Promise<void> }>;
  };
  // Always throw-away servers of our own, whatever the shell says.
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS']) delete process.env[name];
  const servers = await startTestServers();
  const stopAll = async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await servers.stop();
  };
  const timer = setTimeout(() => {
    process.stderr.write('[bench] overall time limit reached\n');
    void stopAll().then(() => process.exit(2));
  }, OVERALL_LIMIT_MS);
  try {
    await run(servers.env);
  } finally {
    clearTimeout(timer);
    await stopAll();
  }
}

async function run(env: Record<string, string>): Promise<void> {
  const controlPort = Number(env.KAFKA_MOCK_CONTROL_PORT);
  const brokers = env.KAFKA_BROKERS!.split(',');
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const topic = `${prefix}signalink.messages`;
  const admin: Knex = knexFactory({
    client: 'pg',
    connection: env.DATABASE_URL!,
    pool: { min: 0, max: 1 },
  });
  const dbName = `bench_${randomBytes(4).toString('hex')}`;
  await admin.raw(`create database "${dbName}"`);
  await admin.destroy();
  const url = new URL(env.DATABASE_URL!);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();

  // The mock broker keeps about 5 MB per partition and drops older records: enough partitions
  // that the whole run stays on the topic, so the consumer can check that nothing is missing.
  await control(controlPort, `create ${topic} ${PARTITIONS}`);

  // The relay under test, as in production: its own process running dist/main.js.
  const port = await freePort();
  const relay = spawn(process.execPath, [resolve(ROOT, 'dist/main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(32).toString('hex'),
      ROLES: 'relay',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: env.KAFKA_BROKERS!,
      KAFKA_TOPIC_PREFIX: prefix,
      RELAY_BATCH_SIZE: args.batch,
      RELAY_RETRY_MAX_MS: '2000',
      DATA_DIR: `/tmp/signalink-bench-${randomBytes(3).toString('hex')}`,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(relay);
  for (let i = 0; ; i++) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (i > 300 || relay.exitCode !== null) throw new Error('relay did not start');
    await sleep(100);
  }

  const db: Knex = knexFactory({
    client: 'pg',
    connection: databaseUrl,
    pool: { min: 0, max: LANES + 4 },
  });
  const channels = await seed(db);
  const config = loadConfig({
    NODE_ENV: 'test',
    MESSAGE_RATE_PER_SECOND: '100000',
    MESSAGE_RATE_BURST: '100000',
    CHANNEL_MESSAGE_RATE_PER_SECOND: '100000',
  });
  // As in the send path: the relay is woken after commit, at most once per 5 ms per process.
  const wakeup = new OutboxWakeup(db, (err) => console.error('[bench] relay wake-up failed', err));
  const messages = new MessageService(
    db,
    new FanoutSlot(),
    new RateLimits(config, undefined),
    wakeup,
  );

  // A consumer that notes when each message becomes visible on Kafka.
  // The consumer runs in a process of its own, so the writer's load does not delay what it
  // observes; it reports when each message became visible on Kafka.
  const visibleAt = new Map<string, number>();
  let seen = 0;
  const observer = fork(
    fileURLToPath(import.meta.url),
    ['--observe', topic, '--brokers', env.KAFKA_BROKERS!],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  children.push(observer);
  await new Promise<void>((ready) =>
    observer.on('message', (m: { ready?: true; ids?: string[]; at?: number }) => {
      if (m.ready) return ready();
      for (const id of m.ids ?? []) {
        seen += 1;
        if (!visibleAt.has(id)) visibleAt.set(id, m.at!);
      }
    }),
  );

  // Phase 1: a steady, open-loop stream of committed messages.
  if (SECONDS > 0) await steadyPhase();
  async function steadyPhase(): Promise<void> {
    console.log(
      `[bench] steady phase (${WRITER} writer): ${RATE} messages/s for ${SECONDS} s over ${CHANNELS} channels, relay batch ${args.batch}`,
    );
    const seqs = new Map<string, number>();
    // One committed transaction per message; returns its event id. `send`: the whole send path
    // (MessageService.send). `outbox`: only the outbox write that ends a send (row + NOTIFY in
    // one transaction), so the relay can be measured at rates the full send path cannot reach
    // on a small machine.
    const writeOne = async (i: number): Promise<string> => {
      const ch = channels[i % channels.length]!;
      const sender = ch.members[i % ch.members.length]!;
      const content = `bench message ${i} ${'x'.repeat(80)}`;
      if (WRITER === 'send') {
        const r = await messages.send(sender, {
          channelId: ch.id,
          clientMsgId: randomUUID(),
          content,
        });
        return r.message.id;
      }
      const seq = (seqs.get(ch.id) ?? 0) + 1;
      seqs.set(ch.id, seq);
      const now = new Date().toISOString();
      const event = messageEvent('message.created', {
        id: randomUUID(),
        channelId: ch.id,
        seq,
        sender: { id: sender, username: 'bench', displayName: 'Bench' },
        content,
        clientMsgId: randomUUID(),
        replyTo: null,
        createdAt: now,
        editedAt: null,
        deletedAt: null,
      });
      await db.transaction((trx) => writeOutbox(trx, TOPICS.messages, ch.id, event));
      wakeup.poke();
      return event.message.id;
    };
    const committedAt = new Map<string, number>();
    const total = RATE * SECONDS;
    const started = Date.now();
    let next = 0;
    let failures = 0;
    let lateStarts = 0;
    // Open-loop schedule (message i is due at i / RATE), written by a bounded set of lanes so
    // the writer never queues more transactions than it has connections.
    const lane = async () => {
      for (let i = next++; i < total; i = next++) {
        const wait = started + (i * 1000) / RATE - Date.now();
        if (wait > 0) await sleep(wait);
        else if (wait < -100) lateStarts += 1;
        try {
          const messageId = await writeOne(i);
          committedAt.set(messageId, Date.now());
        } catch {
          failures += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: LANES }, lane));
    const sendSeconds = (Date.now() - started) / 1000;
    const drainDeadline = Date.now() + 60_000;
    while ([...committedAt.keys()].some((id) => !visibleAt.has(id)) && Date.now() < drainDeadline)
      await sleep(50);
    const publishedSeconds = (Math.max(...visibleAt.values()) - started) / 1000;
    const lags = [...committedAt]
      .map(([id, t]) => (visibleAt.get(id) ?? NaN) - t)
      .filter((x) => !Number.isNaN(x))
      .sort((a, b) => a - b);
    const missing = committedAt.size - lags.length;
    const relayLag = await histogramPercentiles(
      `http://127.0.0.1:${port}/metrics`,
      'signalink_relay_lag_seconds',
      [50, 99],
    );
    console.log(
      JSON.stringify(
        {
          phase: 'steady',
          writer: WRITER,
          targetRate: RATE,
          sent: committedAt.size,
          sendFailures: failures,
          achievedSendRate: Math.round(committedAt.size / sendSeconds),
          sendsStartedOver100msLate: lateStarts,
          publishedPerSecond: Math.round(lags.length / publishedSeconds),
          missingOnKafka: missing,
          commitToKafkaLagMs: {
            p50: percentile(lags, 50),
            p90: percentile(lags, 90),
            p99: percentile(lags, 99),
            max: lags.at(-1),
          },
          relayWriteToAckLagMsUpperBucket: relayLag,
        },
        null,
        2,
      ),
    );
  }

  // Phase 2: Kafka down, a backlog builds up in the outbox, Kafka back: time to drain it.
  if (BACKLOG > 0) await backlogPhase();
  async function backlogPhase(): Promise<void> {
    console.log(`[bench] backlog phase: all brokers down, ${BACKLOG} outbox events, brokers up`);
    await control(controlPort, 'down -1');
    const template = messageEvent('message.created', {
      id: randomUUID(),
      channelId: channels[0]!.id,
      seq: 1,
      sender: { id: channels[0]!.members[0]!, username: 'bench', displayName: 'Bench' },
      content: `bench message ${'x'.repeat(80)}`,
      clientMsgId: randomUUID(),
      replyTo: null,
      createdAt: new Date().toISOString(),
      editedAt: null,
      deletedAt: null,
    });
    const seenBefore = seen;
    const keys = channels.map((c) => c.id);
    for (let done = 0; done < BACKLOG; done += 10_000) {
      const n = Math.min(10_000, BACKLOG - done);
      await db.raw(
        `insert into outbox (topic, key, payload)
       select 'signalink.messages', (?::text[])[1 + (g % ?)],
              jsonb_set(jsonb_set(?::jsonb, '{eventId}', to_jsonb(gen_random_uuid()::text)), '{message,id}', to_jsonb(gen_random_uuid()::text))
         from generate_series(1, ?) g`,
        [keys, keys.length, JSON.stringify(template), n],
      );
    }
    const backlogRows = Number(
      (await db('outbox').whereNull('published_at').count({ n: '*' }).first())?.n,
    );
    await sleep(2000);
    const upAt = Date.now();
    await control(controlPort, 'up -1');
    let firstProgressAt: number | undefined;
    let drainedAt: number | undefined;
    const limit = Date.now() + 2 * 60_000;
    while (Date.now() < limit) {
      const left = Number(
        (await db('outbox').whereNull('published_at').count({ n: '*' }).first())?.n,
      );
      if (firstProgressAt === undefined && left < backlogRows) firstProgressAt = Date.now();
      if (left === 0 && drainedAt === undefined) drainedAt = Date.now();
      if (drainedAt !== undefined && seen - seenBefore >= BACKLOG) break;
      await sleep(100);
    }
    const visibleAll = Date.now();
    const kafkaAdmin = new kafkajs.Kafka({
      clientId: 'bench-admin',
      brokers,
      logLevel: kafkajs.logLevel.NOTHING,
    }).admin();
    await kafkaAdmin.connect();
    const recordsOnTopic = (await kafkaAdmin.fetchTopicOffsets(topic)).reduce(
      (sum, p) => sum + Number(p.high) - Number(p.low),
      0,
    );
    await kafkaAdmin.disconnect();
    console.log(
      JSON.stringify(
        {
          phase: 'backlog',
          backlogRows,
          secondsFromBrokersUpToFirstPublish: firstProgressAt
            ? (firstProgressAt - upAt) / 1000
            : null,
          secondsFromBrokersUpToOutboxDrained: drainedAt ? (drainedAt - upAt) / 1000 : null,
          secondsFromBrokersUpToAllVisibleToConsumer: (visibleAll - upAt) / 1000,
          drainRateEventsPerSecond:
            drainedAt && firstProgressAt
              ? Math.round(backlogRows / ((drainedAt - firstProgressAt) / 1000))
              : null,
          consumedDuringDrain: seen - seenBefore,
          recordsOnTopic,
        },
        null,
        2,
      ),
    );
  }
  observer.kill('SIGTERM');
  await db.destroy();
}

/** The upper bound of the histogram bucket holding each percentile (Prometheus text format). */
async function histogramPercentiles(
  url: string,
  name: string,
  ps: number[],
): Promise<Record<string, number>> {
  const text = await (await fetch(url)).text();
  const buckets = [
    ...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm')),
  ].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000, n: Number(m[2]) }));
  const total = buckets.at(-1)?.n ?? 0;
  return Object.fromEntries(
    ps.map((p) => [`p${p}`, buckets.find((b) => b.n >= (p / 100) * total)?.le ?? NaN]),
  );
}

async function seed(db: Knex): Promise<{ id: string; members: string[] }[]> {
  const out: { id: string; members: string[] }[] = [];
  for (let c = 0; c < CHANNELS; c++) {
    const members = [randomUUID(), randomUUID()];
    await db('users').insert(
      members.map((id, m) => ({
        id,
        username: `b${c}_${m}_${id.slice(0, 6)}`,
        email: `${id}@bench.test`,
        password_hash: 'x',
        display_name: `Bench ${c}.${m}`,
      })),
    );
    const [channel] = (await db('channels')
      .insert({ type: 'public', name: `bench-${c}`, created_by: members[0] })
      .returning('id')) as { id: string }[];
    await db('channel_members').insert(
      members.map((user_id, m) => ({
        channel_id: channel!.id,
        user_id,
        role: m === 0 ? 'owner' : 'member',
      })),
    );
    out.push({ id: channel!.id, members });
  }
  return out;
}

/** Observer process: consumes the topic and reports message ids with the time they arrived. */
async function observe(topic: string, brokers: string[]): Promise<void> {
  const { Kafka, logLevel } = kafkajs;
  const kafka = new Kafka({
    clientId: 'bench-observer',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 50, maxRetryTime: 1000 },
  });
  const consumer = kafka.consumer({
    groupId: `${topic}.observer`,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 20,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let announced = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (!announced) process.send!({ ready: true });
    announced = true;
  });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const at = Date.now();
      const ids = batch.messages.map(
        (m) => (JSON.parse(m.value!.toString()) as { message: { id: string } }).message.id,
      );
      process.send!({ ids, at });
    },
  });
  const stop = () => void consumer.disconnect().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

if (args.observe) await observe(args.observe, args.brokers!.split(','));
else await main();
