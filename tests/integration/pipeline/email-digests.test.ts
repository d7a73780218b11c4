// Email digests end to end: real PostgreSQL and Redis, the in-process event bus, and a real
// SMTP server (Mailpit, started here) whose HTTP API shows what arrived. Mailpit refuses
// recipients outside @example.test with 550 (the permanent failure) and its chaos trigger
// answers RCPT TO with 451 (the temporary one); stopping it is the SMTP outage.
import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { TOPICS } from '../../../services/chat/outbox.js';
import type { Subscription } from '../../../services/events/bus.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { createTestDatabase } from '../../support/database.js';
import { ApiClient, registerUser, type TestUser } from '../../support/http-client.js';
import { startMailpit, type Mail, type Mailpit } from '../../support/mailpit.js';
import { waitUntil } from './kafka-support.js';

const WINDOW_SECONDS = 5;
const PUBLIC_URL = 'https://chat.example.test';
const WAIT_MS = 45_000;

jest.setTimeout(120_000);

let mailpit: Mailpit;
let t: TestApp;
let anon: ApiClient;
let ann: TestUser;
const dlq: { value: Record<string, unknown>; key: string | null }[] = [];
let dlqSubscription: Subscription;

const emailOf = (u: TestUser) => `${u.username}@example.test`;

beforeAll(async () => {
  mailpit = await startMailpit({ allowedRecipients: '@example\\.test$' });
  t = await startTestApp(
    {
      ROLES: 'api,relay,notifier',
      NOTIFIER_TRANSPORT: 'email',
      SMTP_URL: mailpit.smtpUrl,
      EMAIL_FROM: 'Signalink <notify@signalink.test>',
      EMAIL_DIGEST_WINDOW_SECONDS: String(WINDOW_SECONDS),
      PUBLIC_URL,
      NOTIFIER_MAX_ATTEMPTS: '30',
      NOTIFIER_RETRY_BASE_MS: '200',
      NOTIFIER_RETRY_MAX_MS: '800',
      NOTIFIER_POLL_INTERVAL_MS: '50',
    },
    'email-digests',
  );
  dlqSubscription = await t.app.ctx.events.bus.subscribe({
    groupId: 'test-dlq-reader',
    topics: [TOPICS.notificationsDlq],
    handleBatch: async (batch) => {
      for (const e of batch.events)
        dlq.push({ key: e.key ?? null, value: JSON.parse(e.value) as Record<string, unknown> });
    },
  });
  anon = new ApiClient(t.baseUrl);
  ann = await registerUser(anon, 'ann');
  // A first run on a machine without the tool cache builds Mailpit (about two minutes).
}, 600_000);

afterAll(async () => {
  await dlqSubscription?.stop();
  await t?.stop();
  await mailpit?.close();
});

async function channelWith(members: TestUser[], type: 'public' | 'direct' = 'public') {
  const res = await ann.api.post(
    '/channels',
    type === 'direct'
      ? { type, memberIds: members.map((m) => m.id) }
      : { name: `mail-${randomUUID().slice(0, 8)}`, type, memberIds: members.map((m) => m.id) },
  );
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string | null };
}

async function send(channelId: string, content: string, from = ann) {
  const res = await from.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: randomUUID(),
    content,
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; seq: number; content: string };
}

interface DigestRow {
  id: string;
  user_id: string;
  channel_id: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  due_at: Date;
}

const digestsOf = async (user: TestUser, channelId?: string) =>
  (await t.app.ctx
    .db('email_digests')
    .where({ user_id: user.id, ...(channelId ? { channel_id: channelId } : {}) })
    .orderBy('created_at')) as DigestRow[];

/** Waits until none of these users has a digest collecting, due or waiting for a retry. */
async function settled(users: TestUser[], what: string) {
  await waitUntil(
    async () => {
      const row = (await t.app.ctx
        .db('email_digests')
        .whereIn(
          'user_id',
          users.map((u) => u.id),
        )
        .whereIn('status', ['open', 'sending'])
        .count({ n: '*' })
        .first()) as { n: string | number };
      return Number(row.n) === 0;
    },
    WAIT_MS,
    `the digests of ${what} to be finished`,
  );
}

async function mailsTo(user: TestUser): Promise<Mail[]> {
  return mailpit.mailsTo(emailOf(user));
}

