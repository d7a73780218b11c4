import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { COMPILED } from './paths.js';
import type { ProcessRegistry } from './processes.js';
import type { WorkerCommand, WorkerReply } from './protocol.js';

/** The orchestrator's side of the load-generator workers (worker.ts). */
export class WorkerPool {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();

  private constructor(private readonly workers: ChildProcess[]) {
    for (const w of workers) {
      w.on('message', (raw: unknown) => {
        const reply = raw as WorkerReply;
        const waiter = this.pending.get(reply.requestId);
        if (!waiter) return;
        this.pending.delete(reply.requestId);
        if (reply.ok) waiter.resolve(reply.result);
        else waiter.reject(new Error(`worker: ${reply.error}`));
      });
      // Sending to a worker that is gone (stopped by a signal or the cleanup) must fail the
      // request, not crash the orchestrator with an unhandled 'error' event.
      w.on('error', () => undefined);
      w.once('exit', (code, signal) => {
        for (const [id, waiter] of this.pending) {
          waiter.reject(new Error(`a load worker exited (${code ?? signal}) mid-request`));
          this.pending.delete(id);
        }
      });
    }
  }

  static start(registry: ProcessRegistry, count: number): WorkerPool {
    const path = join(COMPILED, 'worker.js');
    const workers = Array.from({ length: count }, (_, i) =>
      registry.fork(`load-worker-${i}`, path, { ...process.env }),
    );
    return new WorkerPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  request<T>(index: number, command: WorkerCommand): Promise<T> {
    const worker = this.workers[index];
    if (!worker) return Promise.reject(new Error(`no worker ${index}`));
    if (!worker.connected) return Promise.reject(new Error(`load worker ${index} is gone`));
    const requestId = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(requestId, { resolve: resolve as (v: unknown) => void, reject });
      worker.send({ ...command, requestId }, (err) => {
        if (!err) return;
        this.pending.delete(requestId);
        reject(err);
      });
    });
  }

  /** Sends each worker its own command; undefined means none (and an undefined reply). */
  each<T>(command: (index: number) => WorkerCommand | undefined): Promise<(T | undefined)[]> {
    return Promise.all(
      this.workers.map((_, i) => {
        const c = command(i);
        return c ? this.request<T>(i, c) : undefined;
      }),
    );
  }

  all<T>(command: WorkerCommand): Promise<T[]> {
    return Promise.all(this.workers.map((_, i) => this.request<T>(i, command)));
  }

  /** Asks every worker to disconnect its clients and exit, and waits (briefly) until it has. */
  async close(): Promise<void> {
    const gone = this.workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exitCode !== null || w.signalCode !== null) return resolve();
          const timer = setTimeout(() => {
            w.kill('SIGKILL');
            resolve();
          }, 5000);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    );
    await Promise.allSettled(this.workers.map((_, i) => this.request(i, { type: 'close' })));
    await Promise.all(gone);
  }
}

/** Deals items to `parts` lists round-robin, so every worker gets a similar mix. */
export function deal<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => out[i % parts]!.push(item));
  return out;
}
