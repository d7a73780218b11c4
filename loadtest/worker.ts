/**
 * A load-generator worker process (forked by the orchestrator, commands over IPC). It holds a
 * share of the simulated users' connections, sends at a fixed offered rate, and records
 * latencies in histograms so only summaries cross the process boundary. Several workers run
 * at once so one event loop is not what limits the measurement.
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import { SignalinkClient, SignalinkError } from '../services/client/index.js';
import { CentrifugoLoadClient, type StreamPosition } from './lib/centrifugo-client.js';
import { Histogram } from './lib/histogram.js';
import { nowMs, sleep } from './lib/paths.js';
import type {
  AckedMessage,
  ClientSpec,
  CollectResult,
  ConnectResult,
  FailoverResult,
  SendResult,
  SettleResult,
  WorkerCommand,
  WorkerRequest,
} from './lib/protocol.js';

interface ReceivedMessage {
  id: string;
  channelId: string;
  seq: number;
  content: string;
}

interface LoadClient {
  spec: ClientSpec;
  raw?: Socket;
  sdk?: SignalinkClient;
  cf?: CentrifugoLoadClient;
  /** Distinct message ids received (kept only when armed with keepIds). */
  seen: Set<string>;
}

const clients: LoadClient[] = [];
let recvHist = new Histogram();
let deliveries = 0;
let duplicates = 0;
let perMessage: Map<string, [number, number]> | undefined;
let keepIds = false;
let clientErrors: Record<string, number> = {};
let cpuMark = process.cpuUsage();
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

function errorCode(err: unknown): string {
  if (err instanceof SignalinkError) return err.code;
  if (err instanceof Error) return err.message.slice(0, 60);
  return String(err).slice(0, 60);
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost')
    throw new Error(`refusing to connect to a non-loopback address: ${url}`);
}

/** Content carries the send time, so any receiver can compute the delivery latency. */
function makeContent(sentAt: number, bytes: number): string {
  const head = `t=${sentAt.toFixed(3)};`;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

function sentAtOf(content: string): number {
  const end = content.indexOf(';');
  return end > 2 ? Number(content.slice(2, end)) : NaN;
}

function onMessage(client: LoadClient, m: ReceivedMessage): void {
  const latency = nowMs() - sentAtOf(m.content);
  if (keepIds) {
    if (client.seen.has(m.id)) {
      duplicates += 1;
      return;
    }
    client.seen.add(m.id);
  }
  deliveries += 1;
  if (!Number.isNaN(latency)) recvHist.record(latency);
  if (perMessage) {
    const entry = perMessage.get(m.id);
    if (entry) {
      entry[0] += 1;
      if (latency > entry[1]) entry[1] = latency;
    } else perMessage.set(m.id, [1, latency]);
  }
}

function openRaw(client: LoadClient, url: string, timeoutMs: number): Promise<void> {
  assertLoopback(url);
  // No automatic reconnection: a lost connection is the scenario's business (crash failover).
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: timeoutMs,
    auth: client.spec.auth,
  });
  client.raw = socket;
  socket.on('message.new', (m: ReceivedMessage) => onMessage(client, m));
  // Anything but our own close: the server dropped the client (a shed, an overflow, a crash).
  socket.on('disconnect', (reason) => {
    if (reason !== 'io client disconnect') bump(clientErrors, `disconnect: ${reason}`);
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

async function openCentrifugo(
  client: LoadClient,
  url: string,
  timeoutMs: number,
  from: Map<string, StreamPosition>,
): Promise<void> {
  assertLoopback(url);
  const token = client.spec.auth.token;
  if (typeof token !== 'string') throw new Error('Centrifugo clients need a token');
  const cf = new CentrifugoLoadClient(
    url,
    token,
    client.spec.channelIds,
    (m) => onMessage(client, m),
    (code) => bump(clientErrors, code),
    from,
  );
  client.cf = cf;
  try {
    await cf.connect(timeoutMs);
  } catch (err) {
    cf.close();
    throw err;
  }
}

async function openSdk(
  client: LoadClient,
  url: string,
  timeoutMs: number,
  from: Map<string, number>,
): Promise<void> {
  assertLoopback(url);
  const token = client.spec.auth.token;
  if (typeof token !== 'string') throw new Error('SDK clients need a token');
  const sdk = new SignalinkClient({ url, token, connectTimeoutMs: timeoutMs });
  client.sdk = sdk;
  for (const channelId of client.spec.channelIds) sdk.track(channelId, from.get(channelId) ?? 0);
  sdk.on('message', (m) => onMessage(client, m));
  sdk.on('error', (err) => bump(clientErrors, `sdk: ${errorCode(err)}`));
  await sdk.connect();
}

async function connect(cmd: Extract<WorkerCommand, { type: 'connect' }>): Promise<ConnectResult> {
  const hist = new Histogram();
  const errors: Record<string, number> = {};
  let connected = 0;
  let next = 0;
  const fresh: LoadClient[] = cmd.clients.map((spec) => ({ spec, seen: new Set<string>() }));
  clients.push(...fresh);
  const lane = async () => {
    while (next < fresh.length) {
      const client = fresh[next++]!;
      const started = nowMs();
      try {
        if (client.spec.transport === 'centrifugo')
          await openCentrifugo(client, client.spec.url, cmd.timeoutMs, new Map());
        else if (cmd.sdk) await openSdk(client, client.spec.url, cmd.timeoutMs, new Map());
        else await openRaw(client, client.spec.url, cmd.timeoutMs);
        hist.record(nowMs() - started);
        connected += 1;
      } catch (err) {
        bump(errors, errorCode(err));
      }
    }
  };
  await Promise.all(Array.from({ length: cmd.concurrency }, lane));
  return { connected, failed: fresh.length - connected, errors, connectMs: hist.toData() };
}

function sendOne(
  client: LoadClient,
  channelId: string,
  contentBytes: number,
  ackTimeoutMs: number,
): Promise<{ ok: true; message: AckedMessage } | { ok: false; code: string }> {
  const sentAt = nowMs();
  const content = makeContent(sentAt, contentBytes);
  const clientMsgId = randomUUID();
  if (client.cf) {
    // The publication is the message: its id is ours, its seq the stream offset.
    const id = randomUUID();
    const cf = client.cf;
    return withTimeout(
      cf.publish(channelId, { id, channelId, clientMsgId, content }),
      ackTimeoutMs,
    ).then(
      () => ({ ok: true as const, message: { id, channelId, seq: 0 } }),
      (err: unknown) => ({ ok: false as const, code: errorCode(err) }),
    );
  }
  if (client.sdk) {
    return client.sdk.send(channelId, content, { clientMsgId }).then(
      (message) => ({ ok: true as const, message }),
      (err: unknown) => ({ ok: false as const, code: errorCode(err) }),
    );
  }
  const socket = client.raw;
  if (!socket) return Promise.resolve({ ok: false, code: 'NOT_CONNECTED' });
  return new Promise((resolve) => {
    socket
      .timeout(ackTimeoutMs)
      .emit(
        'message.send',
        { channelId, clientMsgId, content },
        (
          err: Error | null,
          ack: { ok: boolean; message?: AckedMessage; error?: { code: string } },
        ) => {
          if (err) resolve({ ok: false, code: 'ACK_TIMEOUT' });
          else if (ack.ok && ack.message) resolve({ ok: true, message: ack.message });
          else resolve({ ok: false, code: ack.error?.code ?? 'UNKNOWN' });
        },
      );
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ACK_TIMEOUT')), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(
          e instanceof Error ? e : new Error(String((e as { message?: unknown })?.message ?? e)),
        );
      },
    );
  });
}

