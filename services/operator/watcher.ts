// List-then-watch for one resource path that never gives up: a failed list or watch is retried
// after a jittered backoff, a watch that outlived its resourceVersion (410 Gone) relists at
// once, and every `relistMs` the whole list is read again (the periodic full resync), so a
// missed event can delay a reconcile but never lose one.
import { backoffDelay } from '../events/backoff.js';
import type { Logger } from '../core/logger.js';
import type { KubeClient, Query, WatchEvent } from './kube-client.js';

export interface Watched {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

export interface WatcherOptions<T extends Watched> {
  name: string;
  client: KubeClient;
  path: string;
  query?: Query;
  log: Logger;
  relistMs: number;
  /** Every object of a (re)list; also called after each resync. */
  onList(items: T[]): void;
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void;
  onRestart?(): void;
  /** Called after each successful list or watch response (the API server answers). */
  onContact?(): void;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

class Gone extends Error {}

export class Watcher<T extends Watched> {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly o: WatcherOptions<T>) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const list = await this.o.client.list<T>(this.o.path, this.o.query);
        this.o.onContact?.();
        failures = 0;
        if (signal.aborted) return;
        this.o.onList(list.items);
        let resourceVersion = list.metadata.resourceVersion;
        // Jitter the resync so many operators (or watches) do not relist together.
        const relistAt = Date.now() + this.o.relistMs * (0.9 + Math.random() * 0.2);
        while (!signal.aborted && Date.now() < relistAt) {
          // client-node swallows exceptions thrown by the event callback, so an ERROR event
          // ends this one request through its own abort signal instead.
          const request = new AbortController();
          const stopRequest = () => request.abort();
          signal.addEventListener('abort', stopRequest, { once: true });
          let failure: Error | undefined;
          try {
            await this.o.client.watch<T>(
              this.o.path,
              {
                ...this.o.query,
                resourceVersion,
                allowWatchBookmarks: true,
                timeoutSeconds: 20 + Math.floor(Math.random() * 8),
              },
              (event: WatchEvent<T>) => {
                if (failure) return;
                if (event.type === 'ERROR') {
                  const status = event.object as unknown as { code?: number; message?: string };
                  failure =
                    status.code === 410
                      ? new Gone(status.message ?? 'resource version too old')
                      : new Error(`watch error: ${status.message ?? JSON.stringify(status)}`);
                  request.abort();
                  return;
                }
                resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
                if (event.type !== 'BOOKMARK') this.o.onEvent(event.type, event.object);
              },
              request.signal,
            );
          } finally {
            signal.removeEventListener('abort', stopRequest);
          }
          if (failure) throw failure;
          this.o.onContact?.();
        }
      } catch (err) {
        if (signal.aborted) return;
        this.o.onRestart?.();
        if (err instanceof Gone || (err as { statusCode?: number }).statusCode === 410) {
          this.o.log.debug({ watch: this.o.name }, 'watch expired; relisting');
          continue;
        }
        failures++;
        const delay = backoffDelay(
          failures,
          this.o.backoffBaseMs ?? 500,
          this.o.backoffMaxMs ?? 30_000,
        );
        this.o.log.warn(
          { err, watch: this.o.name, retryInMs: delay },
          'list/watch failed; retrying',
        );
        await this.sleep(delay);
      }
    }
  }
}
