// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EventMap<Events> = { [E in keyof Events]: (...args: any[]) => void };

/**
 * A minimal typed event registry (no DOM or Node EventEmitter, so the client runs anywhere).
 * A throwing listener cannot break the client's own bookkeeping: its error is rethrown on a
 * later tick, where the host reports it as uncaught.
 */
export class Listeners<Events extends EventMap<Events>> {
  private readonly byEvent = new Map<keyof Events, Set<Events[keyof Events]>>();

  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.byEvent.get(event);
    if (!set) {
      set = new Set();
      this.byEvent.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    this.byEvent.get(event)?.delete(listener);
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of [...(this.byEvent.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }

  clear(): void {
    this.byEvent.clear();
  }
}
