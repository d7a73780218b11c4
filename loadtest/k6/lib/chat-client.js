// One chat client (one device of one user) as the scenarios drive it: a Socket.IO connection
// that tracks the last seq per channel, fills gaps and catches up through channel.sync after
// (re)connecting, measures delivery latency from the send time written into each message,
// optionally reconnects and resends with the same clientMsgId, and optionally writes the loss
// verifier's ledger.
import { SocketIoClient } from './socketio.js';
import { isoNow, writeLedger } from './ledger.js';
import { clearTimeout, setTimeout } from 'k6/timers';
import { delay } from './schedule.js';
import * as metrics from './metrics.js';

const SYNC_PAGE = 200;
// Send failures worth another attempt with the same clientMsgId (the server answers a resend
// of an accepted message with the original, so retrying can never duplicate).
const RETRYABLE = ['ACK_TIMEOUT', 'DISCONNECTED', 'UNAVAILABLE', 'INTERNAL', 'RATE_LIMITED'];

/** Message content carrying its send time, padded to about `bytes`. */
export function messageContent(clientMsgId, bytes) {
  const base = JSON.stringify({ t: Date.now(), id: clientMsgId });
  const padding = Math.max(0, (bytes || 0) - base.length - 9);
  return padding > 0
    ? JSON.stringify({ t: Date.now(), id: clientMsgId, pad: 'x'.repeat(padding) })
    : base;
}

/** The send time inside content written by messageContent, if it is one of ours. */
export function sentAtOf(content) {
  if (typeof content !== 'string' || content[0] !== '{') return undefined;
  try {
    const parsed = JSON.parse(content);
    return typeof parsed.t === 'number' ? parsed.t : undefined;
  } catch {
    return undefined;
  }
}

export class ChatClient {
  /**
   * options: baseUrl, user ({id, username, token, tokenAt}), tokens (a Tokens), channelIds,
   * receiver (a name stable across reconnects), ackTimeoutMs, connectTimeoutMs,
   * reconnect (reconnect after an unexpected close), giveUpMs (stop reconnecting after that
   * long down), ledger (write ledger records), fromSeq (seq each channel starts after).
   */
  constructor(options) {
    this.o = options;
    this.receiver = options.receiver;
    this.socket = undefined;
    this.stopped = false;
    this.reconnecting = false;
    this.handshakeAt = 0;
    this.waiters = [];
    this.channels = {};
    for (const channelId of options.channelIds) {
      const fromSeq = (options.fromSeq && options.fromSeq[channelId]) || 0;
      // last: every seq up to it is held; ahead: seqs held beyond a hole; liveMax: highest seq
      // the current socket got live; connectHead: what the catch-up after connecting reached.
      this.channels[channelId] = {
        last: fromSeq,
        ahead: {},
        liveMax: 0,
        connectHead: fromSeq,
        fromSeq,
        syncing: false,
      };
    }
    this.ownAcked = {};
    if (options.ledger)
      for (const channelId of options.channelIds)
        writeLedger({
          kind: 'receiver',
          receiver: this.receiver,
          user: options.user.id,
          channel: channelId,
          fromSeq: this.channels[channelId].fromSeq,
        });
  }

  get connected() {
    return this.socket !== undefined && this.socket.connected;
  }

  /** Connects and catches up. Rejects when the handshake fails (counted in the metrics). */
  async connect() {
    await this.open();
  }

