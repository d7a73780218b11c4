import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { CatchUp } from './catch-up.js';
import { SignalinkError } from './client-error.js';
import { newClientMsgId } from './client-msg-id.js';
import { Listeners } from './listeners.js';
import {
  PendingSends,
  backoffMs,
  retryDecision,
  type PendingSend,
  type WireError,
} from './pending-sends.js';
import {
  ackSchema,
  messagePageSchema,
  messageSchema,
  presenceListSchema,
  serverEventSchemas,
  type CallSignal,
  type CallSignalKind,
  type ChannelMembershipEvent,
  type DrainingNotice,
  type Message,
  type ServerEventPayload,
  type PresenceUpdate,
  type ReceiptUpdate,
  type ServerEventName,
  type TypingUpdate,
} from './protocol.js';
import type { TokenSource } from './rest.js';
import { SeqTracker } from './seq-tracker.js';

export interface SignalinkClientOptions {
  /** Server base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** An access token, or a source that can also refresh it (SignalinkRest is one). */
  token: string | TokenSource;
  /** How long one attempt waits for its ack before it counts as lost (default 5000). */
  ackTimeoutMs?: number;
  /**
   * How long connect() waits for the first connection before it gives up and closes the client
   * (default 20000); 0 waits as long as it takes (an app that should outlast an outage).
   */
  connectTimeoutMs?: number;
  /** Messages per channel.sync page (default 200, the contract's maximum). */
  syncPageSize?: number;
  /** Socket.IO reconnection backoff (defaults 500 and 5000 ms). */
  reconnectionDelayMs?: number;
  reconnectionDelayMaxMs?: number;
  /**
   * Sends to one channel go one at a time, so the server stores them in the order they were
   * made, even when several wait out a disconnection (default true). Turning it off lets a
   * load generator pipeline sends; their order is then up to the server.
   */
  orderedSends?: boolean;
  /** How long a message acked ahead of a missing one waits for the live event before a sync (default 1000). */
  gapGraceMs?: number;
  /** Passed through to socket.io-client (e.g. `path`). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ConnectionChange {
  /** True when Socket.IO restored the previous session (missed packets were replayed). */
  recovered: boolean;
  /** Why the connection went down, as Socket.IO reports it. */
  reason?: string;
}

export interface ClientEvents {
  /** A new message, once per seq and in seq order per channel (own sends included). */
  message: (message: Message) => void;
  /** An edit or a deletion (deletedAt set, content empty). */
  messageUpdated: (message: Message) => void;
  receipt: (receipt: ReceiptUpdate) => void;
  typing: (typing: TypingUpdate) => void;
  presence: (presence: PresenceUpdate) => void;
  channelJoined: (event: ChannelMembershipEvent) => void;
  channelLeft: (event: ChannelMembershipEvent) => void;
  callSignal: (signal: CallSignal) => void;
  draining: (notice: DrainingNotice) => void;
  state: (state: ConnectionState, change: ConnectionChange) => void;
  /** After each (re)connection, once every tracked channel has been synced. */
  caughtUp: (channelIds: string[]) => void;
  /** Background failures (sync, malformed server payloads); nothing the caller awaited. */
  error: (error: Error) => void;
}

type Waiter = { resolve: (message: Message) => void; reject: (err: Error) => void };

/** See index.ts for the API overview. */
export class SignalinkClient {
  private readonly listeners = new Listeners<ClientEvents>();
  private readonly tracker = new SeqTracker<Message>();
  private readonly pending = new PendingSends();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly catchUpRunner: CatchUp<Message>;
  private readonly tokenSource: TokenSource | undefined;
  private readonly ackTimeoutMs: number;
  private socket: Socket | undefined;
  private current: ConnectionState = 'idle';
  private firstConnect: Promise<void> | undefined;
  private settleFirstConnect: ((err?: Error) => void) | undefined;
  private refreshedThisRound = false;
  private reconnectInMs: number | undefined;
  private drainReason: string | undefined;
  /** The server said this socket's session ended (logout elsewhere, refresh-token reuse). */
  private sessionEnded = false;
  private failedConnects = 0;

