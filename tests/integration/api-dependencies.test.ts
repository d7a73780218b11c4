// What REST clients see when a dependency goes away and comes back: Redis down is survivable
// (rate limits fall back to memory), PostgreSQL down is UNAVAILABLE (503, safe to retry), never
// a 500, and both recover by themselves. Redis is a private server killed by pid; PostgreSQL is
// the shared test server reached through a TCP relay that the test cuts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { eventually, expectError, expectStatus } from '../support/contract.js';
import { ApiClient, registerUser } from '../support/http-client.js';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function readyz(
  baseUrl: string,
): Promise<{ status: number; checks: Record<string, string> }> {
  const res = await fetch(`${baseUrl}/readyz`);
  return {
    status: res.status,
    checks: ((await res.json()) as { checks: Record<string, string> }).checks,
  };
}

/** A redis-server of this test's own, on a fixed port so it can be restarted where clients expect it. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    const up = await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(this.port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      10_000,
      50,
    );
    if (!up) throw new Error('private redis-server did not start');
  }
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGKILL');
    });
  }
}

/** Forwards TCP to PostgreSQL until cut, like a network partition; restore() reconnects the path. */
class TcpRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: number,
  ) {}
  async restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

describe('Redis killed', () => {
  let redis: PrivateRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    t = await startTestApp({ REDIS_URL: redis.url }, 'deps_redis');
  });
  afterAll(async () => {
    await t?.stop();
    await redis.kill();
  });

  test('the API keeps serving without delay, readyz reports it, and both recover when Redis is back', async () => {
    const anon = new ApiClient(t.baseUrl);
    const user = await registerUser(anon, 'steady');
    const channelId = (await user.api.post('/channels', { name: 'steady', type: 'private' })).body
      .id as string;
    expectStatus(
      await user.api.post(`/channels/${channelId}/messages`, {
        clientMsgId: 'before',
        content: 'before',
      }),
      201,
    );

    await redis.kill();
    // Rate limits fall back to memory (they do not wait out the Redis client's reconnects).
    expectStatus(await user.api.get('/users/me'), 200);
    expectStatus(await user.api.patch('/users/me', { statusMessage: 'redis is down' }), 200);
    expectStatus(await user.api.get(`/channels/${channelId}/messages`), 200);
    expectStatus(
      await anon.post('/auth/login', { login: user.username, password: 'correct horse battery' }),
      200,
    );
    const down = await readyz(t.baseUrl);
    expect(down.status).toBe(503);
    expect(down.checks.postgres).toBe('ok');
    expect(down.checks.redis).not.toBe('ok');

    await redis.start();
    expect(await eventually(async () => (await readyz(t.baseUrl)).status === 200, 20_000)).toBe(
      true,
    );
    expectStatus(
      await user.api.post(`/channels/${channelId}/messages`, {
        clientMsgId: 'after',
        content: 'after',
      }),
      201,
    );
    const page = await user.api.get(`/channels/${channelId}/messages`);
    expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual([
      'before',
      'after',
    ]);
  }, 60_000);

  // With Redis down the cluster fan-out fails (best-effort by design); the send must not.
  test('messages sent while Redis is down are accepted and stored', async () => {
    const anon = new ApiClient(t.baseUrl);
    const user = await registerUser(anon, 'sender');
    const channelId = (await user.api.post('/channels', { name: 'outage', type: 'private' })).body
      .id as string;
    await redis.kill();
    const sent = await user.api.post(`/channels/${channelId}/messages`, {
      clientMsgId: 'during',
      content: 'while redis is down',
    });
    expectStatus(sent, 201);
    await redis.start();
    expect(await eventually(async () => (await readyz(t.baseUrl)).status === 200, 20_000)).toBe(
      true,
    );
    const page = await user.api.get(`/channels/${channelId}/messages`);
    expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual([
      'while redis is down',
    ]);
  }, 60_000);
});

describe('PostgreSQL unreachable', () => {
  let relay: TcpRelay;
  let t: TestApp;
  let dropDatabase: () => Promise<void>;

  beforeAll(async () => {
    const database = await createTestDatabase('deps_pg');
    dropDatabase = database.drop;
    const url = new URL(database.url);
    relay = new TcpRelay(await freePort(), Number(url.port));
    await relay.restore();
    url.port = String(relay.port);
    t = await startTestApp({ DATABASE_URL: url.toString() }, 'deps_pg');
  });
  afterAll(async () => {
    await relay.cut();
    await t?.stop();
    await dropDatabase?.();
  });

  test('requests answer UNAVAILABLE (never INTERNAL), readyz is 503, and service resumes with the data intact', async () => {
    const anon = new ApiClient(t.baseUrl);
    const user = await registerUser(anon, 'patient');
    const channelId = (await user.api.post('/channels', { name: 'patient', type: 'private' })).body
      .id as string;
    expectStatus(
      await user.api.post(`/channels/${channelId}/messages`, {
        clientMsgId: 'before',
        content: 'before the cut',
      }),
      201,
    );

    await relay.cut();
    // Authenticated, anonymous, reads and writes: all say "retry later".
    expectError(await user.api.get('/users/me'), 'UNAVAILABLE');
    expectError(
      await user.api.post(`/channels/${channelId}/messages`, {
        clientMsgId: 'during',
        content: 'during the cut',
      }),
      'UNAVAILABLE',
    );
    expectError(await user.api.get(`/channels/${channelId}/messages`), 'UNAVAILABLE');
    expectError(
      await anon.post('/auth/login', { login: user.username, password: 'correct horse battery' }),
      'UNAVAILABLE',
    );
    const down = await readyz(t.baseUrl);
    expect(down.status).toBe(503);
    expect(down.checks.postgres).not.toBe('ok');

    await relay.restore();
    expect(await eventually(async () => (await readyz(t.baseUrl)).status === 200, 20_000)).toBe(
      true,
    );
    expectStatus(await user.api.get('/users/me'), 200);
    // The send refused during the cut can simply be retried; nothing was half-written.
    expectStatus(
      await user.api.post(`/channels/${channelId}/messages`, {
        clientMsgId: 'during',
        content: 'during the cut',
      }),
      201,
    );
    const page = await user.api.get(`/channels/${channelId}/messages`);
    expect(
      page.body.messages.map((m: { seq: number; clientMsgId: string }) => [m.seq, m.clientMsgId]),
    ).toEqual([
      [1, 'before'],
      [2, 'during'],
    ]);
  }, 60_000);
});
