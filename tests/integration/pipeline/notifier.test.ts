// The notifier end to end: real PostgreSQL, Redis presence, Kafka mock, and a webhook
// receiver in the test.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../../support/app.js';
import { CONDITION_TIMEOUT_MS } from '../../support/deadlines.js';
import { ApiClient, registerUser, type TestUser } from '../../support/http-client.js';
import { kafkaEnv, produceRaw, tailTopic, uniquePrefix, waitUntil } from './kafka-support.js';

const SECRET = 'webhook-secret-for-tests';

interface Delivery {
  headers: IncomingHttpHeaders;
  raw: string;
  body: {
    notificationId: string;
    userId: string;
    channelId: string;
    messageId: string;
    seq: number;
    title: string;
    body: string;
  };
  answered: number;
}

/** Records every POST; `answer` decides the status code for each. */
async function webhookReceiver(
  answer: (d: Omit<Delivery, 'answered'>, attemptsSoFar: number) => number,
): Promise<{ url: string; deliveries: Delivery[]; close(): Promise<void> }> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Delivery['body'];
      const previous = deliveries.filter(
        (d) => d.body.notificationId === body.notificationId,
      ).length;
      const status = answer({ headers: req.headers, raw, body }, previous);
      deliveries.push({ headers: req.headers, raw, body, answered: status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/signalink`,
    deliveries,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function signatureIsValid(d: Delivery): boolean {
  const header = String(d.headers['x-signalink-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', SECRET).update(d.raw).digest('hex')}`;
  return (
    header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected))
  );
}

