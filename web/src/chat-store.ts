import {
  SignalinkClient,
  SignalinkError,
  newClientMsgId,
  type Channel,
  type ChannelForMember,
  type ConnectionState,
  type Member,
  type Message,
  type OwnUser,
  type PresenceStatus,
  type SignalinkRest,
} from '../../services/client/index.js';
import { mergeMessages, unreadCount } from './chat-model.js';

export interface PendingMessage {
  clientMsgId: string;
  content: string;
  /** Set when the server refused it for good; the user may retry or discard it. */
  error?: string;
}

export interface ChannelState {
  channel: ChannelForMember;
  members: Member[] | undefined;
  messages: Message[];
  historyLoaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  pending: PendingMessage[];
  typing: string[];
  /** Other members' read pointers seen since this page was opened. */
  readPointers: Map<string, number>;
}

export interface ChatState {
  me: OwnUser;
  channels: Map<string, ChannelState>;
  activeId: string | undefined;
  connection: ConnectionState;
  /** True once the first catch-up after a reconnection finished. */
  caughtUp: boolean;
  presence: Map<string, PresenceStatus>;
  notice: string | undefined;
  /** Set when the session ended (refresh refused): the app returns to sign-in. */
  signedOut: string | undefined;
}

const PAGE = 50;
const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The chat screen's state and everything that changes it: REST for lists and history, the SDK
 * for live events, ordered delivery, catch-up and sends. Views subscribe and re-render on change.
 */
export class ChatStore {
  readonly state: ChatState;
  readonly client: SignalinkClient;
  private readonly listeners = new Set<() => void>();
  private notifyQueued = false;
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly readTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly typingState = new Map<
    string,
    { sentAt: number; idle?: ReturnType<typeof setTimeout> }
  >();
  private readonly unsubscribe: (() => void)[] = [];
  private loaded = false;
  private reloads = 0;
  /** The channel a link asked for (an email digest's `?channel=`), opened once it is listed. */
  private linkedChannelId: string | undefined;