async function waitForMails(user: TestUser, count: number): Promise<Mail[]> {
  let mails: Mail[] = [];
  await waitUntil(
    async () => (mails = await mailsTo(user)).length >= count,
    WAIT_MS,
    () => `${count} mail(s) to ${user.username} (${mails.length} so far)`,
  );
  return mails;
}

const linkTo = (channelId: string, messageId: string) =>
  `${PUBLIC_URL}/?channel=${channelId}&message=${messageId}`;

describe('digests', () => {
  let bob: TestUser;
  let lee: TestUser;
  let channel: { id: string; name: string | null };
  let firstMail: Mail;

  beforeAll(async () => {
    bob = await registerUser(anon, 'bob');
    lee = await registerUser(anon, 'lee');
    channel = await channelWith([bob, lee]);
  });

  test('an offline member gets one email for what arrived in the window: mentions first, sender, time, text and links', async () => {
    const m1 = await send(channel.id, 'first update of the day');
    const m2 = await send(channel.id, `@${bob.username} can you review the plan?`);
    const m3 = await send(channel.id, 'third: <b>bold</b> & "quoted"');

    const [mail] = await waitForMails(bob, 1);
    await settled([bob, lee], 'bob and lee');
    expect(await mailsTo(bob)).toHaveLength(1);
    firstMail = mail!;
    expect(mail!.To.map((a) => a.Address)).toEqual([emailOf(bob)]);
    expect(mail!.From).toEqual({ Name: 'Signalink', Address: 'notify@signalink.test' });
    expect(mail!.Subject).toBe(
      `${ann.username} mentioned you in #${channel.name} (+2 more messages)`,
    );

    // Plain-text part: the mention first, then the rest in channel order, each with a link back.
    const text = mail!.Text;
    const at = (s: string) => text.indexOf(s);
    expect(at(m2.content)).toBeGreaterThanOrEqual(0);
    expect(at(m2.content)).toBeLessThan(at(m1.content));
    expect(at(m1.content)).toBeLessThan(at(m3.content));
    for (const m of [m1, m2, m3]) expect(text).toContain(linkTo(channel.id, m.id));
    expect(text).toMatch(new RegExp(`${ann.username} · \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`));

    // HTML part: the same messages, their text escaped.
    expect(mail!.HTML).toContain('third: &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;');
    expect(mail!.HTML).not.toContain('<b>bold</b>');
    expect(mail!.HTML).toContain(
      `href="${PUBLIC_URL}/?channel=${channel.id}&amp;message=${m2.id}"`,
    );

    const [digest] = await digestsOf(bob, channel.id);
    expect(digest).toMatchObject({ status: 'sent', attempts: 1 });
    const headers = await mailpit.headers(mail!.ID);
    expect(headers['Message-Id']).toEqual([`<digest-${digest!.id}@signalink.test>`]);
    expect(headers['X-Signalink-Digest-Id']).toEqual([digest!.id]);
    expect(headers['List-Unsubscribe-Post']).toEqual(['List-Unsubscribe=One-Click']);
    expect(headers['List-Unsubscribe']![0]).toMatch(
      /^<https:\/\/chat\.example\.test\/api\/v1\/email\/unsubscribe\?token=[^>]+>$/,
    );
    expect(headers['Content-Type']![0]).toMatch(/^multipart\/alternative/);

    // Lee got the same messages in a mail of his own; the sender got nothing.
    const [toLee] = await waitForMails(lee, 1);
    expect(toLee!.Subject).toBe(`3 new messages in #${channel.name}`);
    expect(await mailpit.mailsTo(`${ann.username}@example.test`)).toEqual([]);
  });

  test('a message after the digest went out starts the next window: a second email with only it', async () => {
    const m4 = await send(channel.id, 'one more thing after lunch');
    const mails = await waitForMails(bob, 2);
    await settled([bob, lee], 'bob and lee');
    expect(await mailsTo(bob)).toHaveLength(2);
    const second = mails[1]!;
    expect(second.Subject).toBe(`1 new message in #${channel.name}`);
    expect(second.Text).toContain(m4.content);
    expect(second.Text).not.toContain('first update of the day');
    expect(second.MessageID).not.toBe(firstMail.MessageID);

    const [d1, d2] = await digestsOf(bob, channel.id);
    expect(d2!.status).toBe('sent');
    // The second window opened only once the first digest was sealed.
    expect(d2!.created_at.getTime()).toBeGreaterThanOrEqual(d1!.due_at.getTime());
    expect(d2!.due_at.getTime() - d2!.created_at.getTime()).toBe(WINDOW_SECONDS * 1000);
  });

  test('the one-click unsubscribe link: GET only confirms, POST turns email off, a forged token is refused', async () => {
    const headers = await mailpit.headers(firstMail.ID);
    const link = new URL(headers['List-Unsubscribe']![0]!.slice(1, -1));
    const local = `${t.baseUrl}${link.pathname}${link.search}`;

    const page = await fetch(local);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<form method="post"');
    expect((await bob.api.get('/notification-preferences')).body.email).toBe('all');

    const token = link.searchParams.get('token')!;
    const forged = `${lee.id}.${token.split('.')[1]}`;
    for (const bad of [forged, `${token}x`, 'nonsense', `${bob.id}.`]) {
      const res = await fetch(
        `${t.baseUrl}/api/v1/email/unsubscribe?${new URLSearchParams({ token: bad })}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        },
      );
      expect(res.status).toBe(400);
    }
    expect((await lee.api.get('/notification-preferences')).body.email).toBe('all');

    // What a mail client does for RFC 8058 one-click.
    const done = await fetch(local, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('You are unsubscribed');
    expect((await bob.api.get('/notification-preferences')).body).toEqual({
      muteAll: false,
      channels: {},
      email: 'off',
    });

    // Lee still gets this message; bob's digest does not take it.
    const m5 = await send(channel.id, 'bob should not get this by email');
    await waitUntil(
      async () => (await mailsTo(lee)).some((m) => m.Text.includes(m5.content)),
      WAIT_MS,
      'lee to get the message by email',
    );
    const bobItems = await t.app.ctx
      .db('email_digest_items as i')
      .join('email_digests as d', 'd.id', 'i.digest_id')
      .where({ 'd.user_id': bob.id, 'i.message_id': m5.id });
    expect(bobItems).toEqual([]);
    await settled([bob, lee], 'bob and lee');
    expect(await mailsTo(bob)).toHaveLength(2);
  });
});

test('read before the digest is due: nothing is sent; partly read: only the unread rest', async () => {
  const carl = await registerUser(anon, 'carl');
  const dan = await registerUser(anon, 'dan');
  const channel = await channelWith([carl, dan]);
  const inDigestOf = (user: TestUser, messageId: string) => () =>
    waitUntil(
      async () =>
        (
          await t.app.ctx
            .db('email_digest_items as i')
            .join('email_digests as d', 'd.id', 'i.digest_id')
            .where({ 'd.user_id': user.id, 'i.message_id': messageId })
        ).length > 0,
      WAIT_MS,
      `message ${messageId} in the digest of ${user.username}`,
    );
  const r1 = await send(channel.id, 'are you around?');
  await inDigestOf(carl, r1.id)();
  // Carl comes back online before the next message (so it joins no digest) and reads both.
  const socketId = `socket-${randomUUID()}`;
  await t.app.ctx.presence.connect(carl.id, socketId);
  const r2 = await send(channel.id, 'never mind, found it');
  // The notifier has handled r2 (while carl was online) once it is in dan's digest.
  await inDigestOf(dan, r2.id)();
  expect((await carl.api.post(`/channels/${channel.id}/read`, { seq: r2.seq })).status).toBe(204);
  await t.app.ctx.presence.disconnect(carl.id, socketId);
  // Dan read only the first.
  expect((await dan.api.post(`/channels/${channel.id}/read`, { seq: r1.seq })).status).toBe(204);

  await settled([carl, dan], 'carl and dan');
  const [toDan] = await waitForMails(dan, 1);
  expect(toDan!.Text).toContain(r2.content);
  expect(toDan!.Text).not.toContain(r1.content);
  expect(toDan!.Subject).toBe(`1 new message in #${channel.name}`);

  expect(await mailsTo(carl)).toEqual([]);
  const carlDigests = await digestsOf(carl, channel.id);
  expect(carlDigests.map((d) => d.status)).toEqual(['suppressed']);
  expect(
    (await t.app.ctx.db('email_digest_items').where({ digest_id: carlDigests[0]!.id })).map(
      (i: { message_id: string }) => i.message_id,
    ),
  ).toEqual([r1.id]);
});

test('preferences: email off, mentions only, muted channel, mute all and online members get no email for what they did not ask for', async () => {
  const names = ['erin', 'fay', 'gus', 'hal', 'ivan', 'jo'] as const;
  const u = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await registerUser(anon, n)] as const)),
  ) as Record<(typeof names)[number], TestUser>;
  const channel = await channelWith(Object.values(u));
  const put = async (user: TestUser, body: unknown) => {
    const res = await user.api.put('/notification-preferences', body);
    expect(res.status).toBe(200);
    return res.body as { email: string };
  };
  expect(await put(u.erin, { email: 'mentions' })).toMatchObject({ email: 'mentions' });
  await put(u.fay, { email: 'off' });
  await put(u.gus, { channels: { [channel.id]: 'none' } });
  await put(u.hal, { muteAll: true });
  await put(u.jo, { channels: { [channel.id]: 'mentions' } });
  expect((await u.erin.api.put('/notification-preferences', { email: 'loud' })).status).toBe(400);
  expect((await u.erin.api.get('/notification-preferences')).body.email).toBe('mentions');
  const socketId = `socket-${randomUUID()}`;
  await t.app.ctx.presence.connect(u.ivan.id, socketId);

  const plain = await send(channel.id, 'status meeting moved to 3pm');
  const mention = await send(
    channel.id,
    `@${u.erin.username} and @${u.jo.username}: please bring the numbers`,
  );
  // A direct message counts as a mention for `email: mentions`.
  const direct = await channelWith([u.erin], 'direct');
  const dm = await send(direct.id, 'a private word about the numbers');

  await settled(Object.values(u), 'everyone');
  await t.app.ctx.presence.disconnect(u.ivan.id, socketId);
  const toErin = await waitForMails(u.erin, 2);
  expect(toErin).toHaveLength(2);
  const inChannel = toErin.find((m) => m.Text.includes(mention.content))!;
  expect(inChannel.Text).not.toContain(plain.content);
  const inDirect = toErin.find((m) => m.Text.includes(dm.content))!;
  expect(inDirect.Subject).toBe(`${ann.username} sent you a message`);

  const [toJo] = await waitForMails(u.jo, 1);
  expect(toJo!.Text).toContain(mention.content);
  expect(toJo!.Text).not.toContain(plain.content);
  expect(await mailsTo(u.jo)).toHaveLength(1);

  for (const quiet of [u.fay, u.gus, u.hal, u.ivan]) {
    expect(await mailsTo(quiet)).toEqual([]);
    expect(await digestsOf(quiet)).toEqual([]);
  }
});

