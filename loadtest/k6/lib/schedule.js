// Time inside a VU: k6 iterations that hold WebSockets run on the VU's event loop, so waiting
// is done with timers, never with sleep() (which would stall every socket of the VU).
import { clearInterval, setInterval, setTimeout } from 'k6/timers';

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export function delayUntil(timestampMs) {
  return delay(timestampMs - Date.now());
}

/**
 * Open-loop sending: calls `send(n)` so that n calls have been made `n / ratePerSecond` seconds
 * after `startAt`, whether or not earlier sends were answered (a slow server faces a growing
 * backlog, as with real users), until `stopAt`. Resolves with the number of calls made.
 */
export function openLoop(ratePerSecond, startAt, stopAt, send) {
  return new Promise((resolve) => {
    if (ratePerSecond <= 0 || stopAt <= startAt) {
      resolve(0);
      return;
    }
    let made = 0;
    const tick = () => {
      const now = Math.min(Date.now(), stopAt);
      const due = Math.floor(((now - startAt) * ratePerSecond) / 1000);
      while (made < due) {
        send(made);
        made += 1;
      }
      if (Date.now() >= stopAt) {
        clearInterval(timer);
        resolve(made);
      }
    };
    const timer = setInterval(tick, Math.max(5, Math.min(100, Math.floor(1000 / ratePerSecond))));
  });
}

/** Polls `condition` until it holds or `deadline` passes; resolves with whether it held. */
export async function pollUntil(condition, deadline, intervalMs) {
  for (;;) {
    if (condition()) return true;
    if (Date.now() >= deadline) return false;
    await delay(intervalMs || 200);
  }
}
