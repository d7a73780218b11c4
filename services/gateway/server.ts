import { randomUUID } from 'node:crypto';
import { Server, type Socket } from 'socket.io';
import {
  channelHeadsOf,
  channelIdsOf,
  shareAChannel,
  usersSharingAChannel,
} from '../chat/access.js';
import { AppError } from '../core/errors.js';
import { SessionRevocations } from '../core/auth/session-revocations.js';
import type { RoleContext, RoleHandle } from '../role.js';
import { createStreamsAdapter } from './adapter.js';
import { Broadcaster } from './broadcast.js';
import type { PresenceChange } from './presence.js';
import { SocketEvents, type HandlerRuntime, type SocketIdentity } from './handlers.js';
import { RedisFleetConnections } from './fleet.js';
import { createGatewayMetrics } from './metrics.js';
import { Rebalancer } from './rebalancer.js';
import { channelRoom, sessionRoom, userRoom } from './rooms.js';
import {
  callSignalPayload,
  deletePayload,
  editPayload,
  presencePayload,
  presenceQueryPayload,
  readPayload,
  sendPayload,
  syncPayload,
  typingPayload,
} from './schemas.js';
import { ChannelSequencer } from './sequencer.js';
import { closeSessionSockets } from './sessions.js';
import { StreamLagMonitor } from './stream-lag.js';
import { MemoryTyping, RedisTyping, TYPING_TTL_MS, type TypingStore } from './typing.js';

const HEAD_CHECK_MS = 5000;
/** How often a node checks its sockets' sessions against PostgreSQL, should an end be missed. */
const SESSION_CHECK_MS = 5000;
const NOTICE_BEFORE_DISCONNECT_MS = 500;

/** What the handshake read for the connection handler; dropped once that has run. */
interface HandshakeResult {
  /** The user's channels and their heads when the handshake read them. */
  channels: { channelId: string; lastSeq: number }[];
  /** Set when this socket brought its user online. */
  presenceChange?: PresenceChange | undefined;
}