describe('SMTP failures', () => {
  afterEach(async () => {
    await mailpit.chaos({});
  });

  test('a temporary 4xx answer is retried with the same digest until it is accepted, once', async () => {
    const mo = await registerUser(anon, 'mo');
    const channel = await channelWith([mo]);
    await mailpit.chaos({ Recipient: { ErrorCode: 451, Probability: 100 } });
    const msg = await send(channel.id, 'please retry me');
    await waitUntil(
      async () => {
        const [d] = await digestsOf(mo, channel.id);
        return (d?.attempts ?? 0) >= 2 && (d?.last_error ?? '').includes('451');
      },
      WAIT_MS,
      'two attempts answered with 451',
    );
    expect(await mailsTo(mo)).toEqual([]);
    await mailpit.chaos({});

    const [mail] = await waitForMails(mo, 1);
    await settled([mo], 'mo');
    expect(mail!.Text).toContain(msg.content);
    expect(await mailsTo(mo)).toHaveLength(1);
    const [d] = await digestsOf(mo, channel.id);
    expect(d!.status).toBe('sent');
    expect(d!.attempts).toBeGreaterThanOrEqual(3);
    expect(mail!.MessageID).toBe(`digest-${d!.id}@signalink.test`);
    expect(dlq.some((r) => r.value.digestId === d!.id)).toBe(false);
  });

  test('a permanent 5xx answer dead-letters the digest at once; other members still get theirs', async () => {
    const username = `nox_${randomUUID().slice(0, 6)}`;
    const reg = await anon.post('/auth/register', {
      username,
      email: `${username}@rejected.test`,
      password: 'correct horse battery',
    });
    expect(reg.status).toBe(201);
    const noxId = reg.body.user.id as string;
    const pat = await registerUser(anon, 'pat');
    const channel = await ann.api.post('/channels', {
      name: `bounce-${randomUUID().slice(0, 6)}`,
      type: 'public',
      memberIds: [noxId, pat.id],
    });
    const msg = await send(channel.body.id as string, 'this one bounces for nox');

    await waitUntil(
      () => dlq.some((r) => r.value.userId === noxId),
      WAIT_MS,
      'the dead letter of the bounced digest',
    );
    const dead = dlq.filter((r) => r.value.userId === noxId);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.key).toBe(noxId);
    expect(dead[0]!.value).toMatchObject({
      transport: 'email',
      userId: noxId,
      channelId: channel.body.id,
      messageIds: [msg.id],
      attempts: 1,
      error: expect.stringMatching(/^SMTP answered 550/),
    });
    const row = (await t.app.ctx
      .db('email_digests')
      .where({ id: dead[0]!.value.digestId as string })
      .first()) as DigestRow;
    expect(row).toMatchObject({ status: 'dead', attempts: 1, user_id: noxId });

    const [toPat] = await waitForMails(pat, 1);
    expect(toPat!.Text).toContain(msg.content);
    expect(await mailpit.mailsTo(`${username}@rejected.test`)).toEqual([]);
  });

  test('SMTP down for a while, then back: every digest arrives once, nothing lost, nothing duplicated', async () => {
    const people = await Promise.all(['q1', 'q2', 'q3'].map((n) => registerUser(anon, n)));
    const channels = await Promise.all(people.map((p) => channelWith([p])));
    await mailpit.stop();
    const sent = [];
    for (const c of channels) {
      sent.push([await send(c.id, `outage news ${c.id}`), await send(c.id, `and more ${c.id}`)]);
    }
    await waitUntil(
      async () => {
        const rows = (await t.app.ctx
          .db('email_digests')
          .whereIn(
            'user_id',
            people.map((p) => p.id),
          )
          .select('attempts', 'last_error')) as DigestRow[];
        return rows.length === 3 && rows.every((r) => r.attempts >= 2);
      },
      WAIT_MS,
      'every digest to fail twice while SMTP is down',
    );
    const failing = (await t.app.ctx
      .db('email_digests')
      .whereIn(
        'user_id',
        people.map((p) => p.id),
      )
      .select('status', 'last_error')) as DigestRow[];
    expect(failing.every((r) => r.status === 'sending')).toBe(true);
    expect(failing.every((r) => /SMTP unreachable/.test(r.last_error ?? ''))).toBe(true);

    await mailpit.restart();
    await settled(people, 'q1..q3');
    for (const [i, p] of people.entries()) {
      const mails = await mailsTo(p);
      expect(mails).toHaveLength(1);
      for (const m of sent[i]!) expect(mails[0]!.Text).toContain(m.content);
    }
    const all = await mailpit.messages();
    expect(new Set(all.map((m) => m.MessageID)).size).toBe(all.length);
  });
});

