// Property test: whatever malformed input a client sends, the REST API answers with a 4xx and
// the contract's error body, never a 5xx, changes nothing, and stays ready afterwards.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  ERROR_STATUS,
  errorBody,
  expectError,
  expectShape,
  expectStatus,
} from '../support/contract.js';
import { ApiClient, registerUser, type HttpResult, type TestUser } from '../support/http-client.js';

let t: TestApp;
let anon: ApiClient;
let alice: TestUser;
let bob: TestUser;
let channelId: string;
let messageId: string;
let sessionsBefore: number;

beforeAll(async () => {
  // The fuzz sends well over a thousand requests from one user and one address, and some of
  // its hostile bodies are valid sends to one channel, back to back. No limit may answer for
  // the code under test: a 429 would be a 4xx that proves nothing, and how many a run gets
  // would depend on how fast the machine is. Rate limits are tested in api-limits.test.ts.
  t = await startTestApp(
    {
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      LOGIN_ATTEMPTS_PER_15_MINUTES: '1000000',
      REGISTRATIONS_PER_HOUR_PER_IP: '1000000',
      MESSAGE_RATE_PER_SECOND: '1000000',
      MESSAGE_RATE_BURST: '1000000',
      CHANNEL_MESSAGE_RATE_PER_SECOND: '1000000',
    },
    'api_fuzz',
  );
  anon = new ApiClient(t.baseUrl);
  [alice, bob] = await Promise.all([registerUser(anon, 'alice'), registerUser(anon, 'bob')]);
  channelId = (
    await alice.api.post('/channels', { name: 'fuzzed', type: 'public', memberIds: [bob.id] })
  ).body.id;
  messageId = (
    await alice.api.post(`/channels/${channelId}/messages`, {
      clientMsgId: 'seed',
      content: 'seed',
    })
  ).body.id;
  sessionsBefore = Number((await t.app.ctx.db('refresh_tokens').count({ n: '*' }))[0]!.n);
});
afterAll(async () => {
  await t.stop();
});

/** What a field accepts, so mutations can be built that it certainly rejects. */
type FieldKind =
  | { kind: 'string'; nullable?: boolean }
  | { kind: 'enum'; values: string[] }
  | { kind: 'uuid'; nullable?: boolean }
  | { kind: 'uuids' }
  | { kind: 'seq' }
  | { kind: 'boolean' }
  | { kind: 'levels' };

interface Endpoint {
  name: string;
  method: string;
  path: () => string;
  auth: boolean;
  valid: () => Record<string, unknown>;
  fields: Record<string, FieldKind>;
  required: string[];
}

