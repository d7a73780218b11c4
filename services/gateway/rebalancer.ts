import type { Logger } from '../core/logger.js';
import type { FleetConnections } from './fleet.js';
import {
  nextDelayMs,
  pickSheddable,
  planShedding,
  reconnectDelayMs,
  type RebalanceSettings,
} from './rebalance.js';

export interface SheddableSocket {
  id: string;
  connectedAt: number;
}

export interface RebalancerDeps {
  nodeId: string;
  fleet: FleetConnections;
  settings: RebalanceSettings;
  log: Logger;
  /** The sockets this node holds now. */
  sockets(): SheddableSocket[];
  /** Sends `server.draining` with this delay and reason "rebalance", then closes the socket. */
  shed(socketId: string, reconnectInMs: number): void;
  onPlan?(plan: { average: number; nodes: number }): void;
  onShed?(count: number): void;
}

/**
 * Reports this node's connections to the fleet every interval (jittered) and sheds its excess
 * over the fleet average a little at a time. Stops for good when the node drains.
 */
export class Rebalancer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** Sockets told to go that have not disconnected yet: no longer counted as held. */
  private readonly leaving = new Set<string>();
  private lastError = '';

  constructor(private readonly deps: RebalancerDeps) {}

  private get ttlMs() {
    // Three intervals at the longest jitter: a live node's report never lapses between ticks.
    return Math.ceil(this.deps.settings.intervalMs * 1.25 * 3);
  }

  start(): void {
    if (this.deps.settings.intervalMs <= 0) return;
    // The first report goes out at once, so the fleet counts a new node from its start.
    this.schedule(0);
  }

  /** A socket disconnected (shed or not). */
  forget(socketId: string): void {
    this.leaving.delete(socketId);
  }

  /** Never sheds again, and takes this node out of the fleet's average. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
    if (this.deps.settings.intervalMs <= 0) return;
    // Best effort and bounded: with Redis down the report simply expires after its TTL.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.deps.fleet.leave(this.deps.nodeId).catch(() => {}),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(nextDelayMs(this.deps.settings.intervalMs));
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const { deps } = this;
    const present = deps.sockets().filter((s) => !this.leaving.has(s.id));
    let others: number[];
    try {
      others = await deps.fleet.report(deps.nodeId, present.length, this.ttlMs);
      if (this.lastError) deps.log.info('fleet connection counts readable again');
      this.lastError = '';
    } catch (err) {
      // Without the fleet's counts nothing is shed; the next tick tries again.
      const message = err instanceof Error ? err.message : String(err);
      if (message !== this.lastError)
        deps.log.warn({ err: message }, 'could not report connections to the fleet');
      this.lastError = message;
      return;
    }
    if (this.stopped) return;
    const plan = planShedding({
      own: present.length,
      others,
      draining: this.stopped,
      settings: deps.settings,
    });
    deps.onPlan?.(plan);
    if (plan.shed === 0) return;
    const chosen = pickSheddable(present, plan.shed);
    for (const s of chosen) {
      this.leaving.add(s.id);
      deps.shed(s.id, reconnectDelayMs(deps.settings.intervalMs));
    }
    deps.onShed?.(chosen.length);
    deps.log.info(
      {
        shed: chosen.length,
        held: present.length,
        fleetAverage: Math.round(plan.average * 10) / 10,
        nodes: plan.nodes,
      },
      'rebalancing: shedding connections above the fleet average',
    );
  }
}