test('two notifier processes share the digest queue: each digest is sent once', async () => {
  const second = await startTestApp(
    { ...t.env, ROLES: 'notifier', PORT: '0', DATABASE_URL: t.databaseUrl },
    'email-digests-2',
  );
  try {
    const members = await Promise.all(
      Array.from({ length: 8 }, (_, i) => registerUser(anon, `r${i}`)),
    );
    const channels = [await channelWith(members.slice(0, 4)), await channelWith(members.slice(4))];
    for (const c of channels) {
      await send(c.id, `shared queue one ${c.id}`);
      await send(c.id, `shared queue two ${c.id}`);
    }
    await settled(members, 'the eight members');
    for (const m of members) {
      const mails = await waitForMails(m, 1);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.Text).toMatch(/shared queue one[\s\S]*shared queue two/);
    }
  } finally {
    await second.stop();
  }
});

test('metrics count email deliveries by outcome and decisions by reason', async () => {
  const res = await fetch(`${t.baseUrl}/metrics`);
  const text = await res.text();
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  for (const outcome of ['delivered', 'suppressed', 'retry', 'dead_lettered'])
    expect(
      value(`signalink_notifier_deliveries_total{transport="email",outcome="${outcome}"}`),
    ).toBeGreaterThan(0);
  for (const decision of ['digest', 'online', 'muted', 'channel_off', 'email_off', 'not_mentioned'])
    expect(
      value(`signalink_notifier_email_decisions_total{decision="${decision}"}`),
    ).toBeGreaterThan(0);
  expect(text).toContain('signalink_notifier_email_digests_pending');
});

