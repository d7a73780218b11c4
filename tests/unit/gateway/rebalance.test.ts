import { jest } from '@jest/globals';
import fc from 'fast-check';
import type { FleetConnections } from '../../../services/gateway/fleet.js';
import {
  nextDelayMs,
  pickSheddable,
  planShedding,
  reconnectDelayMs,
  type RebalanceSettings,
} from '../../../services/gateway/rebalance.js';
import { Rebalancer } from '../../../services/gateway/rebalancer.js';
import { createLogger } from '../../../services/core/logger.js';

const SETTINGS: RebalanceSettings = {
  intervalMs: 10_000,
  tolerance: 1.2,
  minExcess: 10,
  fraction: 0.2,
  maxPerInterval: 100,
};

const plan = (own: number, others: number[], extra: Partial<RebalanceSettings> = {}) =>
  planShedding({ own, others, draining: false, settings: { ...SETTINGS, ...extra } });

describe('planShedding: how many connections a gateway sheds', () => {
  it.each([
    // own, others, shed, why
    [1000, [1000, 0], 67, 'over'], // avg 666.7, excess 333.3 -> ceil(66.7)
    [3000, [3000, 0], 100, 'over'], // excess 1000, 20 % = 200: held to the per-interval bound
    [5000, [0], 100, 'over'], // 2500 over, bounded
    [120, [100, 100], 0, 'balanced'], // avg 106.7: within 1.2x, and nobody under avg/1.2
    [130, [100, 100], 0, 'balanced'], // avg 110: 20 over, still inside the band both ways
    [140, [100, 100], 6, 'over'], // avg 113.3: over 1.2x and 26.7 over -> ceil(5.3)
    [190, [190, 100], 6, 'underfilled'], // avg 160: within 1.2x, but 100 < 133.3 -> ceil(6)
    [210, [210, 180], 0, 'balanced'], // avg 200: 10 over, and 180 >= 166.7
    [30, [10, 10], 3, 'over'], // avg 16.7, 13.3 over: ceil(2.67)
    [20, [10, 10], 0, 'balanced'], // 6.7 over the average: below minExcess
    [11, [0, 0], 0, 'balanced'], // over 1.2x but only 7.3 over
    [1000, [], 0, 'alone'],
    [0, [500, 500], 0, 'balanced'],
  ] as const)('own %d, others %j: shed %d (%s)', (own, others, shed, why) => {
    const p = plan(own, [...others]);
    expect(p.shed).toBe(shed);
    expect(p.why).toBe(why);
    expect(p.nodes).toBe(others.length + 1);
  });

  it('sheds nothing while draining or when turned off', () => {
    expect(
      planShedding({ own: 1000, others: [0, 0], draining: true, settings: SETTINGS }),
    ).toMatchObject({ shed: 0, why: 'draining' });
    expect(plan(1000, [0, 0], { intervalMs: 0 })).toMatchObject({ shed: 0, why: 'off' });
  });

  it('reports the fleet average, this node included', () => {
    expect(plan(30, [0, 0]).average).toBe(10);
    expect(plan(7, []).average).toBe(7);
  });

  it('treats negative or garbage counts from others as zero connections', () => {
    expect(plan(40, [-5, 0]).average).toBeCloseTo(40 / 3);
  });

  it('never sheds below the average, never more than the bound, and only clearly over it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 20 }),
        fc.record({
          tolerance: fc.double({ min: 1, max: 3, noNaN: true }),
          minExcess: fc.integer({ min: 1, max: 1000 }),
          fraction: fc.double({ min: 0.001, max: 1, noNaN: true }),
          maxPerInterval: fc.integer({ min: 1, max: 5000 }),
        }),
        (own, others, s) => {
          const settings = { intervalMs: 1000, ...s };
          const p = planShedding({ own, others, draining: false, settings });
          expect(p.shed).toBeGreaterThanOrEqual(0);
          expect(Number.isInteger(p.shed)).toBe(true);
          expect(p.shed).toBeLessThanOrEqual(settings.maxPerInterval);
          if (p.shed > 0) {
            expect(own - p.shed).toBeGreaterThanOrEqual(p.average - 1e-9);
            expect(
              own > settings.tolerance * p.average ||
                Math.min(...others) < p.average / settings.tolerance,
            ).toBe(true);
            expect(own - p.average).toBeGreaterThanOrEqual(settings.minExcess);
            expect(p.shed).toBeLessThanOrEqual(Math.max(1, Math.ceil(settings.fraction * own)));
          }
          // A node at or below the average never sheds.
          if (own <= p.average) expect(p.shed).toBe(0);
        },
      ),
    );
  });
});

