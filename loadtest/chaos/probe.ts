// A probe that tells when the system is healthy again: a message sent through the load
// balancer's REST API must be acked and reach a socket held through the load balancer (live
// delivery, across gateways through Redis), and for the pipeline faults be counted by
// analytics (outbox -> relay -> Kafka -> analytics -> PostgreSQL).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { io, type Socket } from 'socket.io-client';
import { sleep } from '../lib/paths.js';

async function rest(
  url: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/v1${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

async function retrying<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(300);
  }
  throw new Error(`probe: ${what} failed for 60 s (${String(last)})`);
}

export class Probe {
  private socket: Socket | undefined;
  private readonly seen = new Set<string>();
  private closed = false;
  /** Probe messages acked so far. */
  acked = 0;

  private constructor(
    private readonly url: string,
    private readonly senderToken: string,
    private readonly receiverToken: string,
    readonly channelId: string,
  ) {}

  static async create(url: string): Promise<Probe> {
    const register = (who: string) =>
      retrying(`registering ${who}`, async () => {
        const username = `probe_${who}_${randomBytes(4).toString('hex')}`;
        const res = await rest(url, '/auth/register', {
          username,
          email: `${username}@example.test`,
          password: 'chaos probe password',
        });
        if (res.status !== 201) throw new Error(`register answered ${res.status}`);
        return { id: res.body.user.id as string, token: res.body.accessToken as string };
      });
    const sender = await register('sender');
    const receiver = await register('receiver');
    const channelId = await retrying('creating its channel', async () => {
      const res = await rest(
        url,
        '/channels',
        {
          name: `probe-${randomBytes(3).toString('hex')}`,
          type: 'private',
          memberIds: [receiver.id],
        },
        sender.token,
      );
      if (res.status !== 201) throw new Error(`POST /channels answered ${res.status}`);
      return res.body.id as string;
    });
    const probe = new Probe(url, sender.token, receiver.token, channelId);
    probe.open();
    return probe;
  }

  private open(): void {
    const socket = io(this.url, {
      transports: ['websocket'],
      auth: { token: this.receiverToken },
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
      forceNew: true,
    });
    socket.on('message.new', (m: { clientMsgId?: string }) => {
      if (m.clientMsgId) this.seen.add(m.clientMsgId);
    });
    // A drain or rebalance closes the socket from the server side, which Socket.IO does not
    // retry by itself; a refused handshake (draining node, dependency down) neither.
    const again = () => {
      if (!this.closed) setTimeout(() => !this.closed && socket.connect(), 300).unref();
    };
    socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect') again();
    });
    socket.on('connect_error', () => {
      if (!socket.active) again();
    });
    this.socket = socket;
  }

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  /** Sends one message through REST; true once it is acked and then seen live on the socket. */
  async delivered(timeoutMs = 3000): Promise<boolean> {
    if (!this.connected) return false;
    const clientMsgId = `probe-${randomUUID()}`;
    const ok = await this.send(clientMsgId);
    if (!ok) return false;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.seen.has(clientMsgId)) return true;
      await sleep(25);
    }
    return false;
  }

  /** Sends one message through REST; true when it was acked (durable in PostgreSQL). */
  async send(clientMsgId = `probe-${randomUUID()}`): Promise<boolean> {
    const res = await rest(
      this.url,
      `/channels/${this.channelId}/messages`,
      { clientMsgId, content: 'chaos probe' },
      this.senderToken,
    ).catch(() => undefined);
    if (res?.status !== 201) return false;
    this.acked += 1;
    return true;
  }

  /**
   * Sends one message and waits until analytics has counted every probe message acked so far
   * (the events of the outbox reached Kafka, and analytics consumed and stored them).
   */
  async counted(db: Knex, timeoutMs = 3000): Promise<boolean> {
    if (!(await this.send())) return false;
    const want = this.acked;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const row = await db('analytics_channel_totals')
        .where({ channel_id: this.channelId })
        .first('messages')
        .catch(() => undefined);
      if (Number(row?.messages ?? 0) >= want) return true;
      await sleep(100);
    }
    return false;
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }
}
