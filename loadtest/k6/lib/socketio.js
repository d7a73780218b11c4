// A Socket.IO v5 client over Engine.IO v4 on k6's WebSocket (k6/websockets, k6 v1.6 and later;
// on k6 1.0-1.5 change the import below to 'k6/experimental/websockets'). It does what the
// Signalink gateway needs: wait for the open packet, connect with `40{"token":...}`, answer
// server pings, emit events with or without acks, answer server events that ask for an ack,
// and notice a dead connection when the server's pings stop.
import { WebSocket } from 'k6/websockets';
import { clearTimeout, setTimeout } from 'k6/timers';
import {
  PONG_FRAME,
  SOCKET,
  decodeFrame,
  encodeAck,
  encodeConnect,
  encodeEvent,
  engineUrl,
} from './sio-protocol.js';

export class SocketIoClient {
  /**
   * Opens the connection at once. `ready` resolves with the Socket.IO session id once the
   * server accepted the handshake, and rejects with the server's reason (`UNAUTHENTICATED`,
   * `UNAVAILABLE`), `CONNECT_TIMEOUT`, or the transport's error.
   */
  constructor(baseUrl, auth, options) {
    const opts = options || {};
    this.sid = undefined;
    this.connected = false;
    this.closed = false;
    this.closeReason = undefined;
    /** Set by the owner: called once with the reason when the connection is gone. */
    this.onclose = undefined;
    /** Set by the owner: called for every server ping (proof the connection is alive). */
    this.onping = undefined;
    this.handlers = {};
    this.pending = {};
    this.nextAckId = 0;
    this.closingByClient = false;
    this.lastError = undefined;
    this.watchdog = undefined;
    this.auth = auth;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Nobody may be waiting on `ready` when the connection dies later; never leave it unhandled.
    this.ready.catch(() => {});
    this.connectTimer = setTimeout(
      () => this.finish('CONNECT_TIMEOUT'),
      opts.connectTimeoutMs || 10000,
    );
    this.ws = new WebSocket(engineUrl(baseUrl));
    this.ws.addEventListener('message', (event) => this.onFrame(event.data));
    this.ws.addEventListener('error', (event) => {
      this.lastError = (event && event.error) || 'websocket error';
    });
    this.ws.addEventListener('close', () => this.finish(this.lastError || 'transport close'));
  }

  /** Registers a handler for a server event; it gets the event's arguments. */
  on(event, handler) {
    (this.handlers[event] = this.handlers[event] || []).push(handler);
  }

  /** Emits an event without asking for an ack. */
  emit(event, ...args) {
    if (!this.connected) return false;
    this.ws.send(encodeEvent(event, args));
    return true;
  }

  /**
   * Emits an event with one payload and resolves with the server's ack (its first argument).
   * Rejects with `ACK_TIMEOUT` or `DISCONNECTED`.
   */
  request(event, payload, timeoutMs) {
    if (!this.connected) return Promise.reject(new Error('DISCONNECTED'));
    const id = this.nextAckId;
    this.nextAckId += 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        delete this.pending[id];
        reject(new Error('ACK_TIMEOUT'));
      }, timeoutMs || 10000);
      this.pending[id] = { resolve, reject, timer };
      this.ws.send(encodeEvent(event, [payload], id));
    });
  }

  /** Closes the connection; `onclose` still runs, with reason `client close`. */
  close() {
    if (this.closed) return;
    this.closingByClient = true;
    this.ws.close();
    // The close event follows; settle everything now so no timer outlives the socket.
    this.finish('client close');
  }

  onFrame(text) {
    const frame = decodeFrame(text);
    switch (frame.type) {
      case 'open':
        this.armWatchdog(frame.handshake.pingInterval + frame.handshake.pingTimeout);
        this.ws.send(encodeConnect(this.auth));
        return;
      case 'ping':
        this.ws.send(PONG_FRAME);
        if (this.pingWindowMs) this.armWatchdog(this.pingWindowMs);
        if (this.onping) this.onping();
        return;
      case 'close':
        this.finish('transport close');
        return;
      case 'message':
        this.onPacket(frame.packet);
        return;
      case 'invalid':
        console.warn(`socket.io: ${frame.reason}`);
        return;
      default:
        return;
    }
  }

  onPacket(packet) {
    if (packet.nsp !== '/') return;
    switch (packet.type) {
      case SOCKET.CONNECT:
        this.sid = packet.data && packet.data.sid;
        this.connected = true;
        clearTimeout(this.connectTimer);
        this.resolveReady(this.sid);
        return;
      case SOCKET.CONNECT_ERROR: {
        const reason = (packet.data && packet.data.message) || 'connect_error';
        this.finish(reason);
        return;
      }
      case SOCKET.DISCONNECT:
        this.finish('io server disconnect');
        return;
      case SOCKET.EVENT: {
        const name = packet.data[0];
        const args = packet.data.slice(1);
        const handlers = this.handlers[name] || [];
        let answer;
        for (const handler of handlers) {
          const result = handler(...args);
          if (result !== undefined) answer = result;
        }
        if (packet.id !== undefined && this.connected)
          this.ws.send(encodeAck(packet.id, answer === undefined ? [] : [answer]));
        return;
      }
      case SOCKET.ACK: {
        const waiting = this.pending[packet.id];
        if (!waiting) return;
        delete this.pending[packet.id];
        clearTimeout(waiting.timer);
        waiting.resolve(packet.data[0]);
        return;
      }
      default:
        return;
    }
  }

  // The server pings every pingInterval; no ping within pingInterval + pingTimeout means the
  // connection is dead even if TCP has not noticed (a partition, a frozen node).
  armWatchdog(windowMs) {
    this.pingWindowMs = windowMs;
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.ws.close();
      this.finish('ping timeout');
    }, windowMs);
  }

  finish(reason) {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    this.closeReason = reason;
    clearTimeout(this.connectTimer);
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    for (const id of Object.keys(this.pending)) {
      const waiting = this.pending[id];
      clearTimeout(waiting.timer);
      waiting.reject(new Error('DISCONNECTED'));
    }
    this.pending = {};
    this.rejectReady(new Error(reason));
    if (this.ws.readyState === 0 || this.ws.readyState === 1) this.ws.close();
    if (this.onclose) this.onclose(reason, this.closingByClient);
  }
}
