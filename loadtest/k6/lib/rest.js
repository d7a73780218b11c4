// REST setup and helpers over k6/http: accounts, channels, members, heads. Rate limits are
// honoured (RATE_LIMITED carries retryAfterMs), so setup against a deployment with the default
// limits is slow rather than broken.
import http from 'k6/http';
import { sleep } from 'k6';

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const MAX_ATTEMPTS = 12;
// A registration that finds the account taken logs in instead; 409 is an answer, not a failure.
const REGISTER_STATUSES = http.expectedStatuses({ min: 200, max: 399 }, 409);

function errorOf(res) {
  try {
    const body = JSON.parse(res.body);
    return body && body.error ? body.error : undefined;
  } catch {
    return undefined;
  }
}

function retryDelayMs(res, attempt) {
  const error = errorOf(res);
  const hinted = error && error.details && error.details.retryAfterMs;
  return typeof hinted === 'number' ? hinted : Math.min(5000, 200 * 2 ** attempt);
}

function retryable(res) {
  return res.status === 0 || res.status === 429 || res.status === 503;
}

/**
 * One API call: `path` under /api/v1, JSON in and out. Retries rate limits, unavailability and
 * connection failures; throws with the method, route and error code on anything unexpected.
 */
export function api(baseUrl, method, path, body, token, options) {
  const opts = options || {};
  const expected = opts.expected || [200, 201, 204];
  const headers = Object.assign(
    {},
    JSON_HEADERS,
    token ? { Authorization: `Bearer ${token}` } : {},
  );
  const params = { headers, tags: { name: `${method} ${opts.route || path}` }, timeout: '30s' };
  if (opts.responseCallback) params.responseCallback = opts.responseCallback;
  for (let attempt = 0; ; attempt += 1) {
    const res = http.request(
      method,
      `${baseUrl}/api/v1${path}`,
      body === undefined ? null : JSON.stringify(body),
      params,
    );
    if (expected.indexOf(res.status) >= 0) return res;
    if (retryable(res) && attempt + 1 < MAX_ATTEMPTS) {
      sleep(retryDelayMs(res, attempt) / 1000);
      continue;
    }
    const error = errorOf(res);
    const why = error ? `${error.code}: ${error.message}` : res.error || `HTTP ${res.status}`;
    throw new Error(`${method} ${opts.route || path} failed (${why})`);
  }
}

export function login(baseUrl, username, password) {
  const res = api(baseUrl, 'POST', '/auth/login', { login: username, password }, undefined, {
    route: '/auth/login',
  });
  const session = res.json();
  return { id: session.user.id, username, token: session.accessToken, tokenAt: Date.now() };
}

/** Registers an account, or logs in when it exists already (runs that reuse USER_PREFIX). */
export function registerOrLogin(baseUrl, username, password) {
  const res = api(
    baseUrl,
    'POST',
    '/auth/register',
    { username, email: `${username}@loadtest.example.com`, password, displayName: username },
    undefined,
    { expected: [201, 409], route: '/auth/register', responseCallback: REGISTER_STATUSES },
  );
  if (res.status === 409) return login(baseUrl, username, password);
  const session = res.json();
  return { id: session.user.id, username, token: session.accessToken, tokenAt: Date.now() };
}

/** Registers `count` accounts named `<prefix>-u<i>`, a few at a time. */
export function registerUsers(baseUrl, prefix, count, password) {
  const users = [];
  const batch = 8;
  for (let start = 0; start < count; start += batch) {
    const names = [];
    for (let i = start; i < Math.min(count, start + batch); i += 1) names.push(`${prefix}-u${i}`);
    const responses = http.batch(
      names.map((username) => ({
        method: 'POST',
        url: `${baseUrl}/api/v1/auth/register`,
        body: JSON.stringify({
          username,
          email: `${username}@loadtest.example.com`,
          password,
          displayName: username,
        }),
        params: {
          headers: JSON_HEADERS,
          tags: { name: 'POST /auth/register' },
          responseCallback: REGISTER_STATUSES,
        },
      })),
    );
    responses.forEach((res, i) => {
      if (res.status === 201) {
        const session = res.json();
        users.push({
          id: session.user.id,
          username: names[i],
          token: session.accessToken,
          tokenAt: Date.now(),
        });
      } else {
        // Taken (a reused prefix), rate limited or refused: one careful retry path for each.
        users.push(registerOrLogin(baseUrl, names[i], password));
      }
    });
  }
  return users;
}

/** Creates a private channel with these members (the creator is its owner). */
export function createChannel(baseUrl, token, name, memberIds) {
  const first = memberIds.slice(0, 500);
  const channel = api(
    baseUrl,
    'POST',
    '/channels',
    { name, type: 'private', memberIds: first },
    token,
    {
      route: '/channels',
    },
  ).json();
  for (const userId of memberIds.slice(500))
    api(baseUrl, 'POST', `/channels/${channel.id}/members`, { userId }, token, {
      expected: [201, 409],
      route: '/channels/:id/members',
    });
  return channel.id;
}

/** The lastSeq of every channel the token's user belongs to, by channel id. */
export function channelHeads(baseUrl, token) {
  const res = api(baseUrl, 'GET', '/channels', undefined, token, { route: '/channels' });
  const heads = {};
  for (const c of res.json().channels) heads[c.id] = c.lastSeq;
  return heads;
}

/** A channel's lastSeq. */
export function channelHead(baseUrl, token, channelId) {
  return api(baseUrl, 'GET', `/channels/${channelId}`, undefined, token, {
    route: '/channels/:id',
  }).json().lastSeq;
}

/** A send through REST (`POST /channels/:id/messages`), returning the raw response. */
export function postMessage(baseUrl, token, channelId, clientMsgId, content) {
  return http.post(
    `${baseUrl}/api/v1/channels/${channelId}/messages`,
    JSON.stringify({ clientMsgId, content }),
    {
      headers: Object.assign({ Authorization: `Bearer ${token}` }, JSON_HEADERS),
      tags: { name: 'POST /channels/:id/messages' },
      timeout: '30s',
    },
  );
}
