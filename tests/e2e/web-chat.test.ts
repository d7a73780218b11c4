// Two people chat through the built web client in real headless Chromium, against a real
// Signalink process (every role, memory engine) that is restarted in the middle.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestDatabase } from '../support/database.js';
import { ApiClient } from '../support/http-client.js';
import { startNode, type NodeProcess } from '../support/node-process.js';
import { ARTIFACTS, launchChromium, screenshot } from './browser.js';

let db: { url: string; drop(): Promise<void> };
let server: NodeProcess;
let env: Record<string, string>;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Every request a page made that did not go to the server under test. */
const foreignRequests: string[] = [];

const suffix = randomBytes(3).toString('hex');
const alice = { username: `alice_${suffix}`, password: 'correct horse battery' };
const bob = { username: `bob_${suffix}`, password: 'battery staple horse' };
const channelName = `team-${suffix}`;

beforeAll(async () => {
  db = await createTestDatabase('e2e');
  env = {
    DATABASE_URL: db.url,
    REDIS_URL: '',
    KAFKA_BROKERS: '',
    JWT_SECRET: 'e2e-secret-e2e-secret-e2e-secret-e2e-secret',
    DATA_DIR: `/tmp/signalink-e2e-${suffix}`,
    DRAIN_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'warn',
    // The history-paging step below posts a few dozen messages at once.
    MESSAGE_RATE_PER_SECOND: '1000',
    MESSAGE_RATE_BURST: '1000',
  };
  server = await startNode(env);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.kill('SIGTERM');
  await db?.drop();
});

async function openPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('request', (req) => {
    const url = req.url();
    if (
      !url.startsWith(server.url) &&
      !url.startsWith('data:') &&
      !url.startsWith(server.url.replace('http', 'ws'))
    )
      foreignRequests.push(url);
  });
  await page.goto(server.url);
  return page;
}

async function register(page: Page, who: { username: string; password: string }): Promise<void> {
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Email').fill(`${who.username}@example.test`);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Create account', exact: true }).last().click();
  await page.getByRole('navigation', { name: 'Channels' }).waitFor();
}

const messageList = (page: Page) => page.getByRole('log');
const channelButton = (page: Page) =>
  page
    .getByRole('navigation', { name: 'Channels' })
    .getByRole('button', { name: new RegExp(channelName) });

/** The text of every delivered (not pending) message in the open channel, in display order. */
async function shownMessages(page: Page): Promise<string[]> {
  return messageList(page).locator('li.message:not(.pending) .content').allTextContents();
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: /^Message / });
  await box.fill(text);
  await box.press('Enter');
}

it('two people register, chat both ways, see typing, badges and receipts, keep history on reload, and lose nothing across a server restart', async () => {
  const a = await openPage();
  const b = await openPage();
  try {
    await chat(a, b);
  } catch (err) {
    // What each person saw when it went wrong.
    await screenshot(a, 'failure-alice').catch(() => {});
    await screenshot(b, 'failure-bob').catch(() => {});
    for (const [who, page] of [
      ['alice', a],
      ['bob', b],
    ] as const) {
      const tree = await page
        .locator('body')
        .ariaSnapshot()
        .catch(() => '(no snapshot)');
      writeFileSync(resolve(ARTIFACTS, `failure-${who}.txt`), tree);
    }
    throw err;
  }
}, 150_000);

