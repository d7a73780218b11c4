/**
 * Signalink client SDK: Socket.IO (WebSocket transport) plus fetch, with no DOM or Node-only
 * dependency, so the web client, integration tests and load scenarios share it.
 *
 *   const rest = new SignalinkRest({ url });              // REST: auth, channels, history, search
 *   await rest.login('alice', 'secret');                   // or register({...}); tokens kept inside
 *   const c = new SignalinkClient({ url, token: rest });   // or token: '<access token>'
 *   c.on('message', (m) => ...);                           // once per seq, in seq order per channel
 *   await c.connect();
 *   c.track(channelId, lastSeqAlreadyHeld);                // start point (else: first message seen)
 *   const m = await c.send(channelId, 'hi');               // resolves when acked (durable)
 *   c.lastSeq(channelId); c.close();
 *
 * Guarantees on top of the wire contract (PROTOCOL.md):
 * - Ordering: a message.new whose seq is beyond last+1 is held back and `channel.sync` runs from
 *   the last seq held, paging until `hasMore` is false; duplicates (seq <= last) are dropped.
 * - Reconnects: after every (re)connection, recovered or not, every tracked channel is synced
 *   the same way, then `caughtUp` fires. A server-side disconnect (drain) is reconnected after
 *   the `server.draining` hint. `state` reports connecting / connected / reconnecting / closed.
 * - Sends: the clientMsgId is generated once per send() and reused by every retry (ack timeout,
 *   disconnect, UNAVAILABLE, RATE_LIMITED after retryAfterMs) until an ack arrives, so the server
 *   stores one message. Other errors reject with SignalinkError (its `code` is the contract's).
 *   Sends to one channel go one at a time, so they are stored in the order they were made
 *   (`orderedSends: false` pipelines them instead, for load generators).
 * - Tokens: with a TokenSource (SignalinkRest) an UNAUTHENTICATED handshake triggers one refresh
 *   and a retry; when that fails the client closes and emits `error` (UNAUTHENTICATED).
 * - Signed out: when the session ends on the server (logout from another tab or device, or a
 *   refresh token replayed), the server sends `server.draining` with reason UNAUTHENTICATED and
 *   closes the socket; the client emits `error` (UNAUTHENTICATED) and closes without trying to
 *   reconnect or refresh. Pending sends reject with that error.
 *
 * Other calls: edit, delete, markRead, typing(channelId, on), setPresence, presence(userIds)
 * (the presence.get extension), callSignal, sync, catchUp, untrack, pendingSends. A
 * `server.draining` with a negative reconnectInMs (too many connections) closes the client. Events: message, messageUpdated, receipt, typing, presence,
 * channelJoined, channelLeft, callSignal, draining, state, caughtUp, error.
 */
export {
  SignalinkClient,
  type ClientEvents,
  type ConnectionChange,
  type ConnectionState,
  type SignalinkClientOptions,
} from './signalink-client.js';
export {
  SignalinkRest,
  type MessagePage,
  type OwnUser,
  type PublicChannel,
  type Session,
  type SignalinkRestOptions,
  type TokenSource,
  type TokenStore,
  type Tokens,
} from './rest.js';
export { SignalinkError } from './client-error.js';
export { newClientMsgId } from './client-msg-id.js';
export type { PendingSend } from './pending-sends.js';
export type {
  CallSignal,
  CallSignalKind,
  Channel,
  ChannelForMember,
  ChannelMembershipEvent,
  DrainingNotice,
  Member,
  Message,
  PresenceStatus,
  PresenceUpdate,
  PublicUser,
  ReceiptUpdate,
  TypingUpdate,
} from './protocol.js';
