// Reconnect storm: CLIENTS sockets in CHANNELS channels, a writer posting WRITE_RATE messages
// per second through the REST API the whole time (constant-arrival-rate), and at WARMUP every
// client drops its connection at once. Each comes back after OUTAGE plus a random share of
// JITTER, catches up with channel.sync from the last seq it holds, and goes on receiving live.
// Measures reconnect time (drop to connected) and catch-up time (drop to holding every channel's
// head as of reconnecting), and checks that nobody misses or repeats a message.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e CLIENTS=2000 -e SOCKETS_PER_VU=50 \
//     -e JITTER=5s loadtest/k6/reconnect-storm.js
import { check } from 'k6';
import exec from 'k6/execution';
import { ChatClient, messageContent, settle } from './lib/chat-client.js';
import { envBaseUrl, envDurationMs, envInt, envNumber, k6Duration } from './lib/env.js';
import * as metrics from './lib/metrics.js';
import { channelHeads, postMessage } from './lib/rest.js';
import { delayUntil } from './lib/schedule.js';
import { PASSWORD, channelsByUser, newRunId, setUp, spreadMembers } from './lib/setup.js';
import { TREND_STATS, summaryOutputs } from './lib/summary.js';
import { Tokens } from './lib/tokens.js';

const BASE_URL = envBaseUrl();
const CLIENTS = envInt('CLIENTS', 100, { min: 1 });
const SOCKETS_PER_VU = envInt('SOCKETS_PER_VU', 10, { min: 1 });
const SOCKETS_PER_USER = envInt('SOCKETS_PER_USER', 2, { min: 1 });
const CHANNELS = envInt('CHANNELS', 10, { min: 1 });
const WRITE_RATE = envInt('WRITE_RATE', 10, { min: 1 });
const WARMUP_MS = envDurationMs('WARMUP', '10s');
const OUTAGE_MS = envDurationMs('OUTAGE', '1s');
const JITTER_MS = envDurationMs('JITTER', '2s');
const AFTER_MS = envDurationMs('AFTER', '10s');
const DRAIN_MS = envDurationMs('DRAIN', '30s');
const ACK_TIMEOUT_MS = envDurationMs('ACK_TIMEOUT', '10s');
const RECONNECT_P99_MS = envNumber('RECONNECT_P99_MS', 5000);
const CATCHUP_P99_MS = envNumber('CATCHUP_P99_MS', 10000);
const DELIVERY_P99_MS = envNumber('DELIVERY_P99_MS', 2000);
const MAX_ERROR_RATE = envNumber('MAX_ERROR_RATE', 0.01, { max: 1 });

const VUS = Math.ceil(CLIENTS / SOCKETS_PER_VU);
const USERS = Math.ceil(CLIENTS / SOCKETS_PER_USER);
const WRITE_MS = WARMUP_MS + OUTAGE_MS + JITTER_MS + AFTER_MS;

export const options = {
  scenarios: {
    clients: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      maxDuration: k6Duration(WRITE_MS + DRAIN_MS + 60000),
      exec: 'clients',
    },
    writer: {
      executor: 'constant-arrival-rate',
      rate: WRITE_RATE,
      timeUnit: '1s',
      duration: k6Duration(WRITE_MS),
      preAllocatedVUs: Math.min(WRITE_RATE, 4),
      maxVUs: Math.max(4, WRITE_RATE * 2),
      exec: 'write',
    },
  },
  thresholds: {
    signalink_reconnect_ms: [`p(99)<${RECONNECT_P99_MS}`],
    signalink_catchup_ms: [`p(99)<${CATCHUP_P99_MS}`],
    signalink_reconnects: [`count>=${CLIENTS}`],
    signalink_reconnect_gave_up: ['count==0'],
    signalink_connect_failed: [`rate<=${MAX_ERROR_RATE}`],
    signalink_delivery_ms: [`p(99)<${DELIVERY_P99_MS}`],
    signalink_send_failed: [`rate<=${MAX_ERROR_RATE}`],
    signalink_seq_gaps: ['count==0'],
    signalink_clients_behind: ['count==0'],
    signalink_order_violations: ['count==0'],
    checks: [`rate>=${1 - MAX_ERROR_RATE}`],
  },
  summaryTrendStats: TREND_STATS,
  setupTimeout: '30m',
};

export function setup() {
  const runId = newRunId();
  return setUp(BASE_URL, runId, USERS, spreadMembers(CHANNELS, Math.ceil(USERS / CHANNELS), USERS));
}

export async function clients(data) {
  const slot = exec.scenario.iterationInTest;
  const tokens = new Tokens(BASE_URL, PASSWORD);
  const byUser = channelsByUser(data);
  const mine = [];
  for (let i = slot * SOCKETS_PER_VU; i < Math.min(CLIENTS, (slot + 1) * SOCKETS_PER_VU); i += 1) {
    const u = Math.floor(i / SOCKETS_PER_USER);
    mine.push(
      new ChatClient({
        baseUrl: BASE_URL,
        user: data.users[u],
        tokens,
        channelIds: byUser[u],
        receiver: `${data.runId}-c${i}`,
        ackTimeoutMs: ACK_TIMEOUT_MS,
        reconnect: true,
        giveUpMs: DRAIN_MS,
      }),
    );
  }
  for (const c of mine) {
    try {
      await c.connect();
    } catch (err) {
      console.warn(`${c.receiver}: connect failed: ${err.message}`);
    }
  }
  // The storm: every client of every VU drops at the same moment, then comes back spread over
  // the jitter window, as after a load balancer reset or a network blip.
  const stormAt = exec.scenario.startTime + WARMUP_MS;
  await delayUntil(stormAt);
  const droppedAt = Date.now();
  for (const c of mine) c.drop();
  await Promise.all(
    mine.map((c) => c.reconnectLoop(droppedAt, OUTAGE_MS + Math.random() * JITTER_MS)),
  );
  await delayUntil(exec.scenario.startTime + WRITE_MS + 500);
  const heads = await settle(
    mine,
    () => channelHeads(BASE_URL, tokens.get(data.owner)),
    Date.now() + DRAIN_MS,
  );
  for (const c of mine) await c.finish(heads);
  for (const c of mine) c.stop();
}

const writerTokens = new Tokens(BASE_URL, PASSWORD);

export function write(data) {
  const n = exec.scenario.iterationInTest;
  const channel = data.channels[n % data.channels.length];
  const clientMsgId = `${data.runId}-w${n}`;
  const res = postMessage(
    BASE_URL,
    writerTokens.get(data.owner),
    channel.id,
    clientMsgId,
    messageContent(clientMsgId, 100),
  );
  const stored = check(res, { 'message stored (201)': (r) => r.status === 201 });
  metrics.sendFailed.add(!stored);
  if (stored) {
    metrics.acked.add(1);
    metrics.restSendMs.add(res.timings.duration);
  }
}

export function handleSummary(data) {
  return summaryOutputs('reconnect-storm', data, {
    BASE_URL,
    CLIENTS,
    SOCKETS_PER_VU,
    SOCKETS_PER_USER,
    CHANNELS,
    WRITE_RATE,
    WARMUP_MS,
    OUTAGE_MS,
    JITTER_MS,
    AFTER_MS,
    RECONNECT_P99_MS,
    CATCHUP_P99_MS,
    DELIVERY_P99_MS,
    MAX_ERROR_RATE,
  });
}
