// Large-channel fan-out: one channel of MEMBERS members, each with a socket (SOCKETS_PER_VU per
// VU), and an announcer posting RATE messages per second into it through the REST API for
// DURATION (constant-arrival-rate). Measures the delivery latency of every (message, member)
// pair, the announcer's send latency, and that every member ends up with every message once.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e MEMBERS=1000 -e SOCKETS_PER_VU=50 \
//     -e RATE=5 -e DURATION=2m loadtest/k6/fanout.js
import { check } from 'k6';
import exec from 'k6/execution';
import { ChatClient, messageContent, settle } from './lib/chat-client.js';
import { envBaseUrl, envDurationMs, envInt, envNumber, k6Duration } from './lib/env.js';
import * as metrics from './lib/metrics.js';
import { channelHeads, postMessage } from './lib/rest.js';
import { delayUntil } from './lib/schedule.js';
import { PASSWORD, newRunId, setUp } from './lib/setup.js';
import { TREND_STATS, summaryOutputs } from './lib/summary.js';
import { Tokens } from './lib/tokens.js';

const BASE_URL = envBaseUrl();
const MEMBERS = envInt('MEMBERS', 200, { min: 1 });
const SOCKETS_PER_VU = envInt('SOCKETS_PER_VU', 20, { min: 1 });
const RATE = envInt('RATE', 2, { min: 1 });
const DURATION_MS = envDurationMs('DURATION', '30s');
const CONNECT_WINDOW_MS = envDurationMs('CONNECT_WINDOW', '10s');
const DRAIN_MS = envDurationMs('DRAIN', '30s');
const CONTENT_BYTES = envInt('CONTENT_BYTES', 200, { max: 3900 });
const ACK_TIMEOUT_MS = envDurationMs('ACK_TIMEOUT', '10s');
const DELIVERY_P99_MS = envNumber('DELIVERY_P99_MS', 2000);
const SEND_P99_MS = envNumber('SEND_P99_MS', 1000);
const MAX_ERROR_RATE = envNumber('MAX_ERROR_RATE', 0.01, { max: 1 });

const VUS = Math.ceil(MEMBERS / SOCKETS_PER_VU);

export const options = {
  scenarios: {
    members: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      maxDuration: k6Duration(CONNECT_WINDOW_MS + DURATION_MS + DRAIN_MS + 60000),
      exec: 'members',
    },
    announcer: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: k6Duration(DURATION_MS),
      preAllocatedVUs: Math.min(RATE, 4),
      maxVUs: Math.max(4, RATE * 2),
      startTime: k6Duration(CONNECT_WINDOW_MS),
      exec: 'announce',
    },
  },
  thresholds: {
    signalink_delivery_ms: [`p(99)<${DELIVERY_P99_MS}`],
    signalink_rest_send_ms: [`p(99)<${SEND_P99_MS}`],
    signalink_send_failed: [`rate<=${MAX_ERROR_RATE}`],
    signalink_connect_failed: [`rate<=${MAX_ERROR_RATE}`],
    signalink_messages_acked: ['count>0'],
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
  const members = [];
  for (let i = 0; i < MEMBERS; i += 1) members.push(i);
  return setUp(BASE_URL, runId, MEMBERS, [members]);
}

export async function members(data) {
  const slot = exec.scenario.iterationInTest;
  const tokens = new Tokens(BASE_URL, PASSWORD);
  const channelId = data.channels[0].id;
  const clients = [];
  for (let i = slot * SOCKETS_PER_VU; i < Math.min(MEMBERS, (slot + 1) * SOCKETS_PER_VU); i += 1)
    clients.push(
      new ChatClient({
        baseUrl: BASE_URL,
        user: data.users[i],
        tokens,
        channelIds: [channelId],
        receiver: `${data.runId}-m${i}`,
        ackTimeoutMs: ACK_TIMEOUT_MS,
      }),
    );
  for (const c of clients) {
    try {
      await c.connect();
    } catch (err) {
      console.warn(`${c.receiver}: connect failed: ${err.message}`);
    }
  }
  // The announcer runs from CONNECT_WINDOW for DURATION; then live delivery must catch up.
  await delayUntil(exec.scenario.startTime + CONNECT_WINDOW_MS + DURATION_MS + 500);
  const heads = await settle(
    clients,
    () => channelHeads(BASE_URL, tokens.get(data.owner)),
    Date.now() + DRAIN_MS,
  );
  for (const c of clients) await c.finish(heads);
  for (const c of clients) c.stop();
}

const announcerTokens = new Tokens(BASE_URL, PASSWORD);

export function announce(data) {
  const n = exec.scenario.iterationInTest;
  const clientMsgId = `${data.runId}-a${n}`;
  const res = postMessage(
    BASE_URL,
    announcerTokens.get(data.owner),
    data.channels[0].id,
    clientMsgId,
    messageContent(clientMsgId, CONTENT_BYTES),
  );
  const stored = check(res, { 'announcement stored (201)': (r) => r.status === 201 });
  metrics.sendFailed.add(!stored);
  if (stored) {
    metrics.acked.add(1);
    metrics.restSendMs.add(res.timings.duration);
  }
}

export function handleSummary(data) {
  return summaryOutputs('fanout', data, {
    BASE_URL,
    MEMBERS,
    SOCKETS_PER_VU,
    RATE,
    DURATION_MS,
    CONNECT_WINDOW_MS,
    CONTENT_BYTES,
    DELIVERY_P99_MS,
    SEND_P99_MS,
    MAX_ERROR_RATE,
  });
}
