// Group commit under a crash: two real Signalink processes (node dist/main.js) take a stream of
// REST sends into shared channels, one is SIGKILLed mid-stream. Nothing acknowledged may be
// missing, seqs stay gap-free (a batch cut off before its commit takes no seqs), and a client
// retrying what never got an answer ends with every message stored exactly once.
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { createTestDatabase } from '../support/database.js';
import { CONDITION_TIMEOUT_MS } from '../support/deadlines.js';
import { requiredEnv } from '../support/env.js';
import { ApiClient, registerUser, type TestUser } from '../support/http-client.js';
import { startNode, type NodeProcess } from '../support/node-process.js';

let database: { url: string; drop(): Promise<void> };
let survivor: NodeProcess;
let victim: NodeProcess;
let db: Knex;
let users: TestUser[];
let channels: string[];

beforeAll(async () => {
  database = await createTestDatabase('send_crash');
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: requiredEnv('REDIS_URL'),
    REDIS_KEY_PREFIX: `sc${randomBytes(3).toString('hex')}:`,
    JWT_SECRET: 'send-crash-test-secret-send-crash-test-secret',
    ROLES: 'api',
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    MESSAGE_RATE_PER_SECOND: '100000',
    MESSAGE_RATE_BURST: '100000',
    CHANNEL_MESSAGE_RATE_PER_SECOND: '100000',
  };
  survivor = await startNode(env);
  // The victim writes one batch at a time with a long window, so batches are large and a kill
  // is likely to find one in flight.
  victim = await startNode({
    ...env,
    SEND_BATCH_MAX_IN_FLIGHT: '1',
    SEND_BATCH_MAX_WAIT_MS: '200',
  });
  db = knexFactory({ client: 'pg', connection: database.url, pool: { min: 0, max: 2 } });
  const anon = new ApiClient(survivor.url);
  users = await Promise.all([1, 2, 3, 4].map((i) => registerUser(anon, `crash${i}`)));
  channels = [];
  for (let i = 0; i < 3; i++) {
    const res = await users[0]!.api.post('/channels', {
      name: `crash-${i}`,
      type: 'private',
      memberIds: users.slice(1).map((u) => u.id),
    });
    channels.push(res.body.id);
  }
}, 180_000);

afterAll(async () => {
  await db?.destroy();
  await Promise.all([survivor?.kill('SIGKILL'), victim?.kill('SIGKILL')]);
  await database?.drop();
});

interface Attempt {
  channelId: string;
  user: TestUser;
  clientMsgId: string;
  content: string;
  /** The process it was sent to. */
  via: string;
  /** The answer, if one came: 201/200 with the message, or an error status. */
  status?: number;
  message?: { id: string; seq: number; content: string };
}

test('SIGKILL mid-stream: every acknowledged send is stored, seqs stay gap-free, retries make the rest exactly once', async () => {
  const attempts: Attempt[] = [];
  let next = 0;
  let stop = false;
  let victimDead = false;
  const acked = (node: NodeProcess) =>
    attempts.filter((a) => a.status === 201 && a.via === node.url).length;

  // Lanes send back to back; each lane stays on one process.
  const lane = async (node: NodeProcess) => {
    while (!stop) {
      if (node === victim && victimDead) return;
      const i = next++;
      const user = users[i % users.length]!;
      const attempt: Attempt = {
        channelId: channels[i % channels.length]!,
        user,
        clientMsgId: `m-${i}`,
        content: `message ${i}`,
        via: node.url,
      };
      attempts.push(attempt);
      try {
        const res = await new ApiClient(node.url, user.accessToken).post(
          `/channels/${attempt.channelId}/messages`,
          { clientMsgId: attempt.clientMsgId, content: attempt.content },
        );
        attempt.status = res.status;
        if (res.status === 200 || res.status === 201) attempt.message = res.body;
      } catch {
        // The connection died with the process: no answer.
        if (node === victim) return;
      }
    }
  };
  const lanes = [
    ...Array.from({ length: 12 }, () => lane(survivor)),
    ...Array.from({ length: 24 }, () => lane(victim)),
  ];

  const waitFor = async (what: string, check: () => boolean) => {
    const deadline = Date.now() + CONDITION_TIMEOUT_MS * 3;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitFor('150 sends acknowledged by the process to be killed', () => acked(victim) >= 150);
  victimDead = true;
  await victim.kill('SIGKILL');
  const survivorAckedAtKill = acked(survivor);
  await waitFor(
    '150 more sends acknowledged by the survivor after the kill',
    () => acked(survivor) >= survivorAckedAtKill + 150,
  );
  stop = true;
  await Promise.all(lanes);

  const answered = attempts.filter((a) => a.status !== undefined);
  for (const a of answered) expect([200, 201]).toContain(a.status);
  const unanswered = attempts.filter((a) => a.status === undefined);

  // Nothing acknowledged is missing, and what is stored is what was acknowledged.
  const rows = (await db('messages')
    .whereIn('channel_id', channels)
    .select('id', 'channel_id', 'seq', 'sender_id', 'client_msg_id', 'content')) as {
    id: string;
    channel_id: string;
    seq: number;
    sender_id: string;
    client_msg_id: string;
    content: string;
  }[];
  // This process has no bigint parser set: seqs come back as strings.
  for (const r of rows) r.seq = Number(r.seq);
  const byKey = new Map(rows.map((r) => [`${r.sender_id}/${r.client_msg_id}`, r]));
  for (const a of answered) {
    const row = byKey.get(`${a.user.id}/${a.clientMsgId}`);
    expect(row).toBeDefined();
    expect(row).toMatchObject({ id: a.message!.id, seq: a.message!.seq, content: a.content });
  }
  // A batch cut off by the kill took no seqs: every channel is 1..n without holes.
  const checkGapFree = async () => {
    for (const channelId of channels) {
      const seqs = (
        (await db('messages').where({ channel_id: channelId }).orderBy('seq').select('seq')) as {
          seq: number;
        }[]
      ).map((r) => Number(r.seq));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      const head = await db('channels').where({ id: channelId }).first('last_seq');
      expect(Number(head.last_seq)).toBe(seqs.length);
      const events = await db('outbox')
        .where({ topic: 'signalink.messages', key: channelId })
        .count<{ n: string }[]>('* as n');
      expect(Number(events[0]!.n)).toBe(seqs.length);
    }
  };
  await checkGapFree();

  // A client retries what never got an answer: committed-but-unanswered sends come back as the
  // original (200), the rest are stored now (201), none twice.
  const retries = await Promise.all(
    unanswered.map((a) =>
      new ApiClient(survivor.url, a.user.accessToken).post(`/channels/${a.channelId}/messages`, {
        clientMsgId: a.clientMsgId,
        content: a.content,
      }),
    ),
  );
  for (const [i, r] of retries.entries()) {
    expect([200, 201]).toContain(r.status);
    const key = `${unanswered[i]!.user.id}/${unanswered[i]!.clientMsgId}`;
    if (r.status === 200) expect(r.body.id).toBe(byKey.get(key)!.id);
    else expect(byKey.has(key)).toBe(false);
  }
  const total = await db('messages')
    .whereIn('channel_id', channels)
    .count<{ n: string }[]>('* as n');
  expect(Number(total[0]!.n)).toBe(attempts.length);
  await checkGapFree();
}, 240_000);
