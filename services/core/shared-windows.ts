/**
 * One rate limit (at most `points` per fixed window of `durationMs`) counted locally and
 * reconciled with a shared store (Redis) that every process adds its counts to.
 *
 * A take far from the limit is decided here, at once, from this process's count plus the
 * shared total it last heard; the points taken that way are added to the store in the
 * background (`pendingSync` / `applySync`, every few ms). Close to the limit (past
 * `localShare` of it) the take asks the store itself (`settle`), so the last points of a window
 * are given out exactly, atomically across processes. So a user far below their limit never
 * waits for Redis, and one sending at their limit is held to it; what several processes can
 * give out together before they hear of each other is bounded by `localShare × points` each,
 * once per window.
 *
 * Pure: the clock is passed in, the store is the caller's.
 */

export interface WindowLimit {
  points: number;
  durationMs: number;
  /** Part of the limit a process gives out on its own (0..1). */
  localShare: number;
}

export type TakeDecision =
  /** Taken here; the store hears of it with the next sync. */
  | { kind: 'taken' }
  /** Past the local share: add `delta` (this take and what is unsynced) to the store, then settle. */
  | { kind: 'ask'; delta: number }
  /** The window is known to be full. */
  | { kind: 'refused'; retryAfterMs: number };

export type Verdict = { ok: true } | { ok: false; retryAfterMs: number };

interface KeyWindow {
  endsAt: number;
  /** The store's total at the last answer (everyone's points, ours included). */
  known: number;
  /** Points taken here that no request to the store carries yet. */
  unsynced: number;
  /** Points carried by a background sync not answered yet. */
  syncing: number;
  /** Points carried by asks (`decide` → `settle`) not answered yet. */
  asking: number;
}

export interface SyncItem {
  key: string;
  delta: number;
  ttlMs: number;
}

export class SharedWindows {
  private readonly windows = new Map<string, KeyWindow>();

  constructor(readonly limit: WindowLimit) {
    if (!(limit.points >= 1) || !(limit.durationMs >= 1))
      throw new RangeError('a limit needs points ≥ 1 and durationMs ≥ 1');
    if (!(limit.localShare >= 0 && limit.localShare <= 1))
      throw new RangeError('localShare must be within 0..1');
  }

  private window(key: string, now: number): KeyWindow {
    let w = this.windows.get(key);
    if (!w || now >= w.endsAt) {
      w = { endsAt: now + this.limit.durationMs, known: 0, unsynced: 0, syncing: 0, asking: 0 };
      this.windows.set(key, w);
    }
    return w;
  }

  /** Points this process believes the window holds. */
  used(key: string, now: number): number {
    return this.usedOf(this.window(key, now));
  }

  private usedOf(w: KeyWindow): number {
    return w.known + w.syncing + w.asking + w.unsynced;
  }

  decide(key: string, now: number): TakeDecision {
    const w = this.window(key, now);
    const used = this.usedOf(w);
    if (used >= this.limit.points)
      return { kind: 'refused', retryAfterMs: this.retryAfter(w, now) };
    if (used + 1 <= this.limit.points * this.limit.localShare) {
      w.unsynced += 1;
      return { kind: 'taken' };
    }
    const delta = w.unsynced + 1;
    w.unsynced = 0;
    w.asking += delta;
    return { kind: 'ask', delta };
  }

  /**
   * The store added an asked-for `delta` and answered with the window's total and time left:
   * the take is within the limit if the total is. (A refused take stays counted, as in the
   * store itself: the window is full anyway.)
   */
  settle(key: string, delta: number, total: number, pttlMs: number, now: number): Verdict {
    const w = this.window(key, now);
    w.asking = Math.max(0, w.asking - delta);
    w.known = Math.max(w.known, total);
    if (pttlMs > 0) w.endsAt = now + pttlMs;
    return total <= this.limit.points
      ? { ok: true }
      : { ok: false, retryAfterMs: this.retryAfter(w, now) };
  }

  /** The store could not be asked: decide from what is known here, and keep the points to sync. */
  settleLocally(key: string, delta: number, now: number): Verdict {
    const w = this.window(key, now);
    w.asking = Math.max(0, w.asking - delta);
    // What is used besides this take (the rest of `delta` was taken before, locally).
    const used = this.usedOf(w) + delta - 1;
    w.unsynced += delta;
    return used + 1 <= this.limit.points
      ? { ok: true }
      : { ok: false, retryAfterMs: this.retryAfter(w, now) };
  }

  /** Points taken here since the last sync, now marked as being synced. */
  pendingSync(now: number): SyncItem[] {
    const items: SyncItem[] = [];
    for (const [key, w] of this.windows) {
      if (now >= w.endsAt) {
        this.windows.delete(key);
        continue;
      }
      if (w.unsynced === 0) continue;
      items.push({ key, delta: w.unsynced, ttlMs: Math.max(1, w.endsAt - now) });
      w.syncing += w.unsynced;
      w.unsynced = 0;
    }
    return items;
  }

  /** The store's answers to a sync: totals and time left per key. */
  applySync(items: SyncItem[], answers: { total: number; pttlMs: number }[], now: number): void {
    items.forEach((item, i) => {
      const w = this.windows.get(item.key);
      const a = answers[i];
      if (!w || !a) return;
      w.syncing = Math.max(0, w.syncing - item.delta);
      w.known = Math.max(w.known, a.total);
      if (a.pttlMs > 0) w.endsAt = now + a.pttlMs;
    });
  }

  /** A sync failed: its points are unsynced again, for the next one. */
  failSync(items: SyncItem[]): void {
    for (const item of items) {
      const w = this.windows.get(item.key);
      if (!w) continue;
      w.syncing = Math.max(0, w.syncing - item.delta);
      w.unsynced += item.delta;
    }
  }

  get size(): number {
    return this.windows.size;
  }

  private retryAfter(w: KeyWindow, now: number): number {
    return Math.max(1, Math.ceil(w.endsAt - now));
  }
}
