import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the compiled code runs from .cache/loadtest/, so walk up to it. */
function findRoot(): string {
  let dir = resolve(import.meta.dirname);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'signalink'
    )
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('could not find the signalink repository root');
    dir = up;
  }
}

export const ROOT = process.env.SIGNALINK_ROOT ?? findRoot();
/** Where the compiled load generator lives (worker and baseline entry points). */
export const COMPILED = resolve(import.meta.dirname, '..');
export const RESULTS_DIR = join(ROOT, 'loadtest', 'results');
export const PID_FILE = join(ROOT, '.cache', 'loadtest', 'pids');

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
