/**
 * Rebalancing after scale-out, decided without I/O: a gateway that holds clearly more
 * connections than the fleet average sheds a small part of its excess per interval, so that
 * clients reconnect through the load balancer and spread onto new, empty nodes.
 */
export interface RebalanceSettings {
  /** Time between decisions (each one jittered, see nextDelayMs); 0 turns rebalancing off. */
  intervalMs: number;
  /**
   * Shed only above `tolerance` × the fleet average (1.2: more than 20 % over it), or above the
   * average while another node holds less than average / `tolerance`.
   */
  tolerance: number;
  /** ... and only when at least this many connections over the average. */
  minExcess: number;
  /** Part of the excess shed per interval (at least one connection once shedding at all). */
  fraction: number;
  /** Never more than this many per interval, however large the excess. */
  maxPerInterval: number;
}

export interface ShedInput {
  /** Connections this node holds (not counting those it is closing already). */
  own: number;
  /** Connection counts the other live nodes of the fleet last reported. */
  others: readonly number[];
  draining: boolean;
  settings: RebalanceSettings;
}

export interface ShedPlan {
  /** How many connections to close now. */
  shed: number;
  /** The fleet average, this node included (own when alone). */
  average: number;
  nodes: number;
  /** over: above tolerance × average; underfilled: some node holds below average / tolerance. */
  why: 'off' | 'draining' | 'alone' | 'balanced' | 'over' | 'underfilled';
}

export function planShedding({ own, others, draining, settings }: ShedInput): ShedPlan {
  const nodes = others.length + 1;
  const total = own + others.reduce((sum, n) => sum + Math.max(0, n), 0);
  const average = total / nodes;
  const plan = (shed: number, why: ShedPlan['why']): ShedPlan => ({ shed, average, nodes, why });
  if (settings.intervalMs <= 0) return plan(0, 'off');
  if (draining) return plan(0, 'draining');
  if (others.length === 0) return plan(0, 'alone');
  const excess = own - average;
  if (excess < settings.minExcess) return plan(0, 'balanced');
  // The tolerance works both ways: a node clearly over the average sheds, and so does any node
  // above it while another (the new one) is still clearly under it. Within that band nothing
  // moves, so the fleet never flaps around the average.
  const over = own > settings.tolerance * average;
  const underfilled = Math.min(...others) < average / settings.tolerance;
  if (!over && !underfilled) return plan(0, 'balanced');
  // floor(excess): what stays is never below the average.
  const shed = Math.min(
    settings.maxPerInterval,
    Math.floor(excess),
    Math.max(1, Math.ceil(settings.fraction * excess)),
  );
  return plan(shed, over ? 'over' : 'underfilled');
}

/** The wait before the next decision: the interval ± 25 %, so nodes never decide in lockstep. */
export function nextDelayMs(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (0.75 + 0.5 * random()));
}

/**
 * Which sockets go: the longest connected first. They were there before the scale-out, and a
 * client that just arrived here (perhaps shed by another node) is not sent away again at once.
 */
export function pickSheddable<S extends { id: string; connectedAt: number }>(
  sockets: readonly S[],
  count: number,
): S[] {
  if (count <= 0) return [];
  return [...sockets]
    .sort((a, b) => a.connectedAt - b.connectedAt || (a.id < b.id ? -1 : 1))
    .slice(0, count);
}

/** How long a client waits before reconnecting: spread so shed clients do not arrive at once. */
export function reconnectDelayMs(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(2000, intervalMs / 4));
}