test('with only SMTP_URL set (NOTIFIER_TRANSPORT left at its default), a member away receives a digest', async () => {
  const plain = await startTestApp(
    {
      ROLES: 'api,relay,notifier',
      SMTP_URL: mailpit.smtpUrl,
      EMAIL_DIGEST_WINDOW_SECONDS: '1',
      NOTIFIER_POLL_INTERVAL_MS: '50',
    },
    'email-defaults',
  );
  try {
    const api = new ApiClient(plain.baseUrl);
    const [sue, tom] = [await registerUser(api, 'sue'), await registerUser(api, 'tom')];
    const direct = await sue.api.post('/channels', { type: 'direct', memberIds: [tom.id] });
    const res = await sue.api.post(`/channels/${direct.body.id as string}/messages`, {
      clientMsgId: randomUUID(),
      content: 'see you at the station',
    });
    expect(res.status).toBe(201);
    const [mail] = await waitForMails(tom, 1);
    expect(mail!.Subject).toBe(`${sue.username} sent you a message`);
    expect(mail!.Text).toContain('see you at the station');
    // Links point at the server itself (the port it listens on) when PUBLIC_URL is not set.
    expect(mail!.Text).toContain(`http://localhost:${plain.app.port}/?channel=${direct.body.id}`);
  } finally {
    await plain.stop();
  }
});

