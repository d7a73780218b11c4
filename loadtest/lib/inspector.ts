import { sleep } from './paths.js';

/**
 * A minimal Chrome DevTools Protocol client for a server started with
 * `--inspect=127.0.0.1:0`: the idle scenario forces full garbage collections before reading
 * RSS, so the figure is live memory per connection rather than wherever the collector
 * happened to be. Needs the global WebSocket (node --experimental-websocket on Node 20).
 */
export class Inspector {
  private nextId = 1;
  private readonly waiting = new Map<number, (result: unknown) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) this.waiting.get(msg.id)?.(msg.result);
    });
  }

  /** Finds the inspector address the process printed and connects to it. */
  static async attach(output: () => string, timeoutMs = 10_000): Promise<Inspector> {
    if (typeof WebSocket === 'undefined')
      throw new Error('the global WebSocket is missing: run node with --experimental-websocket');
    const deadline = Date.now() + timeoutMs;
    let url: string | undefined;
    while (!url) {
      url = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(output())?.[1];
      if (url) break;
      if (Date.now() > deadline) throw new Error('no inspector address in the server output');
      await sleep(50);
    }
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot reach ${url}`)), {
        once: true,
      });
    });
    return new Inspector(socket);
  }

  call<T>(method: string, params: object = {}, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${method} timed out`));
      }, timeoutMs);
      this.waiting.set(id, (result) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(result as T);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Two full collections (the second picks up what finalizers of the first released). */
  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
    await sleep(200);
    await this.call('HeapProfiler.collectGarbage');
  }

  /** V8 heap in use, in bytes. */
  async heapUsed(): Promise<number> {
    const r = await this.call<{ usedSize: number }>('Runtime.getHeapUsage');
    return r.usedSize;
  }

  close(): void {
    this.socket.close();
  }
}
