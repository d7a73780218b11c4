// The runner's handle on one VU worker.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from './console-log.js';
import { serveHttp } from './http-bridge.js';
import type { MetricRegistry } from './metrics.js';
import type { FromVu, MetricDef, ScenarioInfo, ToVu, VuWorkerData } from './protocol.js';

export interface CheckTally {
  passes: number;
  fails: number;
}

export interface Shared {
  scriptUrl: string;
  logger: Logger;
  registry: MetricRegistry;
  checks: Map<string, CheckTally>;
  onAbort: (reason: string) => void;
}

export interface Ready {
  options: unknown;
  exports: string[];
  metrics: MetricDef[];
}

export class VuHost {
  readonly worker: Worker;
  readonly ready: Promise<Ready>;
  busy = false;
  iterations = 0;
  private waiting: ((msg: FromVu) => void) | undefined;
  private exited = false;
  private readonly httpPort: MessagePort;

  constructor(
    readonly vuId: number,
    env: Record<string, string>,
    setupJson: string | undefined,
    private readonly shared: Shared,
  ) {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    serveHttp(port1, signal);
    this.httpPort = port1;
    const data: VuWorkerData = {
      scriptUrl: shared.scriptUrl,
      vuId,
      env,
      setupJson,
      httpPort: port2,
      httpSignal: signal,
    };
    this.worker = new Worker(new URL('./vu-worker.js', import.meta.url), {
      workerData: data,
      transferList: [port2],
      stdout: false,
      stderr: false,
    });
    this.ready = new Promise((resolve, reject) => {
      this.waiting = (msg) => {
        if (msg.type === 'ready')
          resolve({ options: msg.options, exports: msg.exports, metrics: msg.metrics });
        else if (msg.type === 'init-failed')
          reject(new Error(`the script failed in the init context: ${msg.error}`));
      };
    });
    this.worker.on('message', (msg: FromVu) => this.onMessage(msg));
    this.worker.on('error', (err) => {
      shared.logger.runner('error', `VU ${vuId} crashed: ${err.stack ?? err.message}`);
      this.waiting?.({ type: 'init-failed', error: err.message });
    });
    this.worker.on('exit', () => {
      this.exited = true;
      this.waiting?.({ type: 'iteration-done', ok: false, interrupted: true, error: 'VU exited' });
    });
  }

  private onMessage(msg: FromVu): void {
    switch (msg.type) {
      case 'samples':
        for (const s of msg.samples) this.shared.registry.add(s);
        for (const c of msg.checks) {
          const tally = this.shared.checks.get(c.name) ?? { passes: 0, fails: 0 };
          if (c.ok) tally.passes += 1;
          else tally.fails += 1;
          this.shared.checks.set(c.name, tally);
        }
        return;
      case 'log':
        if (msg.source === 'console') this.shared.logger.console(msg.level, msg.message);
        else this.shared.logger.runner(msg.level, `VU ${this.vuId}: ${msg.message}`);
        return;
      case 'abort':
        this.shared.onAbort(msg.reason);
        return;
      default: {
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting?.(msg);
      }
    }
  }

  private ask(message: ToVu): Promise<FromVu> {
    if (this.exited)
      return Promise.resolve({
        type: 'iteration-done',
        ok: false,
        interrupted: true,
        error: 'VU exited',
      });
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.worker.postMessage(message);
    });
  }

  async iterate(
    exec: string,
    scenario: ScenarioInfo,
    iterationInTest: number,
  ): Promise<{ ok: boolean; interrupted: boolean }> {
    this.busy = true;
    const done = await this.ask({
      type: 'iterate',
      exec,
      scenario,
      iterationInTest,
      iterationInScenario: this.iterations,
    });
    this.iterations += 1;
    this.busy = false;
    return done.type === 'iteration-done'
      ? { ok: done.ok, interrupted: done.interrupted }
      : { ok: false, interrupted: false };
  }

  async call(
    fn: 'setup' | 'teardown' | 'handleSummary',
    argJson: string | undefined,
  ): Promise<{ ok: boolean; resultJson?: string; error?: string }> {
    const done = await this.ask({ type: 'call', fn, argJson });
    if (done.type !== 'call-done') return { ok: false, error: 'VU exited' };
    return done;
  }

  interrupt(): void {
    if (!this.exited) this.worker.postMessage({ type: 'interrupt' } satisfies ToVu);
  }

  async stop(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
    this.httpPort.close();
  }
}