const S: FieldKind = { kind: 'string' };
const ENDPOINTS: Endpoint[] = [
  {
    name: 'register',
    method: 'POST',
    path: () => '/auth/register',
    auth: false,
    valid: () => ({
      username: `u${randomUUID().slice(0, 8)}`,
      email: `${randomUUID()}@example.test`,
      password: 'long enough password',
    }),
    fields: { username: S, email: S, password: S, displayName: S },
    required: ['username', 'email', 'password'],
  },
  {
    name: 'login',
    method: 'POST',
    path: () => '/auth/login',
    auth: false,
    valid: () => ({ login: alice.username, password: 'correct horse battery' }),
    fields: { login: S, password: S },
    required: ['login', 'password'],
  },
  {
    name: 'refresh',
    method: 'POST',
    path: () => '/auth/refresh',
    auth: false,
    valid: () => ({ refreshToken: alice.refreshToken }),
    fields: { refreshToken: S },
    required: ['refreshToken'],
  },
  {
    name: 'logout',
    method: 'POST',
    path: () => '/auth/logout',
    auth: false,
    valid: () => ({ refreshToken: bob.refreshToken }),
    fields: { refreshToken: S },
    required: ['refreshToken'],
  },
  {
    name: 'update profile',
    method: 'PATCH',
    path: () => '/users/me',
    auth: true,
    valid: () => ({ displayName: 'Alice', statusMessage: 'here' }),
    fields: {
      displayName: S,
      avatarUrl: { kind: 'string', nullable: true },
      statusMessage: { kind: 'string', nullable: true },
    },
    required: [],
  },
  {
    name: 'create channel',
    method: 'POST',
    path: () => '/channels',
    auth: true,
    valid: () => ({ name: 'new', type: 'public' }),
    fields: {
      name: S,
      type: { kind: 'enum', values: ['public', 'private', 'direct'] },
      description: S,
      memberIds: { kind: 'uuids' },
    },
    required: ['type'],
  },
  {
    name: 'update channel',
    method: 'PATCH',
    path: () => `/channels/${channelId}`,
    auth: true,
    valid: () => ({ name: 'renamed' }),
    fields: { name: S, description: S },
    required: [],
  },
  {
    name: 'add member',
    method: 'POST',
    path: () => `/channels/${channelId}/members`,
    auth: true,
    valid: () => ({ userId: bob.id, role: 'member' }),
    fields: { userId: { kind: 'uuid' }, role: { kind: 'enum', values: ['admin', 'member'] } },
    required: ['userId'],
  },
  {
    name: 'send message',
    method: 'POST',
    path: () => `/channels/${channelId}/messages`,
    auth: true,
    valid: () => ({ clientMsgId: randomUUID(), content: 'hello' }),
    fields: { clientMsgId: S, content: S, replyTo: { kind: 'uuid', nullable: true } },
    required: ['clientMsgId', 'content'],
  },
  {
    name: 'edit message',
    method: 'PATCH',
    path: () => `/messages/${messageId}`,
    auth: true,
    valid: () => ({ content: 'edited' }),
    fields: { content: S },
    required: ['content'],
  },
  {
    name: 'mark read',
    method: 'POST',
    path: () => `/channels/${channelId}/read`,
    auth: true,
    valid: () => ({ seq: 1 }),
    fields: { seq: { kind: 'seq' } },
    required: ['seq'],
  },
  {
    name: 'register device',
    method: 'POST',
    path: () => '/devices',
    auth: true,
    valid: () => ({ token: 'device-token', platform: 'web' }),
    fields: { token: S, platform: { kind: 'enum', values: ['android', 'ios', 'web'] } },
    required: ['token', 'platform'],
  },
  {
    name: 'notification preferences',
    method: 'PUT',
    path: () => '/notification-preferences',
    auth: true,
    valid: () => ({ muteAll: false }),
    fields: { muteAll: { kind: 'boolean' }, channels: { kind: 'levels' } },
    required: [],
  },
];

// Values of the wrong JSON type for a field (null only where the field is not nullable).
const notAString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.array(fc.string(), { minLength: 1 }),
  fc.dictionary(fc.string(), fc.string()),
);
function wrongValue(field: FieldKind): fc.Arbitrary<unknown> {
  switch (field.kind) {
    case 'string':
    case 'uuid':
      return field.nullable ? notAString : fc.oneof(notAString, fc.constant(null));
    case 'enum':
      return fc.oneof(
        notAString,
        fc.constant(null),
        fc.string().filter((s) => !field.values.includes(s)),
      );
    case 'uuids':
      return fc.oneof(
        fc.string(),
        fc.integer(),
        fc.constant(null),
        fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 35 })), { minLength: 1 }),
      );
    case 'seq':
      return fc.oneof(
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.integer({ max: -1 }),
        fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(2 ** 53, 1e300),
      );
    case 'boolean':
      return fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constantFrom('true', 0, 1));
    case 'levels':
      return fc
        .oneof(
          fc.string(),
          fc.integer(),
          fc.constant(null),
          fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('all', 'none')),
          fc.constant({ [randomUUID()]: 'loud' }),
        )
        .filter((v) => !(typeof v === 'object' && v !== null && Object.keys(v).length === 0));
  }
}