async function send(cmd: Extract<WorkerCommand, { type: 'send' }>): Promise<SendResult> {
  const ackHist = new Histogram();
  const errors: Record<string, number> = {};
  const acked: AckedMessage[] = [];
  let sent = 0;
  let ok = 0;
  let outstanding = 0;
  let lastAckAt = 0;
  let scheduleLagMs = 0;
  const start = nowMs();
  if (cmd.senders.length === 0 || cmd.ratePerSecond <= 0)
    return {
      scheduleLagMs,
      sent,
      ok,
      errors,
      ackMs: ackHist.toData(),
      firstSendAt: start,
      lastAckAt: start,
      acked,
    };

  const fire = (i: number) => {
    const sender = cmd.senders[i % cmd.senders.length]!;
    const client = clients[sender.client];
    if (!client) {
      bump(errors, 'NO_SUCH_CLIENT');
      return;
    }
    outstanding += 1;
    const sentAt = nowMs();
    void sendOne(client, sender.channelId, cmd.contentBytes, cmd.ackTimeoutMs).then((r) => {
      outstanding -= 1;
      const at = nowMs();
      if (r.ok) {
        ok += 1;
        ackHist.record(at - sentAt);
        lastAckAt = Math.max(lastAckAt, at);
        if (cmd.keepAcked)
          acked.push({ id: r.message.id, channelId: r.message.channelId, seq: r.message.seq });
      } else bump(errors, r.code);
    });
  };

  // Open loop: the schedule is fixed by the clock, never by acks, so a slow server faces a
  // growing backlog (as it would with real users) instead of a politely slowed generator.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = nowMs() - start;
      const due = Math.min(cmd.maxCount, Math.floor((elapsed * cmd.ratePerSecond) / 1000) + 1);
      // The oldest send still owed was due at sent / rate: how late the generator is.
      if (sent < due && elapsed < cmd.durationMs)
        scheduleLagMs = Math.max(scheduleLagMs, elapsed - (sent * 1000) / cmd.ratePerSecond);
      while (sent < due && elapsed < cmd.durationMs) fire(sent++);
      if (sent >= cmd.maxCount || elapsed >= cmd.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  // SDK sends retry internally, so give them the client's whole retry budget.
  const drainUntil = nowMs() + cmd.ackTimeoutMs + 2000;
  while (outstanding > 0 && nowMs() < drainUntil) await sleep(20);
  if (outstanding > 0) errors.STILL_OUTSTANDING = outstanding;
  return {
    scheduleLagMs,
    sent,
    ok,
    errors,
    ackMs: ackHist.toData(),
    firstSendAt: start,
    lastAckAt: lastAckAt || start,
    acked,
  };
}

/** Moves every client of a dead node to a live one, as a load balancer would on reconnect. */
async function failover(
  cmd: Extract<WorkerCommand, { type: 'failover' }>,
): Promise<FailoverResult> {
  const errors: Record<string, number> = {};
  let moved = 0;
  const victims = clients.filter((c) => c.spec.url === cmd.fromUrl);
  await Promise.all(
    victims.map(async (client) => {
      const [min, max] = cmd.delayMs;
      await sleep(min + Math.random() * (max - min));
      client.spec = { ...client.spec, url: cmd.toUrl };
      try {
        if (client.cf) {
          // Resubscribes from the last position seen: the server replays the history since.
          const old = client.cf;
          const from = old.streamPositions();
          old.close();
          await openCentrifugo(client, cmd.toUrl, 20_000, from);
        } else if (client.sdk) {
          // The SDK resumes from the last seq it holds and syncs the rest on connect.
          const old = client.sdk;
          const from = new Map(client.spec.channelIds.map((c) => [c, old.lastSeq(c) ?? 0]));
          old.close();
          await openSdk(client, cmd.toUrl, 20_000, from);
        } else {
          client.raw?.close();
          await openRaw(client, cmd.toUrl, 20_000);
        }
        moved += 1;
      } catch (err) {
        bump(errors, errorCode(err));
      }
    }),
  );
  return { moved, failed: victims.length - moved, errors };
}

/** SDK clients: sync every channel and wait until each holds the channel's acked head. */
async function settle(cmd: Extract<WorkerCommand, { type: 'settle' }>): Promise<SettleResult> {
  const deadline = nowMs() + cmd.timeoutMs;
  let caughtUp = 0;
  await Promise.all(
    clients.map(async (client) => {
      const sdk = client.sdk;
      const channels = client.spec.channelIds.filter((c) => cmd.heads[c] !== undefined);
      if (!sdk) return;
      await Promise.all(channels.map((c) => sdk.sync(c).catch(() => undefined)));
      while (nowMs() < deadline) {
        if (channels.every((c) => (sdk.lastSeq(c) ?? 0) >= cmd.heads[c]!)) {
          caughtUp += 1;
          return;
        }
        await sleep(100);
        await Promise.all(channels.map((c) => sdk.sync(c).catch(() => undefined)));
      }
    }),
  );
  return { caughtUp, behind: clients.filter((c) => c.sdk).length - caughtUp };
}

function collect(): CollectResult {
  const cpu = process.cpuUsage(cpuMark);
  cpuMark = process.cpuUsage();
  const result: CollectResult = {
    deliveries,
    receiveMs: recvHist.toData(),
    perMessage: perMessage ? [...perMessage.entries()].map(([id, [n, max]]) => [id, n, max]) : [],
    received: keepIds ? clients.map((c) => [c.spec.userId, [...c.seen]]) : [],
    duplicates,
    clientErrors,
    connected: clients.filter((c) => c.raw?.connected || c.sdk?.connected || c.cf?.connected)
      .length,
    cpuMs: (cpu.user + cpu.system) / 1000,
    eventLoopP99Ms: loopDelay.percentile(99) / 1e6,
    eventLoopMaxMs: loopDelay.max / 1e6,
  };
  loopDelay.reset();
  return result;
}

function arm(cmd: Extract<WorkerCommand, { type: 'arm' }>): void {
  recvHist = new Histogram();
  deliveries = 0;
  duplicates = 0;
  clientErrors = {};
  perMessage = cmd.perMessage ? new Map() : undefined;
  keepIds = cmd.keepIds;
  for (const c of clients) c.seen.clear();
  cpuMark = process.cpuUsage();
  loopDelay.reset();
}

function closeAll(): void {
  for (const c of clients) {
    c.sdk?.close();
    c.raw?.close();
    c.cf?.close();
  }
}

async function handle(cmd: WorkerCommand): Promise<unknown> {
  switch (cmd.type) {
    case 'connect':
      return connect(cmd);
    case 'arm':
      return arm(cmd);
    case 'send':
      return send(cmd);
    case 'failover':
      return failover(cmd);
    case 'settle':
      return settle(cmd);
    case 'collect':
      return collect();
    case 'close':
      closeAll();
      setTimeout(() => process.exit(0), 50);
      return undefined;
  }
}

process.on('message', (raw: unknown) => {
  const req = raw as WorkerRequest;
  handle(req).then(
    (result) => process.send?.({ requestId: req.requestId, ok: true, result }),
    (err: unknown) => process.send?.({ requestId: req.requestId, ok: false, error: String(err) }),
  );
});

// Never outlive the orchestrator, and never run forever even if it hangs.
process.on('disconnect', () => process.exit(0));
setTimeout(
  () => process.exit(3),
  Number(process.env.LOADTEST_WORKER_MAX_MS ?? 3 * 3600_000),
).unref();
