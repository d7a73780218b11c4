/**
 * The hand-wired peer: what a team builds instead of Signalink when it wants messages saved.
 * Vanilla Socket.IO 4.8 with the same @socket.io/redis-streams-adapter settings as the
 * gateway, plus one INSERT into PostgreSQL per message before the broadcast and the ack. No
 * per-channel seq, no idempotency, no outbox, no rate limits, no catch-up after a reconnect.
 *
 * Env: PORT, REDIS_URL, REDIS_KEY_PREFIX, DATABASE_URL. Serves /healthz and /readyz.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 0);
const prefix = process.env.REDIS_KEY_PREFIX ?? 'handwired:';
const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 2 });
// Idle connections kept as long as Signalink keeps them (DATABASE_POOL_IDLE_TIMEOUT_MS): with
// pg's 10 s default the pool empties between interleaved steps and every step starts cold.
const db = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: 10,
  idleTimeoutMillis: 600_000,
});
await db.query(`create table if not exists messages (
  id bigserial primary key, channel_id uuid not null, sender_id uuid not null,
  client_msg_id text not null, content text not null, created_at timestamptz not null default now())`);

const http = createServer((req, res) => {
  const ok = req.url === '/healthz' || req.url === '/readyz';
  res.writeHead(ok ? 200 : 404).end(ok ? 'ok' : 'not found');
});
const io = new Server(http, {
  serveClient: false,
  transports: ['websocket', 'polling'],
  maxHttpBufferSize: 64 * 1024,
  pingInterval: 25_000,
  pingTimeout: 20_000,
  adapter: createAdapter(redis, {
    streamName: `${prefix}socket.io`,
    maxLen: 50_000,
    readCount: 500,
    blockTimeInMs: 5000,
    channelPrefix: `${prefix}socket.io`,
    heartbeatInterval: 5000,
    heartbeatTimeout: 10_000,
    onlyPlaintext: true,
  }),
});

io.use((socket, next) => {
  const auth = socket.handshake.auth as { userId?: unknown; channelIds?: unknown };
  if (typeof auth.userId !== 'string' || !Array.isArray(auth.channelIds))
    return next(new Error('UNAUTHENTICATED'));
  socket.data = { userId: auth.userId, channelIds: new Set(auth.channelIds) };
  next();
});

io.on('connection', (socket) => {
  const me = socket.data as { userId: string; channelIds: Set<string> };
  socket.join([...me.channelIds].map((c) => `channel:${c}`));
  socket.on('message.send', async (p: Record<string, unknown> | null, ack: unknown) => {
    if (typeof ack !== 'function') return;
    const { channelId, clientMsgId, content } = p ?? {};
    if (typeof channelId !== 'string' || typeof clientMsgId !== 'string')
      return ack({ ok: false, error: { code: 'VALIDATION', message: 'bad payload' } });
    if (typeof content !== 'string' || !me.channelIds.has(channelId))
      return ack({ ok: false, error: { code: 'FORBIDDEN', message: 'not a member' } });
    try {
      const { rows } = await db.query<{ id: string; created_at: Date }>(
        `insert into messages (channel_id, sender_id, client_msg_id, content)
         values ($1, $2, $3, $4) returning id, created_at`,
        [channelId, me.userId, clientMsgId, content],
      );
      const message = {
        id: rows[0]!.id,
        channelId,
        seq: Number(rows[0]!.id),
        sender: { id: me.userId },
        content,
        clientMsgId,
        createdAt: rows[0]!.created_at.toISOString(),
      };
      io.to(`channel:${channelId}`).emit('message.new', message);
      ack({ ok: true, message });
    } catch {
      ack({ ok: false, error: { code: 'INTERNAL', message: 'could not save' } });
    }
  });
});

http.listen(port, '127.0.0.1');
const stop = () => {
  io.close();
  redis.disconnect();
  void db.end().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