// Text that is hostile to storage and parsing: NUL, lone surrogates, RTL marks, emoji, SQL.
const nastyString = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    '\u202e',
    "'; drop table users; --",
    '%00',
    '\\u0000',
  ),
);

type Mutation = { label: string; body: string; contentType?: string; encoding?: string };

function mutations(ep: Endpoint): fc.Arbitrary<Mutation> {
  const fieldNames = Object.keys(ep.fields);
  const json = (label: string) => (value: unknown) => ({ label, body: JSON.stringify(value) });
  const arbitraries: fc.Arbitrary<Mutation>[] = [
    // Not a JSON object at all.
    fc
      .oneof(
        fc.array(fc.anything()),
        fc.string(),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
      )
      .map(json('not an object')),
    // Not JSON: random text, or a valid body cut short or corrupted. An empty body is left out:
    // clients often label bodyless requests as JSON, so it counts as `{}`, which is valid
    // where every field is optional.
    fc
      .oneof(
        fc.string({ unit: 'binary', minLength: 1 }).filter((s) => !isJson(s)),
        fc
          .nat()
          .map((n) =>
            JSON.stringify(ep.valid()).slice(0, 1 + (n % (JSON.stringify(ep.valid()).length - 1))),
          )
          .filter((s) => !isJson(s)),
        fc.constantFrom(
          '{',
          '{"a":',
          "{'a':1}",
          '{"a":1,}',
          'undefined',
          '{"a":NaN}',
          '\u0000',
          '{"a":"\\x00"}',
          '[',
          '{}}',
        ),
      )
      .map((body) => ({ label: 'invalid JSON', body })),
    // A valid body under a content type the API does not parse as JSON, or one it cannot decode.
    fc
      .constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/octet-stream',
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
      )
      .map((contentType) => ({
        label: `content type ${contentType}`,
        body: JSON.stringify(ep.valid()),
        contentType,
      })),
    fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'x-unknown').map((encoding) => ({
      label: `content encoding ${encoding}`,
      body: JSON.stringify(ep.valid()),
      encoding,
    })),
    // An unknown field next to a valid body (requests are strict).
    fc
      .tuple(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.anything().filter((v) => v !== undefined),
      )
      .map(([key, value]) => ({
        label: 'unknown field',
        body: JSON.stringify({ ...ep.valid(), [`zz_${key}`]: value }),
      })),
    // One field of the wrong type, replaced by nested junk, or stuffed with a huge string.
    fc.constantFrom(...fieldNames).chain((name) =>
      fc.oneof(
        wrongValue(ep.fields[name]!).map((v) => ({
          label: `${name}: wrong type`,
          body: JSON.stringify({ ...ep.valid(), [name]: v }),
        })),
        fc.anything({ maxDepth: 6 }).map((v) => ({
          label: `${name}: nested junk`,
          body: JSON.stringify({ ...ep.valid(), [name]: [[v], { deep: v }] }),
        })),
        fc.integer({ min: 4097, max: 80_000 }).map((n) => ({
          label: `${name}: huge string`,
          body: JSON.stringify({ ...ep.valid(), [name]: 'x'.repeat(n) }),
        })),
      ),
    ),
  ];
  if (ep.required.length > 0) {
    arbitraries.push(
      fc.subarray(ep.required, { minLength: 1 }).map((missing) => {
        const body = ep.valid();
        for (const name of missing) delete body[name];
        return { label: `missing ${missing.join(', ')}`, body: JSON.stringify(body) };
      }),
    );
  }
  // Hostile text in string fields is fine to store or reject, but must never be a 5xx; these
  // bodies are not certain to be invalid, so they get their own property below.
  return fc.oneof(...arbitraries);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function sendRaw(ep: Endpoint, m: Mutation): Promise<HttpResult> {
  const client = ep.auth ? alice.api : anon;
  const headers: Record<string, string> = { 'content-type': m.contentType ?? 'application/json' };
  if (m.encoding) headers['content-encoding'] = m.encoding;
  return client.request(ep.method, ep.path(), undefined, { raw: m.body, headers });
}