  async open() {
    // A connection left half-open by a failed catch-up must not linger (and keep the VU alive).
    if (this.socket) {
      const stale = this.socket;
      this.socket = undefined;
      stale.close();
    }
    const started = Date.now();
    let token = this.o.tokens.get(this.o.user);
    let socket;
    for (let attempt = 0; ; attempt += 1) {
      socket = new SocketIoClient(
        this.o.baseUrl,
        { token },
        { connectTimeoutMs: this.o.connectTimeoutMs },
      );
      socket.on('message.new', (message) => this.onLive(socket, message));
      socket.onping = () => metrics.serverPings.add(1);
      try {
        await socket.ready;
        break;
      } catch (err) {
        // An expired token is renewed once; anything else is the caller's to handle.
        if (err.message === 'UNAUTHENTICATED' && attempt === 0) {
          token = this.o.tokens.refresh(this.o.user);
          continue;
        }
        metrics.connectFailed.add(true);
        throw err;
      }
    }
    this.handshakeAt = Date.now();
    metrics.connectFailed.add(false);
    metrics.connections.add(1);
    metrics.connectMs.add(this.handshakeAt - started);
    socket.onclose = (reason, byClient) => this.onClose(socket, reason, byClient);
    if (this.stopped) {
      socket.close();
      return;
    }
    this.socket = socket;
    for (const channelId of Object.keys(this.channels)) this.channels[channelId].liveMax = 0;
    await this.catchUp('connect');
    for (const channelId of Object.keys(this.channels)) {
      const ch = this.channels[channelId];
      ch.connectHead = Math.max(ch.last, ...Object.keys(ch.ahead).map(Number));
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
  }

  onLive(socket, message) {
    const ch = this.channels[message.channelId];
    if (!ch || typeof message.seq !== 'number') return;
    const now = Date.now();
    metrics.delivered.add(1);
    const sentAt = sentAtOf(message.content);
    if (sentAt !== undefined) metrics.deliveryMs.add(now - sentAt);
    if (this.o.ledger)
      writeLedger({
        kind: 'receipt',
        receiver: this.receiver,
        socket: socket.sid,
        user: this.o.user.id,
        channel: message.channelId,
        seq: message.seq,
        clientMsgId: message.clientMsgId,
        receivedAt: new Date(now).toISOString(),
        via: 'live',
      });
    if (message.seq <= ch.liveMax) metrics.orderViolations.add(1);
    else ch.liveMax = message.seq;
    this.accept(ch, message.seq);
    // A hole below a live message: what is missing is committed already, fetch it.
    if (Object.keys(ch.ahead).length > 0 && !ch.syncing)
      this.syncChannel(message.channelId, 'gap').catch(() => {});
  }

  /** Records a seq as held; false when it was held already. */
  accept(ch, seq) {
    if (seq <= ch.last || ch.ahead[seq]) return false;
    metrics.received.add(1);
    if (seq === ch.last + 1) {
      ch.last = seq;
      while (ch.ahead[ch.last + 1]) {
        delete ch.ahead[ch.last + 1];
        ch.last += 1;
      }
    } else ch.ahead[seq] = true;
    return true;
  }

  /** channel.sync from the last seq held until the server has no more. */
  async syncChannel(channelId, why) {
    const ch = this.channels[channelId];
    ch.syncing = true;
    try {
      let after = ch.last;
      for (;;) {
        if (!this.connected) throw new Error('DISCONNECTED');
        const res = await this.socket.request(
          'channel.sync',
          { channelId, afterSeq: after, limit: SYNC_PAGE },
          this.o.ackTimeoutMs,
        );
        if (!res || !res.ok) throw new Error((res && res.error && res.error.code) || 'BAD_ACK');
        for (const m of res.messages) {
          if (!this.accept(ch, m.seq)) continue;
          metrics.synced.add(1);
          if (why !== 'connect' && m.seq > ch.connectHead) metrics.lateViaSync.add(1);
          if (this.o.ledger)
            writeLedger({
              kind: 'receipt',
              receiver: this.receiver,
              socket: this.socket.sid,
              user: this.o.user.id,
              channel: channelId,
              seq: m.seq,
              clientMsgId: m.clientMsgId,
              receivedAt: isoNow(),
              via: 'sync',
            });
        }
        const lastInPage =
          res.messages.length > 0 ? res.messages[res.messages.length - 1].seq : after;
        if (!res.hasMore || lastInPage <= after) return;
        after = lastInPage;
      }
    } finally {
      ch.syncing = false;
    }
  }

  async catchUp(why) {
    for (const channelId of Object.keys(this.channels)) await this.syncChannel(channelId, why);
  }

  onClose(socket, reason, byClient) {
    if (socket !== this.socket) return;
    this.socket = undefined;
    if (this.stopped || byClient) return;
    metrics.socketDrops.add(1);
    if (this.o.reconnect && !this.reconnecting) this.reconnectLoop(Date.now()).catch(() => {});
  }

  /** Drops the connection as a network failure would, without stopping the client. */
  drop() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    socket.close();
  }