  constructor(private readonly options: SignalinkClientOptions) {
    this.tokenSource = typeof options.token === 'string' ? undefined : options.token;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    this.catchUpRunner = new CatchUp(
      this.tracker,
      (channelId, afterSeq) => this.fetchSyncPage(channelId, afterSeq),
      (messages) => this.deliver(messages),
    );
  }

  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void {
    return this.listeners.on(event, listener);
  }

  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): void {
    this.listeners.off(event, listener);
  }

  get state(): ConnectionState {
    return this.current;
  }

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  /** Resolves on the first connection; rejects with UNAUTHENTICATED, on close(), or after connectTimeoutMs. */
  connect(): Promise<void> {
    if (this.current === 'closed')
      return Promise.reject(new SignalinkError('UNAVAILABLE', 'client is closed'));
    if (this.firstConnect) return this.firstConnect;
    this.firstConnect = new Promise<void>((resolve, reject) => {
      const limitMs = this.options.connectTimeoutMs ?? 20000;
      const timer =
        limitMs > 0
          ? setTimeout(
              () =>
                finish(new SignalinkError('UNAVAILABLE', `could not connect within ${limitMs} ms`)),
              limitMs,
            )
          : undefined;
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.settleFirstConnect = undefined;
        if (err) {
          this.close();
          reject(err);
        } else resolve();
      };
      this.settleFirstConnect = finish;
    });
    const socket = io(this.options.url, {
      transports: ['websocket'],
      forceNew: true,
      autoConnect: false,
      reconnectionDelay: this.options.reconnectionDelayMs ?? 500,
      reconnectionDelayMax: this.options.reconnectionDelayMaxMs ?? 5000,
      auth: (cb) => cb({ token: this.currentToken() ?? '' }),
      ...this.options.socket,
    });
    this.socket = socket;
    socket.on('connect', () => this.onConnect());
    socket.on('disconnect', (reason) => this.onDisconnect(reason));
    socket.on('connect_error', (err) => this.onConnectError(err));
    for (const event of Object.keys(serverEventSchemas) as ServerEventName[]) {
      socket.on(event as string, (payload: unknown) => this.onServerEvent(event, payload));
    }
    this.setState('connecting', { recovered: false });
    socket.connect();
    return this.firstConnect;
  }

  /**
   * Sends a message; resolves with the stored message once acked. The clientMsgId is fixed
   * here and every retry (after an ack timeout, a disconnect, UNAVAILABLE or RATE_LIMITED)
   * reuses it, so the server stores the message once. Rejects on any other error or close().
   */
  send(
    channelId: string,
    content: string,
    options: { replyTo?: string | null; clientMsgId?: string } = {},
  ): Promise<Message> {
    if (this.current === 'closed')
      return Promise.reject(new SignalinkError('UNAVAILABLE', 'client is closed'));
    const clientMsgId = options.clientMsgId ?? newClientMsgId();
    const promise = new Promise<Message>((resolve, reject) => {
      const list = this.waiters.get(clientMsgId) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(clientMsgId, list);
    });
    const isNew = !this.pending.get(clientMsgId);
    this.pending.add({ channelId, clientMsgId, content, replyTo: options.replyTo ?? null });
    if (isNew) this.attemptSend(clientMsgId);
    return promise;
  }

  /** Sends not yet acknowledged, oldest first (for showing them as pending). */
  pendingSends(): readonly PendingSend[] {
    return this.pending.list();
  }

  async edit(messageId: string, content: string): Promise<Message> {
    const ack = await this.request('message.edit', { messageId, content });
    return messageSchema.parse(ack.message);
  }

  async delete(messageId: string): Promise<void> {
    await this.request('message.delete', { messageId });
  }

  /** Moves the read pointer forward; resolves with the pointer after the call when the server says. */
  async markRead(channelId: string, seq: number): Promise<number | undefined> {
    const ack = await this.request('message.read', { channelId, seq });
    return typeof ack.seq === 'number' ? ack.seq : undefined;
  }

  /** Current presence of users who share a channel with the caller (`presence.get` extension). */
  async presence(userIds: string[]): Promise<PresenceUpdate[]> {
    if (userIds.length === 0) return [];
    const ack = presenceListSchema.parse(await this.request('presence.get', { userIds }));
    return ack.presence.map((p) => ({ ...p, lastSeenAt: p.lastSeenAt ?? null }));
  }

  async typing(channelId: string, active: boolean): Promise<void> {
    await this.request(active ? 'typing.start' : 'typing.stop', { channelId });
  }

  async setPresence(status: 'online' | 'away'): Promise<void> {
    await this.request('presence.set', { status });
  }

  async callSignal(toUserId: string, kind: CallSignalKind, data: unknown): Promise<void> {
    await this.request('call.signal', { toUserId, kind, data });
  }

  /**
   * Declares that everything up to `seq` in the channel is already held (e.g. the newest
   * history page was loaded); later messages are delivered from there. Never moves backwards.
   */
  track(channelId: string, seq: number): void {
    this.deliver(this.tracker.track(channelId, seq));
  }

  /** The highest seq held for a channel, or undefined if the channel is not tracked. */
  lastSeq(channelId: string): number | undefined {
    return this.tracker.lastSeq(channelId);
  }

  /** Stops tracking a channel (left it, or no longer interested). */
  untrack(channelId: string): void {
    this.tracker.forget(channelId);
  }

  /** Syncs one tracked channel from its last seq until the server has nothing more. */
  sync(channelId: string): Promise<void> {
    return this.catchUpRunner.request(channelId);
  }

  /** Syncs every tracked channel; failures are reported through the `error` event. */
  async catchUp(): Promise<string[]> {
    const channelIds = this.tracker.channelIds();
    await Promise.all(
      channelIds.map((id) =>
        this.catchUpRunner.request(id).catch((err: unknown) => this.onSyncFailure(id, err)),
      ),
    );
    return channelIds;
  }

  /** Disconnects for good; pending sends reject. Safe to call more than once. */
  close(): void {
    this.shutDown(
      'closed by client',
      new SignalinkError('UNAVAILABLE', 'client closed before the send was acknowledged'),
    );
  }

  private shutDown(reason: string, pendingError: SignalinkError): void {
    if (this.current === 'closed') return;
    this.setState('closed', { recovered: false, reason });
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    for (const entry of this.pending.list()) this.rejectWaiters(entry.clientMsgId, pendingError);
    this.settleFirstConnect?.(new SignalinkError('UNAVAILABLE', 'client closed before connecting'));
  }

  private currentToken(): string | undefined {
    return typeof this.options.token === 'string'
      ? this.options.token
      : this.options.token.accessToken();
  }

  private setState(state: ConnectionState, change: ConnectionChange): void {
    this.current = state;
    this.listeners.emit('state', state, change);
  }

  private onConnect(): void {
    const socket = this.socket;
    if (!socket) return;
    this.refreshedThisRound = false;
    this.failedConnects = 0;
    this.reconnectInMs = undefined;
    this.setState('connected', { recovered: socket.recovered });
    this.settleFirstConnect?.();
    for (const entry of this.pending.waiting()) this.attemptSend(entry.clientMsgId);
    // Recovered or not, whatever was broadcast while the connection was down may be missing.
    void this.catchUp().then((ids) => {
      if (this.socket?.connected) this.listeners.emit('caughtUp', ids);
    });
  }

  private onDisconnect(reason: string): void {
    if (this.current === 'closed') return;
    if (this.sessionEnded) {
      // Its tokens are dead, so reconnecting (or refreshing) could only be refused: the user
      // has to sign in again.
      const err = new SignalinkError(
        'UNAUTHENTICATED',
        'signed out: the server ended this session (logged out or revoked)',
      );
      this.listeners.emit('error', err);
      this.shutDown('signed out', err);
      return;
    }
    this.pending.connectionLost();
    this.setState('reconnecting', { recovered: false, reason });
    // A server-side disconnect (drain, rebalance) is not retried by Socket.IO itself.
    if (reason === 'io server disconnect') {
      const hint = this.reconnectInMs ?? 0;
      if (hint < 0) {
        // The server asked this client to stay away (e.g. too many connections for the user);
        // reconnecting would only evict another of the user's devices.
        this.listeners.emit(
          'error',
          new SignalinkError(
            'UNAVAILABLE',
            `the server closed this connection for good (${this.drainReason ?? 'no reason given'})`,
          ),
        );
        this.close();
        return;
      }
      this.later(hint + Math.round(Math.random() * 500) + 100, () => this.socket?.connect());
    }
  }

  private onConnectError(err: Error): void {
    const socket = this.socket;
    if (!socket || this.current === 'closed') return;
    if (socket.active) return; // a transport failure: Socket.IO retries with its backoff
    if (err.message === 'UNAUTHENTICATED') {
      if (this.tokenSource && !this.refreshedThisRound) {
        this.refreshedThisRound = true;
        this.tokenSource.refresh().then(
          () => this.socket?.connect(),
          (refreshErr: unknown) => this.failAuthentication(refreshErr),
        );
        return;
      }
      this.failAuthentication(err);
      return;
    }
    // Refused by the server for another reason (too many connections, overloaded): retry later.
    this.failedConnects += 1;
    this.later(Math.max(250, backoffMs(this.failedConnects)), () => this.socket?.connect());
  }

  private failAuthentication(cause: unknown): void {
    const err =
      cause instanceof SignalinkError && cause.code !== 'UNAUTHENTICATED'
        ? cause
        : new SignalinkError(
            'UNAUTHENTICATED',
            'the server rejected the access token and no fresh one could be obtained',
          );
    if (err.code !== 'UNAUTHENTICATED') {
      // Refresh failed for a transient reason: keep trying to connect.
      this.failedConnects += 1;
      this.refreshedThisRound = false;
      this.later(Math.max(250, backoffMs(this.failedConnects)), () => this.socket?.connect());
      return;
    }
    if (this.settleFirstConnect) {
      this.settleFirstConnect(err);
      return;
    }
    this.listeners.emit('error', err);
    this.close();
  }

  private onServerEvent<E extends ServerEventName>(event: E, payload: unknown): void {
    const parsed = serverEventSchemas[event].safeParse(payload);
    if (!parsed.success) {
      this.listeners.emit(
        'error',
        new SignalinkError(
          'INTERNAL',
          `malformed ${event} payload from the server`,
          parsed.error.issues,
        ),
      );
      return;
    }
    (this.serverEventHandlers[event] as (data: ServerEventPayload<E>) => void)(
      parsed.data as ServerEventPayload<E>,
    );
  }

  private readonly serverEventHandlers: {
    [E in ServerEventName]: (data: ServerEventPayload<E>) => void;
  } = {
    'message.new': (message) => this.offer(message, 'live'),
    'message.updated': (message) => this.listeners.emit('messageUpdated', message),
    'receipt.update': (receipt) => this.listeners.emit('receipt', receipt),
    'typing.update': (typing) => this.listeners.emit('typing', typing),
    'presence.update': (presence) =>
      this.listeners.emit('presence', { ...presence, lastSeenAt: presence.lastSeenAt ?? null }),
    'channel.joined': (event) => {
      // Messages sent right after the join can race the room join on the server; tracking from
      // the head at join time and syncing closes that window.
      if (event.lastSeq !== undefined && !this.tracker.isTracked(event.channelId)) {
        this.track(event.channelId, event.lastSeq);
        void this.sync(event.channelId);
      }
      this.listeners.emit('channelJoined', event);
    },
    'channel.left': (event) => {
      this.tracker.forget(event.channelId);
      this.listeners.emit('channelLeft', event);
    },
    'call.signal': (signal) => this.listeners.emit('callSignal', signal),
    'server.draining': (notice) => {
      this.reconnectInMs = notice.reconnectInMs;
      this.drainReason = notice.reason;
      if (notice.reason === 'UNAUTHENTICATED') this.sessionEnded = true;
      this.listeners.emit('draining', notice);
    },
  };

  /**
   * Live events arrive in seq order, so a hole there means something was lost: sync now.
   * An ack races the live event for the same message, so a hole behind an ack gets a moment
   * to fill itself first.
   */
  private offer(message: Message, source: 'live' | 'ack'): void {
    const { deliver, gap } = this.tracker.offer(message);
    this.deliver(deliver);
    const channelId = message.channelId;
    if (!gap) {
      const timer = this.gapTimers.get(channelId);
      if (timer) clearTimeout(timer);
      this.gapTimers.delete(channelId);
      return;
    }
    if (source === 'live') {
      this.requestSync(channelId);
      return;
    }
    if (this.gapTimers.has(channelId)) return;
    const timer = setTimeout(() => {
      this.gapTimers.delete(channelId);
      if (this.tracker.hasGap(channelId)) this.requestSync(channelId);
    }, this.options.gapGraceMs ?? 1000);
    this.gapTimers.set(channelId, timer);
  }

  private requestSync(channelId: string): void {
    this.catchUpRunner
      .request(channelId)
      .catch((err: unknown) => this.onSyncFailure(channelId, err));
  }

  private onSyncFailure(channelId: string, err: unknown): void {
    if (err instanceof SignalinkError && (err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND')) {
      // No longer a member: nothing to catch up on.
      this.tracker.forget(channelId);
      return;
    }
    this.listeners.emit('error', err instanceof Error ? err : new Error(String(err)));
    // Transient: try again while connected; a reconnection syncs anyway.
    if (err instanceof SignalinkError && err.code === 'UNAVAILABLE') {
      this.later(1000, () => {
        if (this.socket?.connected) this.requestSync(channelId);
      });
    }
  }

  private deliver(messages: Message[]): void {
    for (const message of messages) this.listeners.emit('message', message);
  }

  private async fetchSyncPage(
    channelId: string,
    afterSeq: number,
  ): Promise<{ messages: Message[]; hasMore: boolean }> {
    const ack = await this.request('channel.sync', {
      channelId,
      afterSeq,
      limit: this.options.syncPageSize ?? 200,
    });
    return messagePageSchema.parse(ack);
  }

  private attemptSend(clientMsgId: string): void {
    const entry = this.pending.get(clientMsgId);
    const socket = this.socket;
    if (!entry || this.current === 'closed') return;
    const blocked =
      (this.options.orderedSends ?? true) && this.pending.headOf(entry.channelId) !== entry;
    if (!socket?.connected || blocked) {
      // Sent later: on (re)connection, or when the sends before it in its channel settle.
      this.pending.postpone(clientMsgId);
      return;
    }
    const attempt = this.pending.begin(clientMsgId);
    const payload = {
      channelId: entry.channelId,
      clientMsgId,
      content: entry.content,
      ...(entry.replyTo ? { replyTo: entry.replyTo } : {}),
    };
    socket
      .timeout(this.ackTimeoutMs)
      .emit('message.send', payload, (err: Error | null, ack: unknown) =>
        this.onSendAck(clientMsgId, attempt, err, ack),
      );
  }

  private onSendAck(
    clientMsgId: string,
    attempt: number,
    timeout: Error | null,
    ack: unknown,
  ): void {
    if (!this.pending.get(clientMsgId)) return; // an earlier attempt already settled it
    if (!timeout) {
      const parsed = ackSchema.safeParse(ack);
      if (parsed.success && parsed.data.ok) {
        const message = messageSchema.safeParse(parsed.data.message);
        if (message.success) {
          this.pending.settle(clientMsgId);
          this.offer(message.data, 'ack');
          for (const waiter of this.waiters.get(clientMsgId) ?? []) waiter.resolve(message.data);
          this.waiters.delete(clientMsgId);
          this.sendNextIn(message.data.channelId);
          return;
        }
      }
      if (!this.pending.isCurrent(clientMsgId, attempt)) return;
      const error: WireError =
        parsed.success && !parsed.data.ok
          ? parsed.data.error
          : { code: 'INTERNAL', message: 'malformed message.send ack' };
      const decision = retryDecision(error, attempt);
      if (!decision.retry) {
        this.rejectWaiters(clientMsgId, SignalinkError.from(error));
        return;
      }
      this.pending.postpone(clientMsgId, error);
      this.later(decision.delayMs, () => this.attemptSend(clientMsgId));
      return;
    }
    if (!this.pending.isCurrent(clientMsgId, attempt)) return;
    this.pending.postpone(clientMsgId, {
      code: 'UNAVAILABLE',
      message: `no ack within ${this.ackTimeoutMs} ms`,
    });
    this.attemptSend(clientMsgId); // not connected: waits for the connection instead
  }

  private rejectWaiters(clientMsgId: string, err: Error): void {
    const entry = this.pending.settle(clientMsgId);
    for (const waiter of this.waiters.get(clientMsgId) ?? []) waiter.reject(err);
    this.waiters.delete(clientMsgId);
    if (entry && this.current !== 'closed') this.sendNextIn(entry.channelId);
  }

  private sendNextIn(channelId: string): void {
    const next = this.pending.headOf(channelId);
    if (next?.state === 'waiting') this.attemptSend(next.clientMsgId);
  }

  private request(event: string, payload: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const socket = this.socket;
      if (!socket?.connected) {
        reject(new SignalinkError('UNAVAILABLE', `${event}: not connected`));
        return;
      }
      socket
        .timeout(this.ackTimeoutMs)
        .emit(event, payload, (timeout: Error | null, ack: unknown) => {
          if (timeout) {
            reject(
              new SignalinkError('UNAVAILABLE', `${event}: no ack within ${this.ackTimeoutMs} ms`),
            );
            return;
          }
          const parsed = ackSchema.safeParse(ack);
          if (!parsed.success) reject(new SignalinkError('INTERNAL', `${event}: malformed ack`));
          else if (parsed.data.ok) resolve(parsed.data);
          else reject(SignalinkError.from(parsed.data.error));
        });
    });
  }

  private later(delayMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.current !== 'closed') fn();
    }, delayMs);
    this.timers.add(timer);
  }
}