function checkContractError(res: HttpResult, what: string): void {
  if (res.status < 400 || res.status >= 500)
    throw new Error(
      `${what}: expected a 4xx, got ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`,
    );
  const body = expectShape(errorBody, res.body);
  if (body.error.code === 'RATE_LIMITED')
    throw new Error(`${what}: RATE_LIMITED, so the input never reached the code under test`);
  if (ERROR_STATUS[body.error.code] !== res.status)
    throw new Error(`${what}: ${body.error.code} came with HTTP ${res.status}`);
  if (body.error.code === 'VALIDATION') {
    const fields = (body.error.details as { fields?: unknown[] } | undefined)?.fields;
    if (!Array.isArray(fields) || fields.length === 0)
      throw new Error(`${what}: VALIDATION without details.fields: ${JSON.stringify(body)}`);
  }
}

let requests = 0;

test.each(ENDPOINTS.map((ep) => [ep.name, ep] as const))(
  'malformed bodies to %s: always a 4xx contract error',
  async (_name, ep) => {
    await fc.assert(
      fc.asyncProperty(mutations(ep), async (m) => {
        requests += 1;
        checkContractError(
          await sendRaw(ep, m),
          `${ep.method} ${ep.path()} (${m.label}) ${m.body.slice(0, 120)}`,
        );
      }),
      { numRuns: 90 },
    );
  },
  60_000,
);

test('malformed query strings and path parameters: always a 4xx contract error', async () => {
  const paths = ['/users', '/channels', `/channels/${channelId}/messages`, '/search'];
  const junk = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 30 }).map(encodeURIComponent),
    fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%00', '%FF%FE', 'a%00b', '..%2F..%2F', '%C0%AF'),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...paths),
      fc.constantFrom('q', 'limit', 'afterSeq', 'beforeSeq', 'channelId', 'scope', 'zz'),
      junk,
      async (path, key, value) => {
        requests += 1;
        const res = await alice.api.get(
          `${path}?${key}=${value}${path === '/search' && key !== 'q' ? '&q=zebra' : ''}`,
        );
        if (res.status >= 500)
          throw new Error(`GET ${path}?${key}=${value}: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status >= 400) checkContractError(res, `GET ${path}?${key}=${value}`);
      },
    ),
    { numRuns: 150 },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(
        '/channels/',
        '/messages/',
        '/users/',
        `/channels/${channelId}/members/`,
        '/devices/',
      ),
      junk,
      async (prefix, value) => {
        requests += 1;
        const res = await alice.api.get(`${prefix}${value}`);
        if (res.status >= 500)
          throw new Error(`GET ${prefix}${value}: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status >= 400) checkContractError(res, `GET ${prefix}${value}`);
      },
    ),
    { numRuns: 100 },
  );
}, 60_000);

test('after the malformed barrage: nothing was created, changed or ended', async () => {
  expect(requests).toBeGreaterThanOrEqual(1000);
  const channel = await alice.api.get(`/channels/${channelId}`);
  expectStatus(channel, 200);
  expect(channel.body).toMatchObject({ name: 'fuzzed', lastSeq: 1, memberCount: 2 });
  expect((await alice.api.get(`/messages/${messageId}`)).body.content).toBe('seed');
  expect((await alice.api.get('/devices')).body.devices).toEqual([]);
  expect((await alice.api.get('/channels')).body.channels).toHaveLength(1);
  expect((await alice.api.get('/notification-preferences')).body).toEqual({
    muteAll: false,
    channels: {},
    email: 'all',
  });
  // Bob's session was never logged out, and no one registered.
  expectStatus(await anon.post('/auth/refresh', { refreshToken: bob.refreshToken }), 200);
  expect(Number((await t.app.ctx.db('users').count({ n: '*' }))[0]!.n)).toBe(2);
  expect(Number((await t.app.ctx.db('refresh_tokens').count({ n: '*' }))[0]!.n)).toBe(
    sessionsBefore + 1,
  );
});

