// The served OpenAPI document: valid OpenAPI 3, lists every contract route (and only routes the
// server really serves), and the docs UI renders.
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestApp, type TestApp } from '../support/app.js';
import { ApiClient } from '../support/http-client.js';

let t: TestApp;
let doc: {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string; required?: boolean }[];
        responses: Record<string, unknown>;
        security?: unknown[];
        requestBody?: unknown;
      }
    >
  >;
};

// PROTOCOL.md, REST section, in OpenAPI path syntax.
const CONTRACT_ROUTES = [
  'post /api/v1/auth/register',
  'post /api/v1/auth/login',
  'post /api/v1/auth/refresh',
  'post /api/v1/auth/logout',
  'get /api/v1/users/me',
  'patch /api/v1/users/me',
  'get /api/v1/users/{id}',
  'get /api/v1/users',
  'post /api/v1/channels',
  'get /api/v1/channels',
  'get /api/v1/channels/{id}',
  'patch /api/v1/channels/{id}',
  'delete /api/v1/channels/{id}',
  'post /api/v1/channels/{id}/join',
  'post /api/v1/channels/{id}/leave',
  'get /api/v1/channels/{id}/members',
  'post /api/v1/channels/{id}/members',
  'delete /api/v1/channels/{id}/members/{userId}',
  'post /api/v1/channels/{id}/messages',
  'get /api/v1/channels/{id}/messages',
  'get /api/v1/messages/{id}',
  'patch /api/v1/messages/{id}',
  'delete /api/v1/messages/{id}',
  'post /api/v1/channels/{id}/read',
  'get /api/v1/search',
  'post /api/v1/devices',
  'delete /api/v1/devices/{token}',
  'get /api/v1/notification-preferences',
  'put /api/v1/notification-preferences',
];
const PUBLIC_ROUTES = new Set([
  'post /api/v1/auth/register',
  'post /api/v1/auth/login',
  'post /api/v1/auth/refresh',
  'post /api/v1/auth/logout',
  // Signed links in digest emails; without a token they answer VALIDATION.
  'get /api/v1/email/unsubscribe',
  'post /api/v1/email/unsubscribe',
]);

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ key: `${method} ${path}`, method, path, op })),
  );

beforeAll(async () => {
  t = await startTestApp({}, 'api_openapi');
  const res = await fetch(`${t.baseUrl}/api/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  doc = (await res.json()) as typeof doc;
});
afterAll(async () => {
  await t.stop();
});

test('is a valid OpenAPI 3 document', async () => {
  expect(doc.openapi).toMatch(/^3\./);
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  if (!result.valid)
    throw new Error(`invalid OpenAPI: ${JSON.stringify(result.errors, null, 2).slice(0, 3000)}`);
  // The validator does catch a broken document (a response without its required description).
  const broken = structuredClone(doc);
  delete (
    Object.values(Object.values(broken.paths)[0]!)[0]!.responses as Record<
      string,
      { description?: string }
    >
  )['500']!.description;
  expect((await new Validator().validate(broken)).valid).toBe(false);
});

test('lists every route of the contract', () => {
  const listed = new Set(operations().map((o) => o.key));
  expect(CONTRACT_ROUTES.filter((r) => !listed.has(r))).toEqual([]);
});

test('every templated path parameter is declared as a required path parameter', () => {
  for (const { key, path, op } of operations()) {
    const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const declared = (op.parameters ?? [])
      .filter((p) => p.in === 'path' && p.required)
      .map((p) => p.name);
    expect({ key, params: declared.sort() }).toEqual({ key, params: templated.sort() });
  }
});

test('documents success and the contract errors: 401 on protected routes, 400 where there is input', () => {
  for (const { key, op } of operations()) {
    const statuses = Object.keys(op.responses);
    expect({ key, hasSuccess: statuses.some((s) => /^2\d\d$/.test(s)) }).toEqual({
      key,
      hasSuccess: true,
    });
    if (CONTRACT_ROUTES.includes(key)) {
      const isPublic = PUBLIC_ROUTES.has(key);
      expect({ key, needsAuth: op.security === undefined || op.security.length > 0 }).toEqual({
        key,
        needsAuth: !isPublic,
      });
      if (!isPublic)
        expect({ key, has401: statuses.includes('401') }).toEqual({ key, has401: true });
    }
    if (op.requestBody || (op.parameters ?? []).length > 0)
      expect({ key, has400: statuses.includes('400') }).toEqual({ key, has400: true });
  }
});

test('lists only routes the server serves', async () => {
  const anon = new ApiClient(t.baseUrl);
  const id = '00000000-0000-4000-8000-000000000000';
  for (const { key, method, path } of operations()) {
    const concrete = path.replace(/^\/api\/v1/, '').replace(/\{\w+\}/g, id);
    const res = await anon.request(
      method.toUpperCase(),
      concrete,
      method === 'get' || method === 'delete' ? undefined : {},
    );
    // Unknown endpoints answer NOT_FOUND "no such endpoint"; a served one rejects the anonymous or empty request first.
    expect({ key, status: res.status }).toEqual({
      key,
      status: PUBLIC_ROUTES.has(key) ? 400 : 401,
    });
  }
});

test('/api/docs serves the interactive documentation', async () => {
  const res = await fetch(`${t.baseUrl}/api/docs/`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/html/);
  const html = await res.text();
  expect(html).toMatch(/<html/i);
  expect(html).toContain('swagger-ui');
  const redirect = await fetch(`${t.baseUrl}/api/docs`);
  expect(redirect.status).toBe(200);
});
