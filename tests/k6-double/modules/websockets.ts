// 'k6/websockets' in the double: the browser-style WebSocket of k6 v1.x (open, message, error,
// close, ping, pong events; send, close, ping), over the `ws` package. An open socket keeps
// the VU's iteration alive until it closes, as in k6.
import NodeWebSocket from 'ws';
import { runtime, type Closeable } from '../vu-runtime.js';

type Listener = (event: Record<string, unknown>) => void;
const EVENTS = ['open', 'message', 'error', 'close', 'ping', 'pong'] as const;
type EventName = (typeof EVENTS)[number];

export class WebSocket implements Closeable {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readonly url: string;
  readyState = 0;
  binaryType: 'blob' | 'arraybuffer' = 'blob';
  onopen: Listener | null = null;
  onmessage: Listener | null = null;
  onerror: Listener | null = null;
  onclose: Listener | null = null;
  onping: Listener | null = null;
  onpong: Listener | null = null;
  private readonly listeners: Record<EventName, Listener[]> = {
    open: [],
    message: [],
    error: [],
    close: [],
    ping: [],
    pong: [],
  };
  private readonly ws: NodeWebSocket;

  constructor(url: string, _protocols?: unknown, params?: { headers?: Record<string, string> }) {
    const rt = runtime();
    if (rt.phase === 'init') throw new Error('WebSocket: not available in the init context');
    if (!/^wss?:\/\//.test(url))
      throw new Error(`WebSocket: "${url}" is not a ws:// or wss:// URL`);
    this.url = url;
    rt.openSocket(this);
    const started = Date.now();
    this.ws = new NodeWebSocket(url, { headers: params?.headers ?? {}, perMessageDeflate: false });
    this.ws.on('open', () => {
      this.readyState = 1;
      rt.sample('ws_connecting', 'trend', Date.now() - started, true);
      rt.sample('ws_sessions', 'counter', 1);
      this.dispatch('open', {});
    });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      rt.sample('ws_msgs_received', 'counter', 1);
      const payload = isBinary ? new Uint8Array(data).buffer : data.toString('utf8');
      this.dispatch('message', { data: payload });
    });
    this.ws.on('ping', () => this.dispatch('ping', {}));
    this.ws.on('pong', () => this.dispatch('pong', {}));
    this.ws.on('error', (err: Error) => this.dispatch('error', { error: err.message }));
    this.ws.on('close', (code: number, reason: Buffer) => {
      this.readyState = 3;
      this.dispatch('close', { code, reason: reason.toString() });
      rt.closedSocket(this);
    });
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  addEventListener(event: string, handler: Listener): void {
    if (!(EVENTS as readonly string[]).includes(event))
      throw new Error(`WebSocket: unknown event "${event}"`);
    this.listeners[event as EventName].push(handler);
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.readyState === 0) throw new Error('InvalidStateError: WebSocket is still connecting');
    if (this.readyState !== 1) return;
    runtime().sample('ws_msgs_sent', 'counter', 1);
    this.ws.send(data as string);
  }

  ping(): void {
    if (this.readyState === 1) this.ws.ping();
  }

  close(code = 1000): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this.ws.close(code);
  }

  /** The runner's hard stop. */
  terminate(): void {
    this.readyState = 3;
    this.ws.terminate();
  }

  private dispatch(event: EventName, fields: Record<string, unknown>): void {
    const rt = runtime();
    const payload = { type: event, target: this, ...fields };
    const own = this[`on${event}` as const];
    if (own) rt.guard(`websocket ${event} handler`, () => own(payload));
    for (const listener of this.listeners[event])
      rt.guard(`websocket ${event} listener`, () => listener(payload));
  }
}

export default { WebSocket };