test.each(
  ENDPOINTS.filter((ep) => Object.values(ep.fields).some((f) => f.kind === 'string')).map(
    (ep) => [ep.name, ep] as const,
  ),
)(
  'hostile text in the string fields of %s: never a 5xx',
  async (_name, ep) => {
    const stringFields = Object.entries(ep.fields)
      .filter(([, f]) => f.kind === 'string')
      .map(([name]) => name);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...stringFields), nastyString, async (name, value) => {
        requests += 1;
        const res = await sendRaw(ep, {
          label: name,
          body: JSON.stringify({ ...ep.valid(), [name]: value }),
        });
        if (res.status >= 500)
          throw new Error(
            `${ep.method} ${ep.path()} with ${name}=${JSON.stringify(value)}: ${res.status} ${JSON.stringify(res.body)}`,
          );
        if (res.status >= 400)
          checkContractError(res, `${ep.method} ${ep.path()} ${name}=${JSON.stringify(value)}`);
      }),
      { numRuns: 25 },
    );
  },
  60_000,
);

// Fixed cases for what this property found, so they are checked on every run whatever the seed.
describe('inputs that once caused a 500', () => {
  test.each([
    [
      'message content',
      'POST',
      () => `/channels/${channelId}/messages`,
      { clientMsgId: 'nul', content: 'a\u0000b' },
      'body.content',
    ],
    [
      'a login name',
      'POST',
      () => '/auth/login',
      { login: '\u0000', password: 'whatever' },
      'body.login',
    ],
    ['a channel name', 'PATCH', () => `/channels/${channelId}`, { name: 'x\u0000' }, 'body.name'],
    [
      'a device token',
      'POST',
      () => '/devices',
      { token: '\u0000', platform: 'web' },
      'body.token',
    ],
  ])(
    'a NUL character in %s is VALIDATION naming the field',
    async (_what, method, path, body, field) => {
      const client = path().startsWith('/auth') ? anon : alice.api;
      expectError(await client.request(method, path(), body), 'VALIDATION', field);
    },
  );

  test('a NUL character in a query or path parameter is VALIDATION', async () => {
    expectError(await alice.api.get('/users?q=%00'), 'VALIDATION', 'query.q');
    expectError(await alice.api.get('/search?q=a%00'), 'VALIDATION', 'query.q');
    expectError(await alice.api.delete('/devices/%00'), 'VALIDATION', 'params.token');
  });

  test('a gzip content encoding on a plain body is VALIDATION', async () => {
    const res = await alice.api.request('PATCH', '/users/me', undefined, {
      raw: '{"displayName":"x"}',
      headers: { 'content-encoding': 'gzip' },
    });
    expectError(res, 'VALIDATION', 'body');
  });

  test('malformed JSON is VALIDATION with the body named as the field', async () => {
    expectError(
      await alice.api.request('PATCH', '/users/me', undefined, { raw: '{"displayName":' }),
      'VALIDATION',
      'body',
    );
  });

  test('broken percent-encoding in a path parameter is VALIDATION', async () => {
    expectError(await alice.api.get('/channels/%E0%A4%A'), 'VALIDATION', 'params');
  });
});

test('after everything: the server is still ready and still serves', async () => {
  const ready = await fetch(`${t.baseUrl}/readyz`);
  expect(ready.status).toBe(200);
  expectStatus(
    await alice.api.post(`/channels/${channelId}/messages`, {
      clientMsgId: randomUUID(),
      content: 'still here',
    }),
    201,
  );
});