  constructor(
    readonly rest: SignalinkRest,
    me: OwnUser,
    private readonly isVisible: () => boolean = () => true,
  ) {
    this.state = {
      me,
      channels: new Map(),
      activeId: undefined,
      connection: 'idle',
      caughtUp: false,
      presence: new Map(),
      notice: undefined,
      signedOut: undefined,
    };
    // A page keeps trying for as long as it is open, however long the server is away.
    this.client = new SignalinkClient({ url: rest.baseUrl, token: rest, connectTimeoutMs: 0 });
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Coalesces bursts (a catch-up delivers many messages) into one render. */
  private changed(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const listener of this.listeners) listener();
    });
  }

  async start(options: { openChannelId?: string } = {}): Promise<void> {
    this.linkedChannelId = options.openChannelId;
    const c = this.client;
    this.unsubscribe.push(
      c.on('message', (m) => this.onMessage(m)),
      c.on('messageUpdated', (m) => this.onUpdated(m)),
      c.on('receipt', (r) => {
        const ch = this.state.channels.get(r.channelId);
        if (!ch) return;
        ch.readPointers.set(r.userId, Math.max(r.seq, ch.readPointers.get(r.userId) ?? 0));
        if (r.userId === this.state.me.id)
          ch.channel.lastReadSeq = Math.max(ch.channel.lastReadSeq, r.seq);
        this.changed();
      }),
      c.on('typing', (t) => {
        const ch = this.state.channels.get(t.channelId);
        if (!ch) return;
        ch.typing = t.userIds;
        this.changed();
      }),
      c.on('presence', (p) => {
        this.state.presence.set(p.userId, p.status);
        this.changed();
      }),
      c.on('channelJoined', () => this.scheduleReload()),
      c.on('channelLeft', ({ channelId }) => this.forgetChannel(channelId)),
      c.on('state', (state) => {
        const wasDown = this.state.connection === 'reconnecting';
        this.state.connection = state;
        if (state !== 'connected') this.state.caughtUp = false;
        // Memberships may have changed while away, or the first load may have failed.
        if (state === 'connected' && (wasDown || !this.loaded)) this.scheduleReload();
        this.changed();
      }),
      c.on('caughtUp', () => {
        this.state.caughtUp = true;
        this.changed();
      }),
      c.on('error', (err) => {
        if (err instanceof SignalinkError && err.code === 'UNAUTHENTICATED') {
          this.state.signedOut = 'Your session has ended. Please sign in again.';
          this.changed();
        }
      }),
    );
    const connected = c.connect();
    try {
      await this.loadChannels();
    } catch (err) {
      // Retried when the connection comes up.
      this.notify(`Could not load your channels: ${errorText(err)}`);
    }
    await connected;
    void this.refreshPresence();
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    for (const t of this.readTimers.values()) clearTimeout(t);
    for (const t of this.typingState.values()) clearTimeout(t.idle);
    clearTimeout(this.reloadTimer);
    this.client.close();
  }

  active(): ChannelState | undefined {
    return this.state.activeId ? this.state.channels.get(this.state.activeId) : undefined;
  }

  unread(ch: ChannelState): number {
    return unreadCount(ch.channel.lastSeq, ch.channel.lastReadSeq);
  }

  /** Display names of everyone this client has seen, for typing lines and receipts. */
  names(ch: ChannelState | undefined): Map<string, string> {
    const names = new Map<string, string>();
    for (const m of ch?.messages ?? [])
      names.set(m.sender.id, m.sender.displayName || m.sender.username);
    for (const m of ch?.members ?? []) names.set(m.userId, m.displayName || m.username);
    return names;
  }

  async loadChannels(): Promise<void> {
    const ticket = ++this.reloads;
    const list = await this.rest.channels();
    this.loaded = true;
    if (this.state.notice?.startsWith('Could not load your channels'))
      this.state.notice = undefined;
    const seen = new Set<string>();
    for (const channel of list) {
      seen.add(channel.id);
      const held = this.state.channels.get(channel.id);
      if (held) {
        // Counters only move forward: live events may be ahead of this response.
        held.channel = {
          ...channel,
          lastSeq: Math.max(channel.lastSeq, held.channel.lastSeq),
          lastReadSeq: Math.max(channel.lastReadSeq, held.channel.lastReadSeq),
        };
      } else {
        this.state.channels.set(channel.id, {
          channel,
          members: undefined,
          messages: [],
          historyLoaded: false,
          hasOlder: false,
          loadingOlder: false,
          pending: [],
          typing: [],
          readPointers: new Map(),
        });
      }
      // A new channel starts at lastSeq: everything before is history or counted as unread.
      // A tracked one is left to the SDK, whose catch-up may still be delivering messages
      // that this response already counts.
      if (this.client.lastSeq(channel.id) === undefined)
        this.client.track(channel.id, channel.lastSeq);
    }
    // An older list that arrives late must not drop a channel a newer one already added.
    if (ticket === this.reloads) {
      for (const id of [...this.state.channels.keys()]) if (!seen.has(id)) this.forgetChannel(id);
    }
    const linked = this.linkedChannelId;
    this.linkedChannelId = undefined;
    // A link to a channel the user is not (or no longer) in opens nothing.
    if (linked && this.state.channels.has(linked) && !this.state.activeId) void this.open(linked);
    this.changed();
    // Direct channels are named after the other person, so their members are needed up front.
    // One that fails stays nameless only until its next message (see onMessage).
    await Promise.allSettled(
      [...this.state.channels.values()]
        .filter((ch) => ch.channel.type === 'direct' && !ch.members)
        .map((ch) => this.loadMembers(ch.channel.id)),
    );
  }

  private scheduleReload(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      void this.loadChannels()
        .then(() => this.refreshPresence())
        .catch((err: unknown) => this.notify(`Could not refresh channels: ${errorText(err)}`));
    }, 100);
  }

  private forgetChannel(channelId: string): void {
    this.state.channels.delete(channelId);
    this.client.untrack(channelId);
    if (this.state.activeId === channelId) this.state.activeId = undefined;
    this.changed();
  }

  async loadMembers(channelId: string): Promise<void> {
    const ch = this.state.channels.get(channelId);
    if (!ch) return;
    ch.members = await this.rest.members(channelId);
    this.changed();
  }

  /** Initial presence dots (later changes arrive as events). */
  async refreshPresence(): Promise<void> {
    const ids = new Set<string>();
    for (const ch of this.state.channels.values())
      for (const m of ch.members ?? []) if (m.userId !== this.state.me.id) ids.add(m.userId);
    if (ids.size === 0 || !this.client.connected) return;
    try {
      for (const p of await this.client.presence([...ids].slice(0, 500)))
        this.state.presence.set(p.userId, p.status);
      this.changed();
    } catch {
      // Dots stay unknown until the next presence event; nothing else depends on them.
    }
  }

  async open(channelId: string): Promise<void> {
    const ch = this.state.channels.get(channelId);
    if (!ch) return;
    this.state.activeId = channelId;
    this.changed();
    const loads: Promise<unknown>[] = [];
    if (!ch.members) loads.push(this.loadMembers(channelId).then(() => this.refreshPresence()));
    if (!ch.historyLoaded) {
      loads.push(
        this.rest.history(channelId, { limit: PAGE }).then((page) => {
          // Live messages from before this page may be separated from it by a hole; older
          // pages bring them back in order.
          const oldest = page.messages[0]?.seq ?? 0;
          ch.messages = mergeMessages(
            ch.messages.filter((m) => m.seq >= oldest),
            page.messages,
          );
          ch.hasOlder = page.hasMore;
          ch.historyLoaded = true;
          const newest = page.messages.at(-1)?.seq ?? 0;
          ch.channel.lastSeq = Math.max(ch.channel.lastSeq, newest);
          this.client.track(channelId, newest);
          this.changed();
        }),
      );
    }
    try {
      await Promise.all(loads);
    } catch (err) {
      this.notify(`Could not load the channel: ${errorText(err)}`);
    }
    this.markReadSoon(channelId);
  }

  close(): void {
    this.state.activeId = undefined;
    this.changed();
  }

  async loadOlder(channelId: string): Promise<void> {
    const ch = this.state.channels.get(channelId);
    const oldest = ch?.messages[0]?.seq;
    if (!ch || !ch.hasOlder || ch.loadingOlder || oldest === undefined) return;
    ch.loadingOlder = true;
    this.changed();
    try {
      const page = await this.rest.history(channelId, { beforeSeq: oldest, limit: PAGE });
      ch.messages = mergeMessages(ch.messages, page.messages);
      ch.hasOlder = page.hasMore;
    } catch (err) {
      this.notify(`Could not load older messages: ${errorText(err)}`);
    } finally {
      ch.loadingOlder = false;
      this.changed();
    }
  }

  /** Shows the message as pending at once; the SDK retries it (same clientMsgId) until acked. */
  send(channelId: string, content: string, clientMsgId = newClientMsgId()): void {
    const ch = this.state.channels.get(channelId);
    if (!ch) return;
    const existing = ch.pending.find((p) => p.clientMsgId === clientMsgId);
    if (existing) existing.error = undefined;
    else ch.pending.push({ clientMsgId, content });
    this.typingStopped(channelId);
    this.changed();
    this.client.send(channelId, content, { clientMsgId }).then(
      (message) => this.onMessage(message),
      (err: unknown) => {
        const pending = ch.pending.find((p) => p.clientMsgId === clientMsgId);
        if (pending) pending.error = errorText(err);
        this.changed();
      },
    );
  }

  retry(channelId: string, clientMsgId: string): void {
    const pending = this.state.channels
      .get(channelId)
      ?.pending.find((p) => p.clientMsgId === clientMsgId);
    if (pending) this.send(channelId, pending.content, clientMsgId);
  }

  discard(channelId: string, clientMsgId: string): void {
    const ch = this.state.channels.get(channelId);
    if (!ch) return;
    ch.pending = ch.pending.filter((p) => p.clientMsgId !== clientMsgId);
    this.changed();
  }

  async edit(messageId: string, content: string): Promise<void> {
    this.onUpdated(await this.client.edit(messageId, content));
  }

  async remove(messageId: string): Promise<void> {
    await this.client.delete(messageId);
  }

  /** Called on every keystroke: typing.start at most every few seconds, typing.stop when idle. */
  typingInput(channelId: string): void {
    const now = Date.now();
    const t = this.typingState.get(channelId) ?? { sentAt: 0 };
    if (now - t.sentAt > TYPING_REPEAT_MS) {
      t.sentAt = now;
      this.client.typing(channelId, true).catch(() => {});
    }
    clearTimeout(t.idle);
    t.idle = setTimeout(() => this.typingStopped(channelId), TYPING_IDLE_MS);
    this.typingState.set(channelId, t);
  }

  typingStopped(channelId: string): void {
    const t = this.typingState.get(channelId);
    if (!t) return;
    clearTimeout(t.idle);
    this.typingState.delete(channelId);
    this.client.typing(channelId, false).catch(() => {});
  }

  async createChannel(input: {
    name?: string;
    type: Channel['type'];
    description?: string;
    memberIds?: string[];
  }): Promise<string> {
    const channel = await this.rest.createChannel(input);
    await this.loadChannels();
    await this.open(channel.id);
    return channel.id;
  }

  async join(channelId: string): Promise<void> {
    await this.rest.joinChannel(channelId);
    await this.loadChannels();
    await this.open(channelId);
  }

  async leave(channelId: string): Promise<void> {
    await this.rest.leaveChannel(channelId);
    this.forgetChannel(channelId);
  }

  async invite(channelId: string, userId: string): Promise<void> {
    await this.rest.addMember(channelId, userId);
    await this.loadMembers(channelId);
    await this.refreshPresence();
  }

  /** Marks what is shown as read, when the page is visible and the channel open. */
  markReadSoon(channelId: string): void {
    if (this.state.activeId !== channelId || !this.isVisible()) return;
    clearTimeout(this.readTimers.get(channelId));
    this.readTimers.set(
      channelId,
      setTimeout(() => {
        this.readTimers.delete(channelId);
        const ch = this.state.channels.get(channelId);
        if (!ch || ch.channel.lastReadSeq >= ch.channel.lastSeq) return;
        const seq = ch.channel.lastSeq;
        ch.channel.lastReadSeq = seq;
        this.changed();
        const request = this.client.connected
          ? this.client.markRead(channelId, seq)
          : this.rest.markRead(channelId, seq);
        request.catch(() => {});
      }, 250),
    );
  }

  notify(text: string | undefined): void {
    this.state.notice = text;
    this.changed();
  }

  private onMessage(m: Message): void {
    const ch = this.state.channels.get(m.channelId);
    if (!ch) {
      this.scheduleReload();
      return;
    }
    ch.messages = mergeMessages(ch.messages, [m]);
    ch.channel.lastSeq = Math.max(ch.channel.lastSeq, m.seq);
    if (m.sender.id === this.state.me.id) {
      ch.pending = ch.pending.filter((p) => p.clientMsgId !== m.clientMsgId);
      // Your own message is never unread.
      if (ch.channel.lastReadSeq === m.seq - 1) ch.channel.lastReadSeq = m.seq;
    }
    ch.typing = ch.typing.filter((id) => id !== m.sender.id);
    if (!ch.members && ch.channel.type === 'direct')
      void this.loadMembers(ch.channel.id).catch(() => {});
    this.changed();
    this.markReadSoon(m.channelId);
  }

  private onUpdated(m: Message): void {
    const ch = this.state.channels.get(m.channelId);
    if (!ch || !ch.messages.some((held) => held.seq === m.seq)) return;
    ch.messages = mergeMessages(ch.messages, [m]);
    this.changed();
  }
}
