/** Scenario sizes: `full` is what the issue asks for; `small` is for developing on a shared box. */
export interface Sizes {
  name: 'full' | 'small';
  workers: number;
  idle: { steps: number[]; settleMs: number; connectConcurrency: number };
  fanout: {
    members: number;
    messages: number;
    warmup: number;
    ratePerSecond: number;
    /** The messages are sent in this many rounds, alternating between the servers. */
    rounds: number;
  };
  throughput: {
    channels: number;
    rates: number[];
    stepMs: number;
    /** The ramp stops after a step whose ack p99 exceeds this (the server is past saturation). */
    stopAboveP99Ms: number;
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
    fanout: { members: 1000, messages: 300, warmup: 20, ratePerSecond: 10, rounds: 6 },
    throughput: {
      channels: 500,
      rates: [
        50, 100, 200, 300, 400, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 6000,
      ],
      stepMs: 10_000,
      stopAboveP99Ms: 1000,
    },
    crash: {
      channels: 20,
      membersPerChannel: 10,
      ratePerSecond: 200,
      durationMs: 20_000,
      killAtMs: 8000,
      reconnectDelayMs: [500, 1500],
    },
    timeoutMs: 90 * 60_000,
  },
  small: {
    name: 'small',
    workers: 2,
    idle: { steps: [200, 400], settleMs: 3000, connectConcurrency: 10 },
    fanout: { members: 100, messages: 40, warmup: 5, ratePerSecond: 10, rounds: 4 },
    throughput: { channels: 50, rates: [50, 100, 200], stepMs: 4000, stopAboveP99Ms: 1000 },
    crash: {
      channels: 5,
      membersPerChannel: 6,
      ratePerSecond: 40,
      durationMs: 8000,
      killAtMs: 3000,
      reconnectDelayMs: [500, 1500],
    },
    timeoutMs: 15 * 60_000,
  },
};
