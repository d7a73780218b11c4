/**
 * A pause that something else can cut short: loops wait on it for new work (or a poll
 * interval), and producers of work or a shutdown wake them. A wake that arrives while nobody
 * waits is remembered, so work signalled between two waits is never slept through.
 */
export class Wakeup {
  private pending = false;
  private release: (() => void) | undefined;

  wake(): void {
    if (this.release) {
      const release = this.release;
      this.release = undefined;
      release();
    } else {
      this.pending = true;
    }
  }

  /** Resolves after `ms`, or earlier when woken. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.release = undefined;
        resolve();
      }, ms);
      this.release = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Waits for `work` to settle, but no longer than `ms`; leaves no timer behind. */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  const done = new AbortController();
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    sleep(ms, done.signal),
  ]);
  done.abort();
}