describe('timing and choice', () => {
  it('jitters each interval within ±25 %', () => {
    expect(nextDelayMs(10_000, () => 0)).toBe(7500);
    expect(nextDelayMs(10_000, () => 0.5)).toBe(10_000);
    expect(nextDelayMs(10_000, () => 0.999999)).toBe(12_500);
  });

  it('spreads reconnects over at most a quarter of the interval, and at most 2 s', () => {
    expect(reconnectDelayMs(1000, () => 1)).toBe(250);
    expect(reconnectDelayMs(60_000, () => 1)).toBe(2000);
    expect(reconnectDelayMs(60_000, () => 0)).toBe(0);
  });

  it('sheds the longest-connected sockets first', () => {
    const sockets = [
      { id: 'c', connectedAt: 30 },
      { id: 'a', connectedAt: 10 },
      { id: 'd', connectedAt: 40 },
      { id: 'b', connectedAt: 20 },
    ];
    expect(pickSheddable(sockets, 2).map((s) => s.id)).toEqual(['a', 'b']);
    expect(pickSheddable(sockets, 0)).toEqual([]);
    expect(pickSheddable(sockets, 10)).toHaveLength(4);
  });
});

/**
 * The whole loop on paper: three gateways, two of them loaded, the third new; every shed
 * client reconnects through a round-robin balancer (so a third of them land back where they
 * were). Decisions use only the pure functions, so this shows how quickly the defaults
 * converge in intervals, whatever the machine.
 */
describe('convergence with a round-robin balancer', () => {
  function simulate(start: number[], settings: RebalanceSettings, intervals: number) {
    const counts = [...start];
    let next = 0;
    let moved = 0;
    const history: number[][] = [[...counts]];
    for (let t = 0; t < intervals; t++) {
      const sheds = counts.map((own, i) =>
        planShedding({
          own,
          others: counts.filter((_, j) => j !== i),
          draining: false,
          settings,
        }),
      );
      for (let i = 0; i < counts.length; i++) {
        for (let k = 0; k < sheds[i]!.shed; k++) {
          counts[i]! -= 1;
          const target = next++ % counts.length;
          counts[target]! += 1;
          if (target !== i) moved += 1;
        }
      }
      history.push([...counts]);
    }
    return { counts, moved, history };
  }

  it('300 + 300 + 0 settles within the tolerance band in 30 intervals, with a bounded number of moves', () => {
    const { counts, moved, history } = simulate([300, 300, 0], SETTINGS, 80);
    // Balanced: every node within [average / 1.2, 1.2 × average], or less than minExcess off.
    const balancedAt = history.findIndex((c) =>
      c.every((n) => Math.abs(n - 200) < SETTINGS.minExcess || (n <= 240 && n >= 200 / 1.2)),
    );
    expect(balancedAt).toBeGreaterThan(0);
    // A node keeps only two thirds of what it sheds away (round robin sends a third back) and
    // gets a third of the other old node's: 25 intervals here, about 4 minutes at the default.
    expect(balancedAt).toBeLessThanOrEqual(30);
    expect(counts.reduce((a, b) => a + b)).toBe(600);
    expect(Math.max(...counts)).toBeLessThanOrEqual(240);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(167);
    // Once balanced, nothing moves: no flapping.
    expect(history.at(-1)).toEqual(history[balancedAt + 5]);
    // Round robin also moves clients between the two old nodes: about twice what the new node
    // ends up with (168), never more than 2.5x.
    expect(moved).toBeGreaterThanOrEqual(167);
    expect(moved).toBeLessThanOrEqual(420);
  });

  it('a balanced fleet never sheds', () => {
    const { moved } = simulate([200, 205, 195], SETTINGS, 30);
    expect(moved).toBe(0);
  });
});

