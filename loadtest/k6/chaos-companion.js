// Chaos companion: steady chat load that survives what a chaos experiment breaks, and writes the
// loss verifier's ledger. USERS users with one socket each in CHANNELS channels of MEMBERS send
// RATE messages per second for DURATION. A client whose connection drops reconnects with
// backoff and catches up through channel.sync; a send that is not acked is retried with the same
// clientMsgId until SEND_GIVE_UP. Every ack, every message received (live or by sync) and every
// send given up goes to the ledger; after DURATION and QUIET, every client does a final catch-up.
//
//   k6 run --log-format=raw --console-output=ledger.log -e BASE_URL=http://127.0.0.1:8080 \
//     -e DURATION=3m loadtest/k6/chaos-companion.js &
//   ... break something, wait for recovery ...
//   node dist/main.js verify --ledger ledger.log --base-url http://127.0.0.1:8080 \
//     --password signalink-load-test --name gateway-kill --recovered-in-ms 4200
//
// The ledger names the channels' owner, so the verifier can log in with PASSWORD alone.
import exec from 'k6/execution';
import { ChatClient, messageContent, settle } from './lib/chat-client.js';
import { envBaseUrl, envDurationMs, envInt, envNumber, k6Duration } from './lib/env.js';
import { writeLedger } from './lib/ledger.js';
import { channelHeads } from './lib/rest.js';
import { delay, delayUntil, openLoop } from './lib/schedule.js';
import { PASSWORD, channelsByUser, newRunId, setUp, sliceFor, spreadMembers } from './lib/setup.js';
import { TREND_STATS, summaryOutputs } from './lib/summary.js';
import { Tokens } from './lib/tokens.js';

const BASE_URL = envBaseUrl();
const CHANNELS = envInt('CHANNELS', 10, { min: 1 });
const MEMBERS = envInt('MEMBERS', 4, { min: 2 });
const USERS = envInt('USERS', 20, { min: MEMBERS });
const RATE = envNumber('RATE', 20, { min: 0.1 });
const DURATION_MS = envDurationMs('DURATION', '60s');
const VUS = envInt('VUS', Math.min(USERS, 5), { min: 1, max: USERS });
const CONTENT_BYTES = envInt('CONTENT_BYTES', 100, { max: 3900 });
const CONNECT_WINDOW_MS = envDurationMs('CONNECT_WINDOW', '5s');
const QUIET_MS = envDurationMs('QUIET', '5s');
const SEND_GIVE_UP_MS = envDurationMs('SEND_GIVE_UP', '60s');
const RECONNECT_GIVE_UP_MS = envDurationMs('RECONNECT_GIVE_UP', '5m');
const DRAIN_MS = envDurationMs('DRAIN', '60s');
const ACK_TIMEOUT_MS = envDurationMs('ACK_TIMEOUT', '5s');
const MAX_ERROR_RATE = envNumber('MAX_ERROR_RATE', 0.01, { max: 1 });

export const options = {
  scenarios: {
    chaos: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      maxDuration: k6Duration(
        CONNECT_WINDOW_MS + DURATION_MS + SEND_GIVE_UP_MS + QUIET_MS + DRAIN_MS + 120000,
      ),
      exec: 'chaos',
    },
  },
  // In-run checks; the verdict on loss is the verifier's, from the ledger and the stored history.
  thresholds: {
    signalink_messages_acked: ['count>0'],
    signalink_send_failed: [`rate<=${MAX_ERROR_RATE}`],
    signalink_reconnect_gave_up: ['count==0'],
    signalink_messages_lost: ['count==0'],
    signalink_seq_gaps: ['count==0'],
    signalink_clients_behind: ['count==0'],
    signalink_order_violations: ['count==0'],
  },
  summaryTrendStats: TREND_STATS,
  setupTimeout: '10m',
};

export function setup() {
  const runId = newRunId();
  const data = setUp(BASE_URL, runId, USERS, spreadMembers(CHANNELS, MEMBERS, USERS));
  writeLedger({
    kind: 'run',
    runId,
    startedAt: data.startedAt,
    baseUrl: BASE_URL,
    owner: data.owner.username,
  });
  for (const c of data.channels) writeLedger({ kind: 'channel', channel: c.id });
  return data;
}

export async function chaos(data) {
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
        reconnect: true,
        giveUpMs: RECONNECT_GIVE_UP_MS,
        ledger: true,
      }),
  );
  // A client that cannot connect at first keeps trying, as it would after a drop.
  for (const c of clients) {
    try {
      await c.connect();
    } catch (err) {
      console.warn(`${c.receiver}: connect failed (${err.message}); retrying`);
      c.reconnectLoop(Date.now()).catch(() => {});
    }
  }
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
    sends.push(
      c.sendReliably(
        channelId,
        clientMsgId,
        messageContent(clientMsgId, CONTENT_BYTES),
        Date.now() + SEND_GIVE_UP_MS,
      ),
    );
  });
  await Promise.all(sends);
  await delay(QUIET_MS);
  let heads;
  try {
    heads = await settle(
      clients,
      () => channelHeads(BASE_URL, tokens.get(data.owner)),
      Date.now() + DRAIN_MS,
    );
  } catch (err) {
    // The API is still down: the final catch-up below goes ahead, the verifier judges later.
    console.warn(`could not read channel heads: ${err.message}`);
  }
  for (const c of clients) await c.finish(heads, DRAIN_MS);
  for (const c of clients) c.stop();
}

export function handleSummary(data) {
  return summaryOutputs('chaos-companion', data, {
    BASE_URL,
    CHANNELS,
    MEMBERS,
    USERS,
    RATE,
    DURATION_MS,
    VUS,
    QUIET_MS,
    SEND_GIVE_UP_MS,
    MAX_ERROR_RATE,
  });
}
