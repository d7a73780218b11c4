import { createWriteStream, writeFileSync } from 'node:fs';
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
  /** Receives the `HeapProfiler.addHeapSnapshotChunk` events of the snapshot being taken. */
  private onSnapshotChunk: ((chunk: string) => void) | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const msg = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        method?: string;
        params?: { chunk?: string };
      };
      if (msg.id !== undefined) this.waiting.get(msg.id)?.(msg.result);
      else if (msg.method === 'HeapProfiler.addHeapSnapshotChunk' && msg.params?.chunk)
        this.onSnapshotChunk?.(msg.params.chunk);
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

  /** Writes a V8 heap snapshot (what `heap-summary.js` reads) of the process to `file`. */
  async writeHeapSnapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.onSnapshotChunk = (chunk) => out.write(chunk);
    try {
      await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 300_000);
    } finally {
      this.onSnapshotChunk = undefined;
      await new Promise<void>((resolve, reject) => {
        out.once('error', reject);
        out.end(resolve);
      });
    }
  }

  /** Starts V8's sampling CPU profiler (the same sampler `node --cpu-prof` uses). */
  async startCpuProfile(): Promise<void> {
    await this.call('Profiler.enable');
    await this.call('Profiler.start');
  }

  /** Stops the profiler and writes what it sampled since the start to `file` (.cpuprofile). */
  async writeCpuProfile(file: string): Promise<void> {
    const { profile } = await this.call<{ profile: unknown }>('Profiler.stop', {}, 120_000);
    writeFileSync(file, JSON.stringify(profile));
  }

  close(): void {
    this.socket.close();
  }
}
