// The api role serves the built web client at `/` without ever answering for the server's own
// paths. Needs web/dist (built by `npm test`, which runs `npm run build` first).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WEB_DIST } from '../../services/api/web-client.js';
import { startTestApp, type TestApp } from '../support/app.js';

let app: TestApp;
const html = { accept: 'text/html,application/xhtml+xml' };

beforeAll(async () => {
  if (!existsSync(join(WEB_DIST, 'index.html')))
    throw new Error('web/dist is missing: run `npm run build` first');
  app = await startTestApp({ ROLES: 'api' }, 'web');
});
afterAll(async () => {
  await app?.stop();
});

const get = (path: string, headers: Record<string, string> = html) =>
  fetch(`${app.baseUrl}${path}`, { headers });

it('serves the page at / with a same-origin-only content security policy', async () => {
  const res = await get('/');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/html/);
  expect(res.headers.get('cache-control')).toBe('no-cache');
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  const page = await res.text();
  const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1];
  expect(script).toBeDefined();
  const asset = await get(script!, {});
  expect(asset.status).toBe(200);
  expect(asset.headers.get('cache-control')).toContain('immutable');
});

it('answers client-side routes with the page, so a reload there works', async () => {
  const res = await get('/channels/some-channel');
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('<div id="app">');
});

it.each([
  '/api/v1/nope',
  '/api/v1/channels',
  '/healthz',
  '/readyz',
  '/metrics',
  '/socket.io/?EIO=4&transport=polling',
])('never answers %s with the page, even when HTML is accepted', async (path) => {
  const res = await get(path);
  expect(await res.text()).not.toContain('<div id="app">');
});

it('keeps the API’s own answers: JSON errors with contract codes', async () => {
  const missing = await get('/api/v1/nope');
  expect(missing.status).toBe(404);
  expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  const unauthenticated = await get('/api/v1/channels');
  expect(unauthenticated.status).toBe(401);
  expect(await unauthenticated.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
});

it('answers a missing asset with 404 rather than the page', async () => {
  const res = await get('/assets/not-there.js', {});
  expect(res.status).toBe(404);
  expect(await res.text()).not.toContain('<div id="app">');
});

it('does not answer non-HTML requests for unknown paths with the page', async () => {
  const res = await get('/some/file.json', { accept: 'application/json' });
  expect(res.status).toBe(404);
});