/** Starts the Socket.IO gateway on the process's shared HTTP server. */
export async function startGateway(ctx: RoleContext): Promise<RoleHandle> {
  const { config, log, db } = ctx;
  const metrics = createGatewayMetrics(ctx.metrics);
  const heartbeatMs = ctx.presence.ttlMs / 3;
  const sweepMs = Math.min(5000, ctx.presence.ttlMs / 2);
  const inflight = { count: 0 };
  const rt: HandlerRuntime = { log, metrics, inflight };
  let draining = false;
  // Work started by events rather than awaited by anyone: failures are logged, and shutdown
  // waits for it so it never runs against closed connections.
  const pending = new Set<Promise<unknown>>();
  const background = (what: string, work: Promise<unknown>) => {
    const tracked = work.catch((err: unknown) => log.warn({ err }, `${what} failed`));
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
  };

  const cluster = config.redisUrl
    ? createStreamsAdapter(config, log, 'gateway-adapter')
    : undefined;

  const io = new Server(ctx.http.server, {
    serveClient: false,
    transports: ['websocket', 'polling'],
    maxHttpBufferSize: config.gateway.maxPayloadBytes,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    cors: config.corsOrigins.length > 0 ? { origin: config.corsOrigins } : { origin: false },
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false },
    ...(cluster ? { adapter: cluster.adapter } : {}),
  });

  const sequencer = new ChannelSequencer({
    deliver: (channelId, messages) => {
      const room = channelRoom(channelId);
      const listeners = io.of('/').adapter.rooms.get(room)?.size ?? 0;
      for (const m of messages) io.local.to(room).emit('message.new', m);
      metrics.messagesDelivered.inc(listeners * messages.length);
      if (listeners > 0) {
        // Clocks of pods differ a little; a message never arrives before it was stored.
        const now = Date.now();
        for (const m of messages)
          metrics.deliveryLatency.observe(Math.max(0, now - Date.parse(m.createdAt)) / 1000);
      }
    },
    fetchHead: async (channelId) => (await ctx.messages.heads([channelId]))[0]?.lastSeq ?? 0,
    fetchRange: (channelId, afterSeq, beforeSeq) =>
      ctx.messages.range(channelId, afterSeq, beforeSeq),
    onGapFilled: (channelId, count) => {
      metrics.gapFills.inc(count);
      log.debug({ channelId, count }, 'delivery gap filled from the database');
    },
    onError: (err) => log.warn({ err }, 'could not read missing messages; will retry'),
  });
  const revocations = new SessionRevocations(ctx.refreshTokens);
  // A session ended (here, on another node, or found by the periodic check): refuse its tokens
  // at once and close its sockets on this node.
  const endLocalSession = (sessionId: string) => {
    revocations.markRevoked(sessionId);
    const closed = closeSessionSockets(io, sessionId);
    if (closed > 0) {
      metrics.sessionSocketsClosed.inc(closed);
      log.info({ sessionId, sockets: closed }, 'closed the sockets of an ended session');
    }
  };
  const broadcaster = new Broadcaster(io, sequencer, cluster !== undefined, log, endLocalSession);
  const stopListening = ctx.refreshTokens.onFamilyRevoked((sessionId) =>
    broadcaster.sessionEnded(sessionId),
  );
  // Rooms joined later (membership changes from any node) start ordering from the database;
  // an emptied room stops being tracked.
  const roomChannel = (room: unknown) =>
    typeof room === 'string' && room.startsWith('channel:') ? room.slice(8) : undefined;
  io.of('/').adapter.on('create-room', (room: unknown) => {
    const channelId = roomChannel(room);
    if (channelId) sequencer.startFromDatabase(channelId);
  });
  io.of('/').adapter.on('delete-room', (room: unknown) => {
    const channelId = roomChannel(room);
    if (channelId) sequencer.forget(channelId);
  });
  ctx.fanout.attach(broadcaster);
  const typing: TypingStore = ctx.redis
    ? new RedisTyping(ctx.redis, config.redisKeyPrefix)
    : new MemoryTyping();
  const typingTimers = new Map<string, NodeJS.Timeout>();

  const announcePresence = async (change: PresenceChange | undefined) => {
    if (!change) return;
    const channelIds = await channelIdsOf(db, change.userId);
    broadcaster.presenceChanged(change, channelIds);
    ctx.events.presenceChanged(change);
  };

  const handshakes = new WeakMap<Socket, HandshakeResult>();
  io.use(async (socket, next) => {
    if (draining) return next(new Error('UNAVAILABLE'));
    try {
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      const claims = await ctx.accessTokens.verify(auth?.token);
      if (await revocations.isRevoked(claims.sessionId))
        throw new AppError('UNAUTHENTICATED', 'session revoked');
      const data: SocketIdentity = {
        ...claims,
        // Sub-millisecond, so two devices of a user connecting in the same millisecond still
        // have an oldest one (the one evicted beyond MAX_CONNECTIONS_PER_USER).
        connectedAt: performance.timeOrigin + performance.now(),
      };
      const result: HandshakeResult = { channels: await channelHeadsOf(db, claims.userId) };
      // Registered before the client sees the connection, so a device that connects and then
      // sees another one leave never reads as offline in between. Redis trouble must not refuse
      // the connection: the heartbeat registers the socket once Redis answers again.
      try {
        result.presenceChange = await ctx.presence.connect(claims.userId, socket.id);
      } catch (presenceErr) {
        log.warn({ err: presenceErr }, 'presence update failed');
      }
      socket.data = data;
      handshakes.set(socket, result);
      // Nothing reads the bearer token after this; held for the socket's life it would cost
      // about 350 bytes per connection and put live credentials into every heap dump.
      delete (socket.handshake.auth as { token?: unknown }).token;
      next();
    } catch (err) {
      if (err instanceof AppError && err.code === 'UNAUTHENTICATED') {
        metrics.authFailures.inc();
        return next(new Error('UNAUTHENTICATED'));
      }
      log.warn({ err }, 'handshake failed');
      next(new Error('UNAVAILABLE'));
    }
  });

  const enforceConnectionLimit = async (userId: string) => {
    const sockets = await io.in(userRoom(userId)).fetchSockets();
    const excess = sockets.length - config.limits.connectionsPerUser;
    if (excess <= 0) return;
    const oldest = sockets
      .sort(
        (a, b) => (a.data as SocketIdentity).connectedAt - (b.data as SocketIdentity).connectedAt,
      )
      .slice(0, excess);
    for (const s of oldest) {
      // The reason tells clients not to reconnect, or six devices would evict each other forever.
      s.emit('server.draining', { reconnectInMs: -1, reason: 'too_many_connections' });
      // With connection state recovery every emit is written to the Redis stream before it is
      // sent, so an immediate disconnect would overtake the notice.
      setTimeout(() => s.disconnect(true), NOTICE_BEFORE_DISCONNECT_MS).unref();
    }
  };

  const events = new SocketEvents(rt);
  events.on('message.send', sendPayload, async (p, me, socket) => {
    const started = process.hrtime.bigint();
    const { message, created } = await ctx.messages.send(
      me.userId,
      {
        channelId: p.channelId,
        clientMsgId: p.clientMsgId,
        content: p.content,
        replyTo: p.replyTo ?? undefined,
      },
      // The socket's rooms follow membership changes on every node (Broadcaster), so being
      // in the channel's room means being a member, bar a change still on its way.
      { knownMember: socket.rooms.has(channelRoom(p.channelId)) },
    );
    metrics.messagesSent.inc({ result: created ? 'created' : 'duplicate' });
    metrics.sendLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return { message };
  });
  events.on('message.edit', editPayload, async (p, me) => ({
    message: await ctx.messages.edit(me.userId, p.messageId, p.content),
  }));
  events.on('message.delete', deletePayload, async (p, me) => {
    await ctx.messages.remove(me.userId, p.messageId);
  });
  events.on('message.read', readPayload, async (p, me) => ({
    seq: await ctx.messages.markRead(me.userId, p.channelId, p.seq),
  }));
  events.on('channel.sync', syncPayload, async (p, me) => {
    metrics.syncs.inc();
    return ctx.messages.page(me.userId, p.channelId, { afterSeq: p.afterSeq, limit: p.limit });
  });
  events.on('typing.start', typingPayload, async (p, me) => {
    // Keystroke bursts past the limit are dropped quietly: typing is best-effort by nature.
    try {
      await ctx.limits.consume('typing', me.userId);
    } catch {
      return;
    }
    await ctx.messages.requireMember(me.userId, p.channelId);
    const result = await typing.start(p.channelId, me.userId);
    if (result.changed) broadcaster.typingChanged(p.channelId, result.userIds);
    scheduleTypingExpiry(p.channelId);
  });
  events.on('typing.stop', typingPayload, async (p, me) => {
    await ctx.messages.requireMember(me.userId, p.channelId);
    const result = await typing.stop(p.channelId, me.userId);
    if (result.changed) broadcaster.typingChanged(p.channelId, result.userIds);
  });
  events.on('presence.set', presencePayload, async (p, me) => {
    await announcePresence(await ctx.presence.setStatus(me.userId, p.status));
  });
  events.on('presence.get', presenceQueryPayload, async (p, me) => {
    const visible = await usersSharingAChannel(db, me.userId, p.userIds);
    return { presence: await ctx.presence.get(visible) };
  });
  events.on('call.signal', callSignalPayload, async (p, me) => {
    if (p.toUserId === me.userId || !(await shareAChannel(db, me.userId, p.toUserId))) {
      throw new AppError('FORBIDDEN', 'you can only signal users you share a channel with');
    }
    io.to(userRoom(p.toUserId)).emit('call.signal', {
      fromUserId: me.userId,
      kind: p.kind,
      data: p.data,
    });
  });

  io.on('connection', (socket: Socket) => {
    const data = socket.data as SocketIdentity;
    const handshake = handshakes.get(socket) ?? { channels: [] };
    handshakes.delete(socket);
    metrics.connections.inc();
    metrics.connectionsTotal.inc({ recovered: String(socket.recovered) });
    // Ordering starts at the heads read during the handshake; what committed earlier the client
    // gets from its sync on connect.
    for (const c of handshake.channels) sequencer.startAt(c.channelId, c.lastSeq);
    socket.join([
      userRoom(data.userId),
      sessionRoom(data.sessionId),
      ...handshake.channels.map((c) => channelRoom(c.channelId)),
    ]);
    log.debug(
      { socketId: socket.id, userId: data.userId, recovered: socket.recovered },
      'socket connected',
    );

    const { presenceChange } = handshake;
    if (presenceChange) background('presence update', announcePresence(presenceChange));
    background('connection limit check', enforceConnectionLimit(data.userId));

    events.attach(socket);

    socket.on('disconnect', (reason) => {
      metrics.connections.dec();
      rebalancer?.forget(socket.id);
      log.debug({ socketId: socket.id, userId: data.userId, reason }, 'socket disconnected');
      background(
        'presence update',
        ctx.presence.disconnect(data.userId, socket.id).then(announcePresence),
      );
    });

    // The session ended while this handshake was under way, after its announcement had found
    // no socket of it here to close.
    if (revocations.knownRevoked(data.sessionId)) endLocalSession(data.sessionId);
  });

  function scheduleTypingExpiry(channelId: string): void {
    clearTimeout(typingTimers.get(channelId));
    typingTimers.set(
      channelId,
      setTimeout(() => {
        typingTimers.delete(channelId);
        background(
          'typing expiry',
          typing.expire(channelId).then((r) => {
            if (r.changed) broadcaster.typingChanged(channelId, r.userIds);
            if (r.userIds.length > 0) scheduleTypingExpiry(channelId);
          }),
        );
      }, TYPING_TTL_MS + 100),
    );
  }

  const localSockets = () => [...io.of('/').sockets.values()];
  const timers = [
    setInterval(() => {
      const live = localSockets().map((s) => ({
        userId: (s.data as SocketIdentity).userId,
        socketId: s.id,
      }));
      background('presence heartbeat', ctx.presence.heartbeat(live));
    }, heartbeatMs),
    setInterval(() => {
      background(
        'presence sweep',
        ctx.presence.sweep().then((changes) => Promise.all(changes.map(announcePresence))),
      );
    }, sweepMs),
    // Catches anything a broadcast never brought (adapter overrun, Redis hiccup): compare the
    // channels' committed heads with what this node delivered.
    setInterval(() => {
      background('head check', checkHeads());
    }, HEAD_CHECK_MS),
    // Sessions end with an announcement through Redis PUB/SUB, which a node misses while its
    // subscriber reconnects; this finds those within seconds all the same.
    setInterval(() => {
      background('session check', checkSessions());
    }, SESSION_CHECK_MS),
  ];
  for (const t of timers) t.unref();

  async function checkHeads(): Promise<void> {
    const channels = sequencer.trackedChannels().filter((id) => broadcaster.hasLocalListeners(id));
    for (let i = 0; i < channels.length; i += 1000) {
      const heads = await ctx.messages.heads(channels.slice(i, i + 1000));
      for (const { channelId, lastSeq } of heads) sequencer.catchUp(channelId, lastSeq);
    }
  }

  async function checkSessions(): Promise<void> {
    const sessionIds = [
      ...new Set(localSockets().map((s) => (s.data as SocketIdentity).sessionId)),
    ];
    for (let i = 0; i < sessionIds.length; i += 1000) {
      const revoked = await ctx.refreshTokens.revokedAmong(sessionIds.slice(i, i + 1000));
      for (const sessionId of revoked) endLocalSession(sessionId);
    }
  }

  const lagMonitor = cluster
    ? new StreamLagMonitor(io, cluster.redis, cluster.streamName, {
        onLag: (seconds) => metrics.adapterLag.set(seconds),
        onOverrun: () => {
          metrics.adapterOverruns.inc();
          log.warn(
            { stream: cluster.streamName },
            'this node fell behind the Redis stream past maxLen; catching up from PostgreSQL',
          );
          background('head check', checkHeads());
        },
      })
    : undefined;
  lagMonitor?.start();

  // With one node (the memory engine) there is no fleet to balance against.
  const rebalancer =
    cluster && config.gateway.rebalance.intervalMs > 0
      ? new Rebalancer({
          nodeId: randomUUID(),
          fleet: new RedisFleetConnections(cluster.redis, config.redisKeyPrefix),
          settings: config.gateway.rebalance,
          log,
          sockets: () =>
            localSockets().map((s) => ({
              id: s.id,
              connectedAt: (s.data as SocketIdentity).connectedAt,
            })),
          shed: (socketId, reconnectInMs) => {
            const s = io.of('/').sockets.get(socketId);
            if (!s || draining) return;
            s.emit('server.draining', { reconnectInMs, reason: 'rebalance' });
            setTimeout(() => s.disconnect(true), NOTICE_BEFORE_DISCONNECT_MS).unref();
          },
          onPlan: ({ average, nodes }) => {
            metrics.fleetAverage.set(average);
            metrics.fleetNodes.set(nodes);
          },
          onShed: (count) => metrics.rebalanceShed.inc(count),
        })
      : undefined;
  rebalancer?.start();

  log.info(
    {
      engine: cluster ? 'redis-streams' : 'memory',
      stream: cluster?.streamName,
      maxLen: config.gateway.streamMaxLen,
    },
    'gateway ready',
  );

  return {
    drain: async (deadline) => {
      draining = true;
      await rebalancer?.stop();
      const sockets = localSockets();
      const spreadMs = Math.min(2000, Math.max(0, (deadline - Date.now()) / 4));
      for (const s of sockets)
        s.emit('server.draining', { reconnectInMs: Math.round(Math.random() * spreadMs) });
      // Give clients time to move on their own, then close whatever is left.
      const graceUntil = Math.min(deadline, Date.now() + spreadMs + 2000);
      while (Date.now() < graceUntil && (io.of('/').sockets.size > 0 || inflight.count > 0))
        await sleep(50);
      while (Date.now() < deadline && inflight.count > 0) await sleep(50);
      io.local.disconnectSockets(true);
    },
    stop: async () => {
      await rebalancer?.stop();
      stopListening();
      for (const t of timers) clearInterval(t);
      for (const t of typingTimers.values()) clearTimeout(t);
      lagMonitor?.stop();
      sequencer.stop();
      io.local.disconnectSockets(true);
      io.engine.close();
      // Let presence updates of the sockets just closed finish while Redis and PostgreSQL are up.
      await Promise.race([Promise.allSettled([...pending]), sleep(2000)]);
      io.of('/').adapter.close();
      cluster?.disconnect();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
