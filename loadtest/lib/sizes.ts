/** Scenario sizes: `full` is what the issue asks for; `small` is for developing on a shared box. */
export interface Sizes {
  name: 'full' | 'small';
  workers: number;
  /**
   * Extra environment for every Signalink node (`--signalink-env`), e.g. group-commit or pool
   * settings under test; recorded with the results.
   */
  signalinkEnv?: Record<string, string>;
  idle: { steps: number[]; settleMs: number; connectConcurrency: number };
  fanout: {
    /** Channel sizes measured one after the other (the target is at 1,000). */
    members: number[];
    /** Messages per size, at ratePerSecond, except that deliveries/s are capped (below). */
    messages: number;
    warmup: number;
    ratePerSecond: number;
    /** Lower the rate for big channels so deliveries/s stay under this (generator capacity). */
    maxDeliveriesPerSecond: number;
    /** The messages are sent in this many rounds, alternating between the servers. */
    rounds: number;
  };
  throughput: {
    channels: number;
    /** First offered rate; the ramp grows ×1.5 until a step fails, then bisects. */
    start: number;
    stepMs: number;
    /** Gateway (node) counts to measure, each with `repetitions` fresh deployments. */
    nodes: number[];
    repetitions: number;
    warmupRate: number;
    warmupMs: number;
  };
  crash: {
    channels: number;
    membersPerChannel: number;
    ratePerSecond: number;
    durationMs: number;
    killAtMs: number;
    /**
     * When each client of the killed node reconnects to the survivor: socket.io-client's
     * default first retry (1000 ms ± 50 %), as if a load balancer sent the retry elsewhere.
     */
    reconnectDelayMs: [number, number];
  };
  /** Whole-run limit; every scenario also stops by itself through fixed counts and durations. */
  timeoutMs: number;
}

export const SIZES: Record<Sizes['name'], Sizes> = {
  full: {
    name: 'full',
    workers: 4,
    idle: { steps: [5000, 10000], settleMs: 8000, connectConcurrency: 25 },
    fanout: {
      members: [1000],
      messages: 300,
      warmup: 20,
      ratePerSecond: 10,
      maxDeliveriesPerSecond: 10_000,
      rounds: 6,
    },
    // The outside run: 100 four-member channels spread across two nodes each.
    throughput: {
      channels: 100,
      start: 100,
      stepMs: 10_000,
      nodes: [2],
      repetitions: 3,
      warmupRate: 200,
      warmupMs: 5000,
    },
    crash: {
      channels: 20,
      membersPerChannel: 10,
      ratePerSecond: 200,
      durationMs: 20_000,
      killAtMs: 8000,
      reconnectDelayMs: [500, 1500],
    },
    timeoutMs: 240 * 60_000,
  },
  small: {
    name: 'small',
    workers: 2,
    idle: { steps: [200, 400], settleMs: 3000, connectConcurrency: 10 },
    fanout: {
      members: [100],
      messages: 40,
      warmup: 5,
      ratePerSecond: 10,
      maxDeliveriesPerSecond: 10_000,
      rounds: 4,
    },
    throughput: {
      channels: 25,
      start: 100,
      stepMs: 3000,
      nodes: [2],
      repetitions: 1,
      warmupRate: 100,
      warmupMs: 2000,
    },
    crash: {
      channels: 5,
      membersPerChannel: 6,
      ratePerSecond: 40,
      durationMs: 8000,
      killAtMs: 3000,
      reconnectDelayMs: [500, 1500],
    },
    timeoutMs: 30 * 60_000,
  },
};
