// The web client when its session ends elsewhere: two tabs share one session (localStorage);
// signing out in one returns the other to the sign-in screen, saying why, without it trying to
// reconnect. Another browser signed in as the same person keeps working. Real headless
// Chromium against a real Signalink process (memory engine).
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestDatabase } from '../support/database.js';
import { CONDITION_TIMEOUT_MS } from '../support/deadlines.js';
import { ApiClient } from '../support/http-client.js';
import { startNode, type NodeProcess } from '../support/node-process.js';
import { launchChromium, screenshot } from './browser.js';

let db: { url: string; drop(): Promise<void> };
let server: NodeProcess;
let browser: Browser;
const contexts: BrowserContext[] = [];

const suffix = randomBytes(3).toString('hex');
const dana = { username: `dana_${suffix}`, password: 'correct horse battery' };

beforeAll(async () => {
  db = await createTestDatabase('e2e_session');
  server = await startNode({
    DATABASE_URL: db.url,
    REDIS_URL: '',
    KAFKA_BROKERS: '',
    JWT_SECRET: 'e2e-session-secret-e2e-session-secret-0123',
    DATA_DIR: `/tmp/signalink-e2e-session-${suffix}`,
    LOG_LEVEL: 'warn',
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.kill('SIGTERM');
  await db?.drop();
});

async function newBrowserProfile(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  contexts.push(context);
  return context;
}

/** Opens the app in a new tab, counting the WebSocket connections the tab opens. */
async function openTab(context: BrowserContext): Promise<{ page: Page; sockets: () => number }> {
  const page = await context.newPage();
  let sockets = 0;
  page.on('websocket', () => (sockets += 1));
  await page.goto(server.url);
  return { page, sockets: () => sockets };
}

const channels = (page: Page) => page.getByRole('navigation', { name: 'Channels' });
const visible = (locator: ReturnType<Page['locator']>) =>
  locator.first().waitFor({ state: 'visible', timeout: CONDITION_TIMEOUT_MS });

it('signing out in one tab signs out the other tab of that session, and only that session', async () => {
  const profile = await newBrowserProfile();
  const first = await openTab(profile);
  await first.page.getByRole('tab', { name: 'Create account' }).click();
  await first.page.getByLabel('Username').fill(dana.username);
  await first.page.getByLabel('Email').fill(`${dana.username}@example.test`);
  await first.page.getByLabel('Password').fill(dana.password);
  await first.page.getByRole('button', { name: 'Create account', exact: true }).last().click();
  await visible(channels(first.page));

  // A second tab of the same profile is signed in with the same stored session.
  const second = await openTab(profile);
  await visible(channels(second.page));
  await visible(second.page.getByRole('button', { name: 'Sign out' }));

  // Another browser: the same person, another session.
  const elsewhere = await openTab(await newBrowserProfile());
  await elsewhere.page.getByLabel('Username or email').fill(dana.username);
  await elsewhere.page.getByLabel('Password').fill(dana.password);
  await elsewhere.page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
  await visible(channels(elsewhere.page));

  await first.page.getByRole('button', { name: 'Sign out' }).click();
  await visible(first.page.getByRole('tab', { name: 'Create account' }));

  // The other tab was told by the server: back to the sign-in screen, with the reason.
  await visible(second.page.getByText('Your session has ended. Please sign in again.'));
  await visible(second.page.getByRole('tab', { name: 'Create account' }));
  await screenshot(second.page, 'session-ended-other-tab');
  const socketsWhenSignedOut = second.sockets();

  // The other browser's session goes on: a channel created for dana now shows up there live.
  const api = new ApiClient(server.url);
  const login = await api.post('/auth/login', { login: dana.username, password: dana.password });
  expect(login.status).toBe(200);
  const name = `still-here-${suffix}`;
  const created = await api
    .withToken(login.body.accessToken)
    .post('/channels', { name, type: 'private' });
  expect(created.status).toBe(201);
  await visible(channels(elsewhere.page).getByRole('button', { name: new RegExp(name) }));
  await expect(elsewhere.page.getByRole('button', { name: 'Sign out' }).isVisible()).resolves.toBe(
    true,
  );

  // Meanwhile the signed-out tab has not tried to connect again.
  expect(second.sockets()).toBe(socketsWhenSignedOut);
}, 120_000);