async function chat(a: Page, b: Page): Promise<void> {
  await screenshot(a, '01-sign-in');
  await register(a, alice);
  await register(b, bob);

  // Alice creates a private channel and invites Bob while creating it.
  await a.getByRole('button', { name: 'New channel' }).click();
  const dialog = a.getByRole('dialog', { name: 'New channel' });
  await dialog.getByLabel('Name').fill(channelName);
  await dialog.getByLabel(/Private/).check();
  await dialog.getByLabel('Invite people').fill(bob.username);
  await dialog.getByRole('button', { name: new RegExp(bob.username) }).click();
  await expectVisible(dialog.getByRole('list', { name: 'Invited' }).getByText(bob.username));
  await screenshot(a, '02-new-channel-dialog');
  await dialog.getByRole('button', { name: 'Create channel' }).click();
  await expectVisible(a.getByRole('heading', { name: new RegExp(channelName) }));

  // The channel appears for Bob without a reload; a message makes its unread badge count.
  await channelButton(b).waitFor();
  await send(a, 'Hello Bob, welcome to the team');
  await expectVisible(messageList(a).getByText('Hello Bob, welcome to the team'));
  await expectVisible(channelButton(b).getByLabel('1 unread'));
  await send(a, 'Second message');
  await expectVisible(channelButton(b).getByLabel('2 unread'));
  await screenshot(b, '03-unread-badge');

  // Bob opens it: history is there, the badge goes, Alice sees that Bob read her messages.
  await channelButton(b).click();
  await expectVisible(messageList(b).getByText('Second message'));
  expect(await shownMessages(b)).toEqual(['Hello Bob, welcome to the team', 'Second message']);
  await expectHidden(channelButton(b).locator('.badge'));
  await expectVisible(messageList(a).getByText(/Seen by bob_/));

  // Typing shows on the other side, then Bob answers.
  await b.getByRole('textbox', { name: /^Message / }).pressSequentially('Hi Al', { delay: 20 });
  await expectVisible(a.getByText(`${bob.username} is typing…`));
  await screenshot(a, '04-typing');
  await b.getByRole('textbox', { name: /^Message / }).press('Enter');
  await expectVisible(messageList(a).getByText('Hi Al'));
  await expectHidden(a.getByText(`${bob.username} is typing…`));
  await send(b, 'Good to be here');
  await expectVisible(messageList(a).getByText('Good to be here'));
  expect(await shownMessages(a)).toEqual([
    'Hello Bob, welcome to the team',
    'Second message',
    'Hi Al',
    'Good to be here',
  ]);
  await screenshot(a, '05-conversation');

  // A reload keeps the session and the history.
  await b.reload();
  await channelButton(b).click();
  await expectVisible(messageList(b).getByText('Good to be here'));
  expect(await shownMessages(b)).toEqual([
    'Hello Bob, welcome to the team',
    'Second message',
    'Hi Al',
    'Good to be here',
  ]);

  // The server restarts. Alice keeps writing while it is down: her messages wait as pending
  // and are delivered once it is back; nobody loses or duplicates anything.
  await server.kill('SIGTERM');
  await expectVisible(a.getByRole('status').filter({ hasText: 'Reconnecting' }));
  await expectVisible(b.getByRole('status').filter({ hasText: 'Reconnecting' }));
  await send(a, 'Written while the server was down');
  await send(a, 'And another one');
  await expectVisible(
    messageList(a).locator('li.pending', { hasText: 'And another one' }).getByText('Sending…'),
  );
  await screenshot(a, '06-reconnecting');
  server = await startNode({ ...env, PORT: String(server.port) });

  const expected = [
    'Hello Bob, welcome to the team',
    'Second message',
    'Hi Al',
    'Good to be here',
    'Written while the server was down',
    'And another one',
  ];
  await expectVisible(messageList(b).getByText('And another one'));
  await expectHidden(messageList(a).locator('li.pending'));
  await expectHidden(a.getByRole('status').filter({ hasText: 'Reconnecting' }));
  expect(await shownMessages(a)).toEqual(expected);
  expect(await shownMessages(b)).toEqual(expected);
  await send(b, 'Back online');
  await expectVisible(messageList(a).getByText('Back online'));
  await screenshot(b, '07-after-restart');

  // The server holds each message exactly once, in the order shown.
  const api = new ApiClient(server.url);
  const login = await api.post('/auth/login', { login: alice.username, password: alice.password });
  const me = api.withToken(login.body.accessToken);
  const channels = (await me.get('/channels')).body.channels as { id: string; name: string }[];
  const channelId = channels.find((c) => c.name === channelName)!.id;
  const history = (await me.get(`/channels/${channelId}/messages?limit=200`)).body.messages as {
    id: string;
    content: string;
    seq: number;
  }[];
  expect(history.map((m) => m.content)).toEqual([...expected, 'Back online']);
  expect(history.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);

  // Alice edits one message and deletes another; Bob sees both changes.
  const second = messageList(a).locator('li.message', { hasText: 'Second message' });
  await second.hover();
  await second.getByRole('button', { name: 'Edit message' }).click();
  await second.getByRole('textbox', { name: 'Edit message' }).fill('Second message, now edited');
  await second.getByRole('textbox', { name: 'Edit message' }).press('Enter');
  const editedOnB = messageList(b).locator('li.message', { hasText: 'Second message, now edited' });
  await expectVisible(editedOnB.getByText('(edited)'));
  const another = messageList(a).locator('li.message', { hasText: 'And another one' });
  await another.hover();
  await another.getByRole('button', { name: 'Delete message' }).click();
  await another.getByRole('button', { name: 'Delete', exact: true }).click();
  await expectHidden(messageList(b).getByText('And another one'));
  await expectVisible(messageList(b).getByText('This message was deleted.'));

  // History pages upward: after a reload only the newest page is shown, older ones on request.
  for (let i = 1; i <= 55; i++) {
    const res = await me.post(`/channels/${channelId}/messages`, {
      clientMsgId: `bulk-${i}`,
      content: `bulk ${i}`,
    });
    expect(res.status).toBe(201);
  }
  await b.reload();
  await channelButton(b).click();
  await expectVisible(messageList(b).getByText('bulk 55', { exact: true }));
  expect(await shownMessages(b)).toHaveLength(50);
  // Scrolling to the top loads the previous page (the button does the same from the keyboard).
  await expectVisible(messageList(b).getByRole('button', { name: 'Load older messages' }));
  await messageList(b).evaluate((el) => el.scrollTo({ top: 0 }));
  await expectVisible(messageList(b).getByText('Hello Bob, welcome to the team'));
  const all = await shownMessages(b);
  expect(all).toHaveLength(62);
  expect(all.slice(0, 2)).toEqual(['Hello Bob, welcome to the team', 'Second message, now edited']);
  expect(all.at(-1)).toBe('bulk 55');
  await expectVisible(messageList(b).getByText(`This is the beginning of ${channelName}.`));

  // Search finds a message and opens its channel.
  await b.getByRole('searchbox', { name: 'Search messages' }).fill('welcome');
  await b.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
  const results = b.getByRole('main', { name: /Results for/ });
  await expectVisible(results.getByText('1 message found'));
  await screenshot(b, '08-search');
  await results.getByRole('button', { name: /welcome to the team/ }).click();
  await expectVisible(b.getByRole('heading', { name: new RegExp(channelName) }));

  // The link of an email digest opens its channel at once and leaves a clean address behind.
  await b.goto(`${server.url}/?channel=${channelId}&message=${history[0]!.id}`);
  await expectVisible(messageList(b).getByText('bulk 55', { exact: true }));
  await expectVisible(b.getByRole('heading', { name: new RegExp(channelName) }));
  expect(new URL(b.url()).search).toBe('');

  // Bob starts a direct conversation; Alice sees it named after Bob, unread, with his presence.
  await b.getByRole('button', { name: 'New message' }).click();
  const to = b.getByRole('dialog', { name: 'New message' });
  await to.getByLabel('To').fill(alice.username);
  await to.getByRole('button', { name: new RegExp(alice.username) }).click();
  await expectVisible(b.getByRole('heading', { name: alice.username }));
  await send(b, 'Just between us');
  const direct = a
    .getByRole('navigation', { name: 'Channels' })
    .getByRole('region', { name: 'Direct messages' })
    .getByRole('button', { name: new RegExp(bob.username) });
  await expectVisible(direct.getByLabel('1 unread'));
  await expectVisible(direct.getByRole('img', { name: 'online' }));
  await direct.click();
  await expectVisible(messageList(a).getByText('Just between us'));
  await screenshot(a, '09-direct-message');

  expect(foreignRequests).toEqual([]);
}

// Playwright's own expect is not used: jest's runs the test; these wait the way a user would.
async function expectVisible(
  locator: ReturnType<Page['locator']>,
  timeout = 20_000,
): Promise<void> {
  await locator.first().waitFor({ state: 'visible', timeout });
}
async function expectHidden(locator: ReturnType<Page['locator']>, timeout = 20_000): Promise<void> {
  await locator.first().waitFor({ state: 'hidden', timeout });
}
