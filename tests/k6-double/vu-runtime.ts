// Inside one VU (a worker thread) of the k6 double: what the k6 modules share. It tracks the
// things that keep a k6 iteration alive (open WebSockets, pending timers) so an iteration ends
// when k6's would: the function returned and nothing is left on the VU's event loop.
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { MetricKind, Sample } from './metrics.js';
import type {
  FromVu,
  HttpAnswer,
  HttpRequest,
  HttpResult,
  MetricDef,
  ScenarioInfo,
} from './protocol.js';

export type Phase = 'init' | 'vu' | 'setup' | 'teardown' | 'summary';

const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
const realSetImmediate = globalThis.setImmediate;

export interface Closeable {
  terminate(): void;
}

export class VuRuntime {
  phase: Phase = 'init';
  scenario: ScenarioInfo | undefined;
  iterationInTest = 0;
  iterationInScenario = 0;
  iter = 0;
  readonly metricDefs: MetricDef[] = [];
  private samples: Sample[] = [];
  private checks: { name: string; ok: boolean }[] = [];
  private readonly timers = new Map<number, { handle: NodeJS.Timeout; repeat: boolean }>();
  private readonly sockets = new Set<Closeable>();
  private nextTimerId = 1;
  private onIdle: (() => void) | undefined;
  private nextHttpId = 1;
  private readonly signal: Int32Array;

  constructor(
    readonly vuId: number,
    readonly env: Record<string, string>,
    private readonly httpPort: MessagePort,
    httpSignal: SharedArrayBuffer,
  ) {
    this.signal = new Int32Array(httpSignal);
    realSetInterval(() => this.flush(), 250).unref();
  }

  post(message: FromVu): void {
    parentPort!.postMessage(message);
  }

  log(
    level: 'debug' | 'info' | 'warn' | 'error',
    message: string,
    source: 'console' | 'runtime' = 'console',
  ): void {
    this.post({ type: 'log', level, message, source });
  }

  // Metrics
  defineMetric(name: string, kind: MetricKind, isTime: boolean): void {
    if (this.phase !== 'init')
      throw new Error(`metric ${name}: custom metrics must be created in the init context`);
    this.metricDefs.push({ name, kind, isTime });
  }

  sample(metric: string, kind: MetricKind, value: number, isTime = false): void {
    if (this.phase === 'init')
      throw new Error(`metric ${metric}: cannot add samples in the init context`);
    if (typeof value !== 'number' || Number.isNaN(value))
      throw new Error(`metric ${metric}: ${String(value)} is not a number`);
    this.samples.push({ metric, kind, isTime, value });
  }

  check(name: string, ok: boolean): void {
    this.checks.push({ name, ok });
    this.sample('checks', 'rate', ok ? 1 : 0);
  }

  flush(): void {
    if (this.samples.length === 0 && this.checks.length === 0) return;
    this.post({ type: 'samples', samples: this.samples, checks: this.checks });
    this.samples = [];
    this.checks = [];
  }

  // Event loop: timers and sockets
  setTimer(fn: (...args: unknown[]) => void, ms: number, args: unknown[], repeat: boolean): number {
    if (typeof fn !== 'function') throw new TypeError('timer callback must be a function');
    const id = this.nextTimerId++;
    const delay = Math.max(0, Number(ms) || 0);
    const run = () => {
      if (!repeat) this.timers.delete(id);
      this.guard('timer callback', () => fn(...args));
      if (!repeat) this.checkIdle();
    };
    const handle = repeat ? realSetInterval(run, Math.max(1, delay)) : realSetTimeout(run, delay);
    this.timers.set(id, { handle, repeat });
    return id;
  }

  clearTimer(id: unknown): void {
    const timer = this.timers.get(id as number);
    if (!timer) return;
    if (timer.repeat) realClearInterval(timer.handle);
    else realClearTimeout(timer.handle);
    this.timers.delete(id as number);
    this.checkIdle();
  }

  openSocket(socket: Closeable): void {
    this.sockets.add(socket);
  }

  closedSocket(socket: Closeable): void {
    this.sockets.delete(socket);
    this.checkIdle();
  }

  /** Runs script code from an event: an exception is logged as k6 logs it, not fatal. */
  guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log('error', `Uncaught (in ${what}): ${describeError(err)}`, 'runtime');
    }
  }

  private busy(): boolean {
    return this.timers.size > 0 || this.sockets.size > 0;
  }

  private checkIdle(): void {
    if (!this.busy() && this.onIdle) {
      const resolve = this.onIdle;
      this.onIdle = undefined;
      resolve();
    }
  }

  /**
   * Resolves when nothing is left to run: no timer, no socket, and a full macrotask has passed
   * (promise jobs drained). A promise still pending then can never settle, as in k6.
   */
  waitForIdle(): Promise<void> {
    return new Promise((resolve) => {
      const attempt = () => {
        if (this.busy()) {
          this.onIdle = attempt;
          return;
        }
        realSetImmediate(() => {
          if (this.busy()) this.onIdle = attempt;
          else resolve();
        });
      };
      attempt();
    });
  }

  /** Ends the iteration now: sockets torn down, timers cleared (k6's hard stop). */
  interrupt(): void {
    for (const s of [...this.sockets]) s.terminate();
    this.sockets.clear();
    for (const id of [...this.timers.keys()]) this.clearTimer(id);
    this.checkIdle();
  }

  // Blocking calls, as k6's are: the whole VU waits, its sockets included.
  sleepSync(seconds: number): void {
    const ms = Math.max(0, Number(seconds) * 1000);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  }

  httpSync(requests: HttpRequest[]): HttpResult[] {
    const id = this.nextHttpId++;
    Atomics.store(this.signal, 0, 0);
    this.httpPort.postMessage({ id, requests });
    for (;;) {
      Atomics.wait(this.signal, 0, 0, 1000);
      const received = receiveMessageOnPort(this.httpPort);
      if (received) {
        const answer = received.message as HttpAnswer;
        if (answer.id !== id) throw new Error('k6 double: HTTP answers out of order');
        Atomics.store(this.signal, 0, 0);
        return answer.results;
      }
    }
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

const KEY = Symbol.for('signalink.k6-double.runtime');

export function installRuntime(runtime: VuRuntime): void {
  (globalThis as Record<symbol, unknown>)[KEY] = runtime;
}

export function runtime(): VuRuntime {
  const rt = (globalThis as Record<symbol, unknown>)[KEY] as VuRuntime | undefined;
  if (!rt) throw new Error('k6 modules are only available inside a script run by the k6 double');
  return rt;
}
