// 'k6' in the double: check() and sleep(), as documented for k6 v1.x.
import { runtime } from '../vu-runtime.js';

export function check<T>(value: T, sets: Record<string, ((v: T) => unknown) | unknown>): boolean {
  let all = true;
  for (const [name, condition] of Object.entries(sets)) {
    const ok = Boolean(
      typeof condition === 'function' ? (condition as (v: T) => unknown)(value) : condition,
    );
    runtime().check(name, ok);
    if (!ok) all = false;
  }
  return all;
}

export function sleep(seconds: number): void {
  runtime().sleepSync(seconds);
}

export function fail(message?: string): never {
  throw new Error(message ?? 'fail');
}

export default { check, sleep, fail };
