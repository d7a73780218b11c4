// Idle connections soak: ramps to SOCKETS authenticated sockets over RAMP (ramping-vus, each VU
// holding SOCKETS_PER_VU of them), holds them for HOLD, then probes every socket with an acked
// event. Users sit in channels of CHANNEL_SIZE so the sockets join real rooms. Measures connect
// time, connections that drop while idle, and whether every socket still answers at the end.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e SOCKETS=5000 -e SOCKETS_PER_VU=50 \
//     -e RAMP=2m -e HOLD=10m loadtest/k6/idle-soak.js
//
// SOCKETS_PER_USER must stay within the server's MAX_CONNECTIONS_PER_USER (default 5), or the
// gateway closes the oldest sockets of a user.
import exec from 'k6/execution';
import { ChatClient } from './lib/chat-client.js';
import { envBaseUrl, envDurationMs, envInt, envNumber, k6Duration } from './lib/env.js';
import * as metrics from './lib/metrics.js';
import { delayUntil } from './lib/schedule.js';
import { PASSWORD, channelsByUser, newRunId, setUp, spreadMembers } from './lib/setup.js';
import { TREND_STATS, summaryOutputs } from './lib/summary.js';
import { Tokens } from './lib/tokens.js';

const BASE_URL = envBaseUrl();
const SOCKETS = envInt('SOCKETS', 200, { min: 1 });
const SOCKETS_PER_VU = envInt('SOCKETS_PER_VU', 10, { min: 1 });
const SOCKETS_PER_USER = envInt('SOCKETS_PER_USER', 4, { min: 1 });
const CHANNEL_SIZE = envInt('CHANNEL_SIZE', 10, { min: 1 });
const RAMP_MS = envDurationMs('RAMP', '30s');
const HOLD_MS = envDurationMs('HOLD', '60s');
const ACK_TIMEOUT_MS = envDurationMs('ACK_TIMEOUT', '10s');
const CONNECT_P95_MS = envNumber('CONNECT_P95_MS', 1000);
const PROBE_P99_MS = envNumber('PROBE_P99_MS', 1000);
const MAX_ERROR_RATE = envNumber('MAX_ERROR_RATE', 0.01, { max: 1 });

const VUS = Math.ceil(SOCKETS / SOCKETS_PER_VU);
const USERS = Math.ceil(SOCKETS / SOCKETS_PER_USER);

export const options = {
  scenarios: {
    soak: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: k6Duration(RAMP_MS), target: VUS },
        { duration: k6Duration(HOLD_MS), target: VUS },
      ],
      gracefulRampDown: '30s',
      gracefulStop: '60s',
      exec: 'soak',
    },
  },
  thresholds: {
    signalink_connect_ms: [`p(95)<${CONNECT_P95_MS}`],
    signalink_connect_failed: [`rate<=${MAX_ERROR_RATE}`],
    signalink_connections: [`count>=${SOCKETS}`],
    signalink_socket_drops: ['count==0'],
    signalink_probe_failed: ['rate==0'],
    signalink_probe_ms: [`p(99)<${PROBE_P99_MS}`],
  },
  summaryTrendStats: TREND_STATS,
  setupTimeout: '30m',
};

export function setup() {
  const runId = newRunId();
  const channels = Math.ceil(USERS / CHANNEL_SIZE);
  return setUp(
    BASE_URL,
    runId,
    USERS,
    spreadMembers(channels, Math.min(CHANNEL_SIZE, USERS), USERS),
  );
}

export async function soak(data) {
  // Every socket holds until the end of the hold stage; an iteration the executor starts after
  // that (a VU whose previous iteration ended early) has nothing left to do.
  const endAt = exec.scenario.startTime + RAMP_MS + HOLD_MS;
  if (Date.now() >= endAt) return;
  const slot = (exec.vu.idInTest - 1) % VUS;
  const tokens = new Tokens(BASE_URL, PASSWORD);
  const byUser = channelsByUser(data);
  const clients = [];
  for (let k = 0; k < SOCKETS_PER_VU; k += 1) {
    const i = slot * SOCKETS_PER_VU + k;
    if (i >= SOCKETS) break;
    const u = Math.floor(i / SOCKETS_PER_USER);
    clients.push(
      new ChatClient({
        baseUrl: BASE_URL,
        user: data.users[u],
        tokens,
        channelIds: byUser[u],
        receiver: `${data.runId}-s${i}`,
        ackTimeoutMs: ACK_TIMEOUT_MS,
        reconnect: true,
        giveUpMs: HOLD_MS,
      }),
    );
  }
  for (const c of clients) {
    try {
      await c.connect();
    } catch (err) {
      console.warn(`${c.receiver}: connect failed: ${err.message}`);
    }
  }
  await delayUntil(endAt);
  // Still there? Each socket answers one acked event.
  await Promise.all(
    clients.map(async (c) => {
      const started = Date.now();
      let ok = false;
      if (c.connected) {
        try {
          const ack = await c.socket.request('presence.set', { status: 'online' }, ACK_TIMEOUT_MS);
          ok = Boolean(ack && ack.ok);
        } catch {
          ok = false;
        }
      }
      metrics.probeFailed.add(!ok);
      if (ok) metrics.probeMs.add(Date.now() - started);
    }),
  );
  for (const c of clients) c.stop();
}

export function handleSummary(data) {
  return summaryOutputs('idle-soak', data, {
    BASE_URL,
    SOCKETS,
    SOCKETS_PER_VU,
    SOCKETS_PER_USER,
    CHANNEL_SIZE,
    RAMP_MS,
    HOLD_MS,
    CONNECT_P95_MS,
    PROBE_P99_MS,
    MAX_ERROR_RATE,
  });
}
