// Chat load: USERS users, each with one socket, in CHANNELS channels of MEMBERS members, sending
// RATE messages per second in total for DURATION, open loop (the schedule never waits for acks).
// Measures ack latency (message.send to its ack) and end-to-end delivery latency (the send
// time written into the message to its arrival on every member's socket), and checks that
// every member ends up with every message, in order, once.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=100 -e DURATION=2m loadtest/k6/chat-load.js
//
// k6 iterations cannot keep a WebSocket across iterations, so each VU runs one long iteration
// holding its users' sockets, and the arrival rate is one of messages, paced by timers.
import exec from 'k6/execution';
import { ChatClient, messageContent, settle } from './lib/chat-client.js';
import { envBaseUrl, envDurationMs, envInt, envNumber, k6Duration } from './lib/env.js';
import { channelHeads } from './lib/rest.js';
import { delayUntil, openLoop } from './lib/schedule.js';
import { PASSWORD, channelsByUser, newRunId, setUp, sliceFor, spreadMembers } from './lib/setup.js';
import { TREND_STATS, summaryOutputs } from './lib/summary.js';
import { Tokens } from './lib/tokens.js';

const BASE_URL = envBaseUrl();
const CHANNELS = envInt('CHANNELS', 20, { min: 1 });
const MEMBERS = envInt('MEMBERS', 4, { min: 2 });
const USERS = envInt('USERS', 40, { min: MEMBERS });
const RATE = envNumber('RATE', 20, { min: 0.1 });
const DURATION_MS = envDurationMs('DURATION', '60s');
const VUS = envInt('VUS', Math.min(USERS, 10), { min: 1, max: USERS });
const CONTENT_BYTES = envInt('CONTENT_BYTES', 100, { max: 3900 });
const CONNECT_WINDOW_MS = envDurationMs('CONNECT_WINDOW', '10s');
const DRAIN_MS = envDurationMs('DRAIN', '30s');
const ACK_TIMEOUT_MS = envDurationMs('ACK_TIMEOUT', '10s');
const ACK_P99_MS = envNumber('ACK_P99_MS', 500);
const DELIVERY_P99_MS = envNumber('DELIVERY_P99_MS', 1000);
const MAX_ERROR_RATE = envNumber('MAX_ERROR_RATE', 0.01, { max: 1 });

export const options = {
  scenarios: {
    chat: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      maxDuration: k6Duration(CONNECT_WINDOW_MS + DURATION_MS + DRAIN_MS + 60000),
      exec: 'chat',
    },
  },
  thresholds: {
    signalink_ack_ms: [`p(99)<${ACK_P99_MS}`],
    signalink_delivery_ms: [`p(99)<${DELIVERY_P99_MS}`],
    signalink_send_failed: [`rate<=${MAX_ERROR_RATE}`],
    signalink_connect_failed: [`rate<=${MAX_ERROR_RATE}`],
    signalink_messages_acked: ['count>0'],
    signalink_messages_lost: ['count==0'],
    signalink_seq_gaps: ['count==0'],
    signalink_clients_behind: ['count==0'],
    signalink_order_violations: ['count==0'],
  },
  summaryTrendStats: TREND_STATS,
  setupTimeout: '10m',
};

if (RATE / USERS > 8)
  console.warn(
    `RATE/USERS = ${RATE / USERS} messages per user and second: the server's default MESSAGE_RATE_PER_SECOND is 10`,
  );

export function setup() {
  const runId = newRunId();
  return setUp(BASE_URL, runId, USERS, spreadMembers(CHANNELS, MEMBERS, USERS));
}

export async function chat(data) {
  const slot = exec.scenario.iterationInTest;
  const tokens = new Tokens(BASE_URL, PASSWORD);
  const byUser = channelsByUser(data);
  const clients = sliceFor(slot, VUS, USERS).map(
    (u) =>
      new ChatClient({
        baseUrl: BASE_URL,
        user: data.users[u],
        tokens,
        channelIds: byUser[u],
        receiver: `${data.runId}-u${u}`,
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
  // Every (client, channel) pair of this VU sends in turn.
  const pairs = [];
  for (const c of clients)
    for (const channelId of Object.keys(c.channels)) pairs.push({ c, channelId });
  const startAt = exec.scenario.startTime + CONNECT_WINDOW_MS;
  const stopAt = startAt + DURATION_MS;
  await delayUntil(startAt);
  const sends = [];
  await openLoop(RATE / VUS, startAt, stopAt, (n) => {
    const { c, channelId } = pairs[n % pairs.length];
    const clientMsgId = `${data.runId}-${slot}-${n}`;
    sends.push(c.send(channelId, clientMsgId, messageContent(clientMsgId, CONTENT_BYTES)));
  });
  await Promise.all(sends);
  // Everyone stops sending at stopAt; wait for live delivery to reach the heads, then check.
  await delayUntil(stopAt + 500);
  const heads = await settle(
    clients,
    () => channelHeads(BASE_URL, tokens.get(data.owner)),
    Date.now() + DRAIN_MS,
  );
  for (const c of clients) await c.finish(heads);
  for (const c of clients) c.stop();
}

export function handleSummary(data) {
  return summaryOutputs('chat-load', data, {
    BASE_URL,
    CHANNELS,
    MEMBERS,
    USERS,
    RATE,
    DURATION_MS,
    VUS,
    CONTENT_BYTES,
    ACK_P99_MS,
    DELIVERY_P99_MS,
    MAX_ERROR_RATE,
  });
}