async function send(
  user: TestUser,
  channelId: string,
  content: string,
): Promise<{ id: string; seq: number }> {
  const res = await user.api.post(`/channels/${channelId}/messages`, {
    clientMsgId: randomUUID(),
    content,
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; seq: number };
}

describe('notifier over Kafka with the webhook transport', () => {
  let t: TestApp;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let prefix: string;
  let users: Record<'ann' | 'bob' | 'carl' | 'dan' | 'erin' | 'fay' | 'gus' | 'hal', TestUser>;
  let channelId: string;

  beforeAll(async () => {
    // For the 'important update', gus's endpoint always fails and hal's fails twice, then accepts.
    hook = await webhookReceiver(({ body }, attemptsSoFar) => {
      if (body.body !== 'important update') return 204;
      if (body.userId === users.gus.id) return 500;
      if (body.userId === users.hal.id && attemptsSoFar < 2) return 503;
      return 204;
    });
    prefix = uniquePrefix('notifier');
    t = await startTestApp(
      {
        ROLES: 'api,relay,notifier',
        ...kafkaEnv(prefix),
        NOTIFIER_TRANSPORT: 'webhook',
        NOTIFIER_WEBHOOK_URL: hook.url,
        NOTIFIER_WEBHOOK_SECRET: SECRET,
        NOTIFIER_MAX_ATTEMPTS: '3',
        NOTIFIER_RETRY_BASE_MS: '100',
        NOTIFIER_RETRY_MAX_MS: '300',
        NOTIFIER_POLL_INTERVAL_MS: '50',
        // carl's connection below is registered once and never refreshed (no gateway runs
        // here): it must outlive the whole file, however slowly a loaded machine gets there.
        GATEWAY_PRESENCE_TTL_MS: String(60 * 60_000),
      },
      'notifier',
    );
    const anon = new ApiClient(t.baseUrl);
    const names = ['ann', 'bob', 'carl', 'dan', 'erin', 'fay', 'gus', 'hal'] as const;
    const registered = await Promise.all(names.map((n) => registerUser(anon, n)));
    users = Object.fromEntries(names.map((n, i) => [n, registered[i]!])) as typeof users;
    const res = await users.ann.api.post('/channels', {
      name: `notify-${randomUUID().slice(0, 6)}`,
      type: 'public',
      memberIds: names.slice(1).map((n) => users[n].id),
    });
    channelId = res.body.id;
    // carl is connected; dan muted everything; erin wants mentions only; fay nothing from this channel.
    await t.app.ctx.presence.connect(users.carl.id, `socket-${randomUUID()}`);
    expect((await users.dan.api.put('/notification-preferences', { muteAll: true })).status).toBe(
      200,
    );
    expect(
      (
        await users.erin.api.put('/notification-preferences', {
          channels: { [channelId]: 'mentions' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await users.fay.api.put('/notification-preferences', { channels: { [channelId]: 'none' } }))
        .status,
    ).toBe(200);
  });
  afterAll(async () => {
    await t?.stop();
    await hook?.close();
  });

  /** Waits until the notifier has handled `events` message events in all and has nothing left to deliver. */
  const settled = (events: number) =>
    waitUntil(
      async () => {
        const db = t.app.ctx.db;
        const processed = Number(
          (await db('notifier_processed_events').count({ n: '*' }).first())?.n,
        );
        const pending = Number(
          (await db('notifications').where({ status: 'pending' }).count({ n: '*' }).first())?.n,
        );
        return processed >= events && pending === 0;
      },
      30_000,
      'the notifier to settle',
    );
  const recipientsOf = (messageId: string) =>
    [
      ...new Set(
        hook.deliveries
          .filter((d) => d.body.messageId === messageId && d.answered < 300)
          .map((d) => d.body.userId),
      ),
    ].sort();
  const sorted = (...ids: string[]) => [...ids].sort();

  test('offline members are notified once; online, muted, mention-only (unmentioned) and channel-off members are not', async () => {
    const plain = await send(users.ann, channelId, 'Lunch at noon, everyone?');
    // Mentions are case-insensitive.
    const mention = await send(
      users.ann,
      channelId,
      `hey @${users.erin.username.toUpperCase()}, can you book the table?`,
    );
    await settled(2);

    expect(recipientsOf(plain.id)).toEqual(sorted(users.bob.id, users.gus.id, users.hal.id));
    expect(recipientsOf(mention.id)).toEqual(
      sorted(users.bob.id, users.erin.id, users.gus.id, users.hal.id),
    );
    expect(
      hook.deliveries.filter((d) => [plain.id, mention.id].includes(d.body.messageId)),
    ).toHaveLength(7);

    const toBob = hook.deliveries.filter(
      (d) => d.body.userId === users.bob.id && d.body.messageId === plain.id,
    );
    expect(toBob).toHaveLength(1);
    expect(toBob[0]!.body).toEqual({
      notificationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      userId: users.bob.id,
      channelId,
      messageId: plain.id,
      seq: plain.seq,
      title: expect.stringContaining('#notify-'),
      body: 'Lunch at noon, everyone?',
    });
  });

  test('every delivery is signed with HMAC-SHA256 of its body, and a tampered body would not verify', () => {
    expect(hook.deliveries.length).toBeGreaterThan(0);
    for (const d of hook.deliveries) expect(signatureIsValid(d)).toBe(true);
    const forged = {
      ...hook.deliveries[0]!,
      raw: hook.deliveries[0]!.raw.replace('"seq":', '"seq":1'),
    };
    expect(signatureIsValid(forged)).toBe(false);
  });

  test('a failing webhook is retried with the same notificationId, then succeeds or is dead-lettered', async () => {
    const dlq = await tailTopic(`${prefix}signalink.notifications.dlq`);
    try {
      const msg = await send(users.ann, channelId, 'important update');
      await dlq.waitFor((r) => r.some((x) => x.value.messageId === msg.id), 30_000);
      const dead = dlq.records.filter((x) => x.value.messageId === msg.id);
      expect(dead).toHaveLength(1);
      expect(dead[0]!.key).toBe(users.gus.id);
      expect(dead[0]!.value).toMatchObject({
        userId: users.gus.id,
        channelId,
        seq: msg.seq,
        attempts: 3,
        error: 'webhook answered 500',
      });

      const toGus = hook.deliveries.filter(
        (d) => d.body.userId === users.gus.id && d.body.messageId === msg.id,
      );
      expect(toGus).toHaveLength(3);
      expect(new Set(toGus.map((d) => d.body.notificationId))).toEqual(
        new Set([dead[0]!.value.notificationId]),
      );

      await waitUntil(
        () => recipientsOf(msg.id).includes(users.hal.id),
        CONDITION_TIMEOUT_MS,
        'hal after retries',
      );
      const toHal = hook.deliveries.filter(
        (d) => d.body.userId === users.hal.id && d.body.messageId === msg.id,
      );
      expect(toHal.map((d) => d.answered)).toEqual([503, 503, 204]);
      expect(new Set(toHal.map((d) => d.body.notificationId)).size).toBe(1);
      expect(dlq.records.some((x) => x.value.userId === users.hal.id)).toBe(false);
    } finally {
      await dlq.stop();
    }
  });

  test('an event delivered twice (same eventId) notifies nobody twice', async () => {
    const messages = await tailTopic(`${prefix}signalink.messages`);
    try {
      const msg = await send(users.ann, channelId, 'say it once');
      await messages.waitFor((r) => r.some((x) => x.value.message?.id === msg.id));
      await waitUntil(
        () => recipientsOf(msg.id).includes(users.bob.id),
        20_000,
        'the first notification',
      );
      const original = messages.records.find((x) => x.value.message?.id === msg.id)!;
      await produceRaw(`${prefix}signalink.messages`, [original, original]);
      const sentinel = await send(users.ann, channelId, 'sentinel');
      await waitUntil(
        () => recipientsOf(sentinel.id).includes(users.bob.id),
        20_000,
        'the sentinel',
      );
      await settled(5);
      expect(
        hook.deliveries.filter(
          (d) => d.body.messageId === msg.id && d.body.userId === users.bob.id,
        ),
      ).toHaveLength(1);
    } finally {
      await messages.stop();
    }
  });
});

describe('notifier in embedded mode (in-process bus)', () => {
  test('an offline member is notified through the webhook', async () => {
    const hook = await webhookReceiver(() => 200);
    const t = await startTestApp(
      {
        ROLES: 'api,relay,notifier',
        NOTIFIER_TRANSPORT: 'webhook',
        NOTIFIER_WEBHOOK_URL: hook.url,
        NOTIFIER_WEBHOOK_SECRET: SECRET,
        NOTIFIER_POLL_INTERVAL_MS: '50',
      },
      'notifier-embedded',
    );
    try {
      const anon = new ApiClient(t.baseUrl);
      const [ann, bob] = [await registerUser(anon, 'ann'), await registerUser(anon, 'bob')];
      const direct = await ann.api.post('/channels', { type: 'direct', memberIds: [bob.id] });
      const msg = await send(ann, direct.body.id as string, 'psst');
      await waitUntil(
        () => hook.deliveries.some((d) => d.body.messageId === msg.id),
        20_000,
        'the notification',
      );
      expect(hook.deliveries.map((d) => [d.body.userId, d.body.title, d.body.body])).toEqual([
        [bob.id, ann.username, 'psst'],
      ]);
      expect(signatureIsValid(hook.deliveries[0]!)).toBe(true);
    } finally {
      await t.stop();
      await hook.close();
    }
  });
});