describe('Rebalancer loop', () => {
  const log = createLogger('silent');

  class FakeFleet implements FleetConnections {
    reports: { nodeId: string; connections: number; ttlMs: number }[] = [];
    left: string[] = [];
    others: number[] = [];
    fail = false;
    async report(nodeId: string, connections: number, ttlMs: number) {
      if (this.fail) throw new Error('redis down');
      this.reports.push({ nodeId, connections, ttlMs });
      return this.others;
    }
    async leave(nodeId: string) {
      this.left.push(nodeId);
    }
  }

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function setUp(held: number) {
    const fleet = new FakeFleet();
    const sockets = Array.from({ length: held }, (_, i) => ({ id: `s${i}`, connectedAt: i }));
    const shed: { id: string; reconnectInMs: number }[] = [];
    const rebalancer = new Rebalancer({
      nodeId: 'me',
      fleet,
      settings: { ...SETTINGS, intervalMs: 1000 },
      log,
      sockets: () => sockets,
      shed: (id, reconnectInMs) => shed.push({ id, reconnectInMs }),
    });
    return { fleet, sockets, shed, rebalancer };
  }

  it('reports at start, sheds the oldest above the average, and does not count them twice', async () => {
    const { fleet, sockets, shed, rebalancer } = setUp(100);
    fleet.others = [0, 0];
    rebalancer.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(fleet.reports[0]).toEqual({ nodeId: 'me', connections: 100, ttlMs: 3750 });
    // avg 33.3, excess 66.7: ceil(13.3) = 14 of the oldest.
    expect(shed.map((s) => s.id)).toEqual(Array.from({ length: 14 }, (_, i) => `s${i}`));
    expect(shed.every((s) => s.reconnectInMs >= 0 && s.reconnectInMs <= 250)).toBe(true);
    // Those sockets have not disconnected yet: the next report leaves them out.
    await jest.advanceTimersByTimeAsync(1250);
    expect(fleet.reports[1]!.connections).toBe(86);
    // avg 28.7, excess 57.3: ceil(11.5) = 12 more, the next oldest.
    expect(shed).toHaveLength(26);
    expect(shed[14]!.id).toBe('s14');
    // Once they are gone for real, forget() keeps the bookkeeping small.
    for (const s of sockets.splice(0, 26)) rebalancer.forget(s.id);
    await rebalancer.stop();
    expect(fleet.left).toEqual(['me']);
  });

  it('sheds nothing when it cannot read the fleet, and resumes when it can', async () => {
    const { fleet, shed, rebalancer } = setUp(100);
    fleet.others = [0, 0];
    fleet.fail = true;
    rebalancer.start();
    await jest.advanceTimersByTimeAsync(3000);
    expect(shed).toHaveLength(0);
    fleet.fail = false;
    await jest.advanceTimersByTimeAsync(1250);
    expect(shed.length).toBeGreaterThan(0);
    await rebalancer.stop();
  });

  it('never reports or sheds after stop (a draining node)', async () => {
    const { fleet, shed, rebalancer } = setUp(100);
    fleet.others = [0, 0];
    rebalancer.start();
    await rebalancer.stop();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(fleet.reports).toHaveLength(0);
    expect(shed).toHaveLength(0);
  });

  it('does nothing with rebalancing turned off', async () => {
    const fleet = new FakeFleet();
    const r = new Rebalancer({
      nodeId: 'x',
      fleet,
      settings: { ...SETTINGS, intervalMs: 0 },
      log,
      sockets: () => [{ id: 'a', connectedAt: 0 }],
      shed: () => {
        throw new Error('must not shed');
      },
    });
    r.start();
    await jest.advanceTimersByTimeAsync(60_000);
    await r.stop();
    expect(fleet.reports).toHaveLength(0);
    expect(fleet.left).toHaveLength(0);
  });
});
