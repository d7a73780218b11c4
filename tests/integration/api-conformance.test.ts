// What the schemathesis run (api-schemathesis.test.ts) found in the REST API and its OpenAPI
// document, pinned here so each stays fixed without the fuzzer.
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectError, expectStatus } from '../support/contract.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';

type Schema = Record<string, unknown>;
interface Operation {
  parameters?: { name: string; in: string; schema: Schema }[];
  requestBody?: { content: { 'application/json': { schema: Schema } } };
  responses: Record<
    string,
    { headers?: Record<string, unknown>; content?: Record<string, { schema: Schema }> }
  >;
}

let t: TestApp;
let anon: ApiClient;
let alice: TestUser;
let bob: TestUser;
let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Schema } };

beforeAll(async () => {
  t = await startTestApp({}, 'api_conformance');
  anon = new ApiClient(t.baseUrl);
  [alice, bob] = await Promise.all([registerUser(anon, 'alice'), registerUser(anon, 'bob')]);
  doc = (await (await fetch(`${t.baseUrl}/api/openapi.json`)).json()) as typeof doc;
});
afterAll(async () => {
  await t.stop();
});

function operation(method: string, path: string): Operation {
  const op = doc.paths[`/api/v1${path}`]?.[method];
  if (!op) throw new Error(`the document has no ${method} ${path}`);
  return op;
}
const bodySchema = (method: string, path: string) =>
  operation(method, path).requestBody!.content['application/json'].schema;
const property = (schema: Schema, name: string) =>
  (schema.properties as Record<string, Schema>)[name]!;

describe('blank text', () => {
  // The document allowed any string of length ≥ 1, but the server trims: "\u00a0" was refused.
  test.each([
    ['a display name', 'patch', '/users/me', 'displayName', { displayName: '\u00a0\u3000' }],
    ['a channel name', 'post', '/channels', 'name', { type: 'private', name: '\ufeff\u2028' }],
  ])('%s of Unicode spaces is refused, and the document says so', async (_w, m, p, field, body) => {
    const res = await alice.api.request(m.toUpperCase(), p, body);
    expectError(res, 'VALIDATION', `body.${field}`);
    const schema = bodySchema(m, p);
    const fieldSchema =
      'oneOf' in schema ? property((schema.oneOf as Schema[])[1]!, field) : property(schema, field);
    const pattern = new RegExp(fieldSchema.pattern as string, 'u');
    expect(pattern.test(String((body as Record<string, string>)[field]))).toBe(false);
    expect(pattern.test(' x ')).toBe(true);
  });

  test('blank message content is refused and documented as such', async () => {
    const channel = (await alice.api.post('/channels', { name: 'blank', type: 'private' })).body;
    expectError(
      await alice.api.post(`/channels/${channel.id}/messages`, {
        clientMsgId: 'blank',
        content: '\u00a0',
      }),
      'VALIDATION',
      'content',
    );
    const content = property(bodySchema('post', '/channels/{id}/messages'), 'content');
    expect(content.minLength).toBe(1);
    expect(new RegExp(content.pattern as string, 'u').test('\u00a0\t')).toBe(false);
  });
});