  /**
   * Reconnects with backoff after a drop. A scenario that drops clients itself passes the delay
   * before the first attempt (the client staying away); the reconnect and catch-up times then
   * start from that first attempt rather than from the drop.
   */
  async reconnectLoop(droppedAt, firstDelayMs) {
    this.reconnecting = true;
    const from = droppedAt + (firstDelayMs || 0);
    try {
      for (let attempt = 0; !this.stopped; attempt += 1) {
        const backoff =
          attempt === 0 && firstDelayMs !== undefined
            ? firstDelayMs
            : Math.min(5000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
        await delay(backoff);
        if (this.stopped) return;
        try {
          await this.open();
        } catch {
          // The catch-up may have failed on a connection that is still open: the next round
          // starts from a fresh one.
          if (this.socket) {
            const half = this.socket;
            this.socket = undefined;
            half.close();
          }
          if (Date.now() - droppedAt > (this.o.giveUpMs || 60000)) {
            metrics.reconnectGaveUp.add(1);
            this.stop();
            return;
          }
          continue;
        }
        metrics.reconnects.add(1);
        metrics.reconnectMs.add(this.handshakeAt - from);
        metrics.catchupMs.add(Date.now() - from);
        return;
      }
    } finally {
      this.reconnecting = false;
    }
  }

  /** Resolves once connected (and caught up), or rejects after `timeoutMs` / when stopped. */
  whenConnected(timeoutMs) {
    if (this.connected) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error('STOPPED'));
    return new Promise((resolve, reject) => {
      // The timer is cleared on success: a pending timer would keep the k6 iteration alive.
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(
        () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new Error('NOT_CONNECTED'));
        },
        Math.max(0, timeoutMs),
      );
      this.waiters.push(waiter);
    });
  }

  /** One attempt at message.send: `{ok, message}` or `{ok: false, code, retryAfterMs}`. */
  async sendOnce(channelId, clientMsgId, content) {
    if (!this.connected) return { ok: false, code: 'DISCONNECTED' };
    const started = Date.now();
    let res;
    try {
      res = await this.socket.request(
        'message.send',
        { channelId, clientMsgId, content },
        this.o.ackTimeoutMs,
      );
    } catch (err) {
      return { ok: false, code: err.message };
    }
    if (res && res.ok) {
      metrics.ackMs.add(Date.now() - started);
      this.recordAck(channelId, clientMsgId, res.message);
      return { ok: true, message: res.message };
    }
    const error = (res && res.error) || {};
    return {
      ok: false,
      code: error.code || 'BAD_ACK',
      retryAfterMs: error.details && error.details.retryAfterMs,
    };
  }

  /** Sends once and counts the outcome (scenarios without retries). */
  async send(channelId, clientMsgId, content) {
    const result = await this.sendOnce(channelId, clientMsgId, content);
    metrics.sendFailed.add(!result.ok);
    if (!result.ok && this.o.ledger) this.recordUnacked(channelId, clientMsgId, result.code);
    return result;
  }

  /**
   * Sends until acked: retryable failures are retried with the same clientMsgId (waiting for a
   * reconnect when the connection is down) until `giveUpAt`; then the send is recorded as
   * unacked, since the client cannot know whether the server stored it.
   */
  async sendReliably(channelId, clientMsgId, content, giveUpAt) {
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const result = await this.sendOnce(channelId, clientMsgId, content);
      if (
        result.ok ||
        RETRYABLE.indexOf(result.code) < 0 ||
        Date.now() >= giveUpAt ||
        this.stopped
      ) {
        metrics.sendFailed.add(!result.ok);
        metrics.sendRetries.add(attempts - 1);
        if (!result.ok && this.o.ledger) this.recordUnacked(channelId, clientMsgId, result.code);
        return result;
      }
      if (result.code === 'DISCONNECTED') {
        try {
          await this.whenConnected(Math.max(0, giveUpAt - Date.now()));
        } catch {
          // Checked at the top of the next round.
        }
      } else await delay(result.retryAfterMs || 200 * Math.min(attempts, 10));
    }
  }

  recordAck(channelId, clientMsgId, message) {
    metrics.acked.add(1);
    const own = this.ownAcked[channelId] || (this.ownAcked[channelId] = []);
    own.push(message.seq);
    if (this.o.ledger)
      writeLedger({
        kind: 'ack',
        channel: channelId,
        clientMsgId,
        seq: message.seq,
        ackedAt: isoNow(),
        sender: this.o.user.id,
        messageId: message.id,
      });
  }

  recordUnacked(channelId, clientMsgId, reason) {
    writeLedger({
      kind: 'unacked',
      channel: channelId,
      clientMsgId,
      sender: this.o.user.id,
      sentAt: isoNow(),
      reason,
    });
  }

  /** The highest seq held for each channel (contiguous, or beyond a hole). */
  heldUpTo(channelId) {
    const ch = this.channels[channelId];
    return Math.max(ch.last, ...Object.keys(ch.ahead).map(Number));
  }

  /**
   * The final catch-up: a channel.sync of every channel (reconnecting first if needed), then
   * counts what is still missing: acked sends of this client it never saw, holes below the
   * highest seq it holds, and channels where it holds less than `heads` (from settle()).
   */
  async finish(heads, reconnectWithinMs) {
    if (!this.connected && !this.stopped) {
      try {
        if (this.o.reconnect && this.reconnecting)
          await this.whenConnected(reconnectWithinMs || 30000);
        else await this.open();
      } catch {
        // Whatever is missing is counted below.
      }
    }
    if (this.connected) {
      try {
        await this.catchUp('final');
      } catch {
        // Counted below.
      }
    }
    let lostHere = 0;
    let holes = 0;
    let behind = false;
    for (const channelId of Object.keys(this.channels)) {
      const ch = this.channels[channelId];
      const aheadSeqs = Object.keys(ch.ahead).map(Number);
      const top = Math.max(ch.last, ...aheadSeqs);
      holes += top - ch.last - aheadSeqs.length;
      for (const seq of this.ownAcked[channelId] || [])
        if (seq > ch.last && !ch.ahead[seq]) lostHere += 1;
      const head = heads && heads[channelId];
      if (head !== undefined) {
        metrics.expected.add(Math.max(0, head - ch.fromSeq));
        if (ch.last < head) behind = true;
      }
    }
    metrics.lost.add(lostHere);
    metrics.seqGaps.add(holes);
    if (heads) metrics.clientsBehind.add(behind ? 1 : 0);
    return { lost: lostHere, gaps: holes, behind };
  }

  /** Stops for good: no reconnect, the connection closed by the client. */
  stop() {
    this.stopped = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new Error('STOPPED'));
    if (this.socket) {
      const socket = this.socket;
      this.socket = undefined;
      socket.close();
    }
  }
}

/**
 * Waits until the heads stop moving and every client holds each of its channels' heads (live
 * delivery has caught up), or until `deadline`. `readHeads()` returns `{channelId: lastSeq}`
 * (one REST call, polled once a second so a VU stays far below the API's per-user rate limit;
 * two equal reads in a row mean the writers of other VUs and scenarios are done). Resolves with
 * the last heads read, for finish().
 */
export async function settle(clients, readHeads, deadline) {
  let previous;
  for (;;) {
    const heads = readHeads();
    const stable =
      previous !== undefined && Object.keys(heads).every((id) => heads[id] === previous[id]);
    const behind = clients.some(
      (c) =>
        !c.stopped &&
        Object.keys(c.channels).some((id) => heads[id] !== undefined && c.heldUpTo(id) < heads[id]),
    );
    if ((stable && !behind) || Date.now() >= deadline) return heads;
    previous = heads;
    await delay(1000);
  }
}
