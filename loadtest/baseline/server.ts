/**
 * The baseline: vanilla Socket.IO 4.8 with the same @socket.io/redis-streams-adapter
 * settings as the Signalink gateway, and nothing else. No persistence, no token check (the
 * handshake simply names the user and the channels to join), no rate limits, no presence, no
 * ordering or recovery machinery. It speaks the same event names and message shape, so the
 * load generator drives both servers with identical code.
 *
 * Env: PORT, REDIS_URL, REDIS_KEY_PREFIX. Serves /healthz and /readyz for the harness.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 0);
const redisUrl = process.env.REDIS_URL;
const prefix = process.env.REDIS_KEY_PREFIX ?? 'baseline:';
if (!redisUrl) throw new Error('REDIS_URL is required');

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
const http = createServer((req, res) => {
  const ok = req.url === '/healthz' || req.url === '/readyz';
  res.writeHead(ok ? 200 : 404, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'not found');
});

// Same adapter and engine settings as services/gateway/server.ts, minus what only serves
// Signalink features (session keys for connection state recovery).
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

interface Identity {
  userId: string;
  channelIds: Set<string>;
}

// Per node and in memory: two nodes hand out overlapping seqs, and a restart starts over.
const seqs = new Map<string, number>();

io.use((socket, next) => {
  const auth = socket.handshake.auth as { userId?: unknown; channelIds?: unknown };
  if (typeof auth.userId !== 'string' || !Array.isArray(auth.channelIds))
    return next(new Error('UNAUTHENTICATED'));
  const channelIds = auth.channelIds.filter((c): c is string => typeof c === 'string');
  socket.data = { userId: auth.userId, channelIds: new Set(channelIds) } satisfies Identity;
  next();
});

io.on('connection', (socket) => {
  const me = socket.data as Identity;
  socket.join([`user:${me.userId}`, ...[...me.channelIds].map((c) => `channel:${c}`)]);
  socket.on('message.send', (payload: unknown, ack: unknown) => {
    if (typeof ack !== 'function') return;
    const p = payload as { channelId?: unknown; clientMsgId?: unknown; content?: unknown } | null;
    if (
      !p ||
      typeof p.channelId !== 'string' ||
      typeof p.content !== 'string' ||
      typeof p.clientMsgId !== 'string'
    ) {
      return ack({ ok: false, error: { code: 'VALIDATION', message: 'bad payload' } });
    }
    if (!me.channelIds.has(p.channelId))
      return ack({ ok: false, error: { code: 'FORBIDDEN', message: 'not a member' } });
    const seq = (seqs.get(p.channelId) ?? 0) + 1;
    seqs.set(p.channelId, seq);
    const message = {
      id: randomUUID(),
      channelId: p.channelId,
      seq,
      sender: { id: me.userId, username: me.userId, displayName: me.userId },
      content: p.content,
      clientMsgId: p.clientMsgId,
      replyTo: null,
      createdAt: new Date().toISOString(),
      editedAt: null,
      deletedAt: null,
    };
    // Broadcast then ack, the order Signalink uses after its commit.
    io.to(`channel:${p.channelId}`).emit('message.new', message);
    ack({ ok: true, message });
  });
});

http.listen(port, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(
    `baseline listening on ${typeof address === 'object' && address ? address.port : port}\n`,
  );
});

const stop = () => {
  io.close();
  redis.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
