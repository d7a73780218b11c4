// 'k6/timers' in the double (the same functions are installed as globals, as in k6).
import { runtime } from '../vu-runtime.js';

export function setTimeout(
  fn: (...args: unknown[]) => void,
  ms?: number,
  ...args: unknown[]
): number {
  return runtime().setTimer(fn, ms ?? 0, args, false);
}
export function setInterval(
  fn: (...args: unknown[]) => void,
  ms?: number,
  ...args: unknown[]
): number {
  return runtime().setTimer(fn, ms ?? 0, args, true);
}
export function clearTimeout(id: unknown): void {
  runtime().clearTimer(id);
}
export function clearInterval(id: unknown): void {
  runtime().clearTimer(id);
}

export default { setTimeout, setInterval, clearTimeout, clearInterval };