describe('NUL characters', () => {
  // parseInput refuses U+0000 anywhere; the document allowed it in every free-form string.
  test('every free-form input string in the document excludes U+0000', () => {
    const offenders: string[] = [];
    const visit = (schema: unknown, where: string): void => {
      if (!schema || typeof schema !== 'object') return;
      const s = schema as Schema;
      const isString = s.type === 'string' || (Array.isArray(s.type) && s.type.includes('string'));
      if (isString && !('enum' in s) && !('const' in s) && !('format' in s)) {
        const not = s.not as { pattern?: string } | undefined;
        if (!not?.pattern || !new RegExp(not.pattern, 'u').test('a\u0000b')) offenders.push(where);
      }
      for (const [key, value] of Object.entries(s)) {
        if (key === 'not') continue;
        if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${where}.${key}[${i}]`));
        else if (value && typeof value === 'object') visit(value, `${where}.${key}`);
      }
    };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const p of op.parameters ?? []) visit(p.schema, `${method} ${path} ${p.in}.${p.name}`);
        visit(op.requestBody?.content['application/json'].schema, `${method} ${path} body`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('and the server still refuses it', async () => {
    expectError(
      await alice.api.patch('/users/me', { statusMessage: 'a\u0000b' }),
      'VALIDATION',
      'body.statusMessage',
    );
  });
});

describe('push tokens and long request lines', () => {
  // A 4,096-character token of non-ASCII characters could be registered, but its DELETE URL,
  // percent-encoded, overflowed Node's 16 KiB header limit: a bare 431 with no contract body.
  test('a token of non-ASCII characters is refused', async () => {
    expectError(
      await alice.api.post('/devices', { token: 'ç'.repeat(10), platform: 'android' }),
      'VALIDATION',
      'body.token',
    );
    expectError(
      await alice.api.delete(`/devices/${'%C3%A7'.repeat(4)}`),
      'VALIDATION',
      'params.token',
    );
  });

  test('the longest token, every character percent-encoded in the path, can be deleted', async () => {
    const token = '%/'.repeat(2048);
    expectStatus(await alice.api.post('/devices', { token, platform: 'web' }), 201);
    expectStatus(await alice.api.delete(`/devices/${encodeURIComponent(token)}`), 204);
    expect((await alice.api.get('/devices')).body.devices).toEqual([]);
  });

  test('a request line over the header limit is VALIDATION in the contract format', async () => {
    const res = await alice.api.get(`/users/${'a'.repeat(20_000)}`);
    expectError(res, 'VALIDATION', 'headers');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    // The connection is closed after it, and the server goes on answering.
    expectStatus(await alice.api.get('/users/me'), 200);
  });
});

describe('email addresses a mail server would refuse', () => {
  // zod's email pattern bounds neither the local part nor the domain labels.
  test.each([
    ['65 characters before the @', `${'a'.repeat(65)}@example.test`],
    ['a 64-character domain label', `a@${'b'.repeat(64)}.test`],
    ['a label ending in a hyphen', 'a@example-.test'],
  ])('%s is VALIDATION', async (_what, email) => {
    expectError(
      await anon.post('/auth/register', {
        username: `u${randomUUID().slice(0, 8)}`,
        email,
        password: 'correct horse battery',
      }),
      'VALIDATION',
      'body.email',
    );
  });

  test('64 characters before the @ and a 63-character label are fine', async () => {
    const res = await anon.post('/auth/register', {
      username: `u${randomUUID().slice(0, 8)}`,
      email: `${'a'.repeat(56)}${randomUUID().slice(0, 8)}@${'b'.repeat(63)}.test`,
      password: 'correct horse battery',
    });
    expectStatus(res, 201);
  });
});

describe('the document', () => {
  test('a direct channel takes exactly one member and no name; the others need a name', async () => {
    const [direct, named] = bodySchema('post', '/channels').oneOf as Schema[];
    expect(property(direct!, 'type')).toMatchObject({ const: 'direct' });
    expect(property(direct!, 'memberIds')).toMatchObject({ minItems: 1, maxItems: 1 });
    expect(direct!.required).toEqual(expect.arrayContaining(['type', 'memberIds']));
    expect(direct!.properties).not.toHaveProperty('name');
    expect(named!.required).toEqual(expect.arrayContaining(['type', 'name']));
    // What the document describes is what the server does.
    expectError(
      await alice.api.post('/channels', { type: 'direct', memberIds: [bob.id], name: 'dm' }),
      'VALIDATION',
    );
    expectStatus(await alice.api.post('/channels', { type: 'direct', memberIds: [bob.id] }), 201);
  });

  test('every error response pins the code its status stands for', () => {
    const codes: Record<string, string> = {
      '400': 'VALIDATION',
      '401': 'UNAUTHENTICATED',
      '403': 'FORBIDDEN',
      '404': 'NOT_FOUND',
      '409': 'CONFLICT',
      '413': 'PAYLOAD_TOO_LARGE',
      '429': 'RATE_LIMITED',
      '500': 'INTERNAL',
      '503': 'UNAVAILABLE',
    };
    const schemas = doc.components.schemas as Record<string, { allOf?: Schema[] }>;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const where = `${method} ${path}`;
        // Every operation is rate limited and needs PostgreSQL.
        expect({ where, statuses: Object.keys(op.responses) }).toEqual({
          where,
          statuses: expect.arrayContaining(['429', '500', '503']),
        });
        expect({ where, header: op.responses['429']!.headers }).toEqual({
          where,
          header: { 'Retry-After': expect.anything() },
        });
        for (const [status, response] of Object.entries(op.responses)) {
          if (!(status in codes)) continue;
          const ref = (response.content?.['application/json']?.schema as { $ref?: string }).$ref;
          const name = ref?.replace('#/components/schemas/', '') ?? '';
          const pinned = JSON.stringify(schemas[name]?.allOf ?? []);
          expect({
            where,
            status,
            pinned: pinned.includes(`{"const":"${codes[status]}"}`),
          }).toEqual({ where, status, pinned: true });
        }
      }
    }
  });
});
