import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({}, 'health');
});
afterAll(async () => {
  await t.stop();
});

test('healthz answers while the process is alive', async () => {
  const res = await fetch(`${t.baseUrl}/healthz`);
  expect(res.status).toBe(200);
});

test('readyz checks postgres and redis', async () => {
  const res = await fetch(`${t.baseUrl}/readyz`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { checks: Record<string, string> };
  expect(body.checks).toEqual({ postgres: 'ok', redis: 'ok' });
});

test('metrics are in Prometheus text format and include the HTTP histogram', async () => {
  await fetch(`${t.baseUrl}/api/v1/users/me`);
  const res = await fetch(`${t.baseUrl}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  const text = await res.text();
  expect(text).toMatch(
    /signalink_http_request_duration_seconds_bucket\{.*route="\/api\/v1\/users\/me".*status="401"/,
  );
  expect(text).toContain('process_cpu_user_seconds_total');
});