test('digests outlive the notifier: an open one is sent by the next process, one left mid-send by a dead notifier is taken again when its reservation ends', async () => {
  const database = await createTestDatabase('email-restart');
  const env = {
    ROLES: 'api,relay,notifier',
    DATABASE_URL: database.url,
    NOTIFIER_TRANSPORT: 'email',
    SMTP_URL: mailpit.smtpUrl,
    EMAIL_DIGEST_WINDOW_SECONDS: '8',
    NOTIFIER_POLL_INTERVAL_MS: '50',
  };
  const first = await startTestApp(env, 'email-restart-1');
  let second: TestApp | undefined;
  try {
    const api = new ApiClient(first.baseUrl);
    const [uma, vic, wes] = (await Promise.all(
      ['uma', 'vic', 'wes'].map((n) => registerUser(api, n)),
    )) as [TestUser, TestUser, TestUser];
    const channel = await uma.api.post('/channels', {
      name: `restart-${randomUUID().slice(0, 6)}`,
      type: 'public',
      memberIds: [vic.id, wes.id],
    });
    const res = await uma.api.post(`/channels/${channel.body.id as string}/messages`, {
      clientMsgId: randomUUID(),
      content: 'written before the restart',
    });
    expect(res.status).toBe(201);
    const db = first.app.ctx.db;
    await waitUntil(
      async () =>
        Number(
          ((await db('email_digests').count({ n: '*' }).first()) as { n: string | number }).n,
        ) === 2,
      WAIT_MS,
      'the two digests to be opened',
    );
    // Wes's digest looks claimed by a notifier that died before sending: sealed, reserved a
    // little longer, no mail composed yet.
    await db('email_digests')
      .where({ user_id: wes.id })
      .update({ status: 'sending', next_attempt_at: db.raw("now() + interval '3 seconds'") });
    await first.stop();
    expect(await mailsTo(vic)).toEqual([]);

    second = await startTestApp({ ...env, ROLES: 'notifier' }, 'email-restart-2');
    for (const user of [vic, wes]) {
      const [mail] = await waitForMails(user, 1);
      expect(mail!.Text).toContain('written before the restart');
    }
    const unsent = async () =>
      Number(
        (
          (await second!.app.ctx
            .db('email_digests')
            .whereNot({ status: 'sent' })
            .count({ n: '*' })
            .first()) as { n: string | number }
        ).n,
      );
    await waitUntil(
      async () => (await unsent()) === 0,
      WAIT_MS,
      'both digests to be recorded as sent',
    );
    expect(await mailsTo(vic)).toHaveLength(1);
    expect(await mailsTo(wes)).toHaveLength(1);
  } finally {
    await second?.stop();
    await first.stop();
    await database.drop();
  }
});
