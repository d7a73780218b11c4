// The k6 test double's pure parts: durations, option checking, thresholds, k6's aggregations.
import { parseDurationMs } from '../../k6-double/durations.js';
import { MetricRegistry } from '../../k6-double/metrics.js';
import { parseOptions } from '../../k6-double/options.js';
import { parseThreshold, passes } from '../../k6-double/thresholds.js';

describe('k6 double', () => {
  it('parses k6 durations and refuses anything else', () => {
    expect(parseDurationMs('1m30s', 'd')).toBe(90_000);
    expect(parseDurationMs('250ms', 'd')).toBe(250);
    expect(parseDurationMs('1.5s', 'd')).toBe(1500);
    expect(parseDurationMs('2h', 'd')).toBe(7_200_000);
    expect(parseDurationMs(1200, 'd')).toBe(1200);
    expect(() => parseDurationMs('30', 'timeout')).toThrow(/timeout: "30" is not a duration/);
    expect(() => parseDurationMs('5 s', 'd')).toThrow();
    expect(() => parseDurationMs('s5', 'd')).toThrow();
  });

  it('accepts the executors it implements and names whatever it does not', () => {
    const ok = parseOptions({
      scenarios: {
        a: { executor: 'constant-arrival-rate', rate: 5, duration: '10s', preAllocatedVUs: 2 },
      },
      thresholds: { x: ['count==0'] },
    });
    expect(ok.scenarios.a).toMatchObject({ timeUnit: '1s' });
    expect(ok.summaryTrendStats).toContain('p(95)');
    expect(() => parseOptions({ scenarios: { a: { executor: 'shared-iterations' } } })).toThrow(
      /options\.scenarios\.a\.executor/,
    );
    expect(() =>
      parseOptions({ scenarios: { a: { executor: 'per-vu-iterations', tags: { t: '1' } } } }),
    ).toThrow(/tags/);
    expect(() => parseOptions({ vus: 10, scenarios: {} })).toThrow(/vus/);
    expect(() =>
      parseOptions({ scenarios: { a: { executor: 'constant-vus', duration: 'soon' } } }),
    ).toThrow(/scenarios\.a\.duration/);
    expect(() =>
      parseOptions({
        scenarios: { a: { executor: 'per-vu-iterations' } },
        thresholds: { x: [{ threshold: 'count==0', abortOnFail: true }] },
      }),
    ).toThrow(/abortOnFail/);
  });

  it('evaluates threshold expressions with the aggregations each metric type allows', () => {
    const t = parseThreshold('p(99)<500', 'lat', 'trend');
    expect(t).toEqual({ source: 'p(99)<500', aggregation: 'p(99)', operator: '<', value: 500 });
    expect(passes(t, { 'p(99)': 499.9 })).toBe(true);
    expect(passes(t, { 'p(99)': 500 })).toBe(false);
    expect(passes(parseThreshold('count==0', 'c', 'counter'), { count: 0, rate: 0 })).toBe(true);
    expect(passes(parseThreshold('count >= 24', 'c', 'counter'), { count: 23, rate: 1 })).toBe(
      false,
    );
    expect(passes(parseThreshold('rate<=0.01', 'r', 'rate'), { rate: 0.01 })).toBe(true);
    expect(passes(parseThreshold('rate!=0', 'r', 'rate'), { rate: 0 })).toBe(false);
    expect(() => parseThreshold('p(99)<500', 'c', 'counter')).toThrow(
      /not an aggregation of a counter/,
    );
    expect(() => parseThreshold('rate<1', 't', 'trend')).toThrow(/not an aggregation of a trend/);
    expect(() => parseThreshold('p99 < 5', 't', 'trend')).toThrow(
      /<aggregation> <operator> <number>/,
    );
  });

  it("aggregates as k6 does: interpolated percentiles, a counter's rate over the run, empty sinks as zero", () => {
    const r = new MetricRegistry();
    for (const v of [10, 20, 30, 40])
      r.add({ metric: 'lat', kind: 'trend', isTime: true, value: v });
    const trend = r.values('lat', ['avg', 'min', 'med', 'max', 'p(90)', 'p(99)', 'count'], 1000);
    // k6: i = pct * (n - 1), linear between neighbours.
    expect(trend).toMatchObject({ avg: 25, min: 10, med: 25, max: 40, 'p(90)': 37, count: 4 });
    expect(trend['p(99)']).toBeCloseTo(39.7, 9);
    for (const v of [3, 4]) r.add({ metric: 'sent', kind: 'counter', isTime: false, value: v });
    expect(r.values('sent', [], 2000)).toEqual({ count: 7, rate: 3.5 });
    for (const v of [1, 0, 1, 1]) r.add({ metric: 'ok', kind: 'rate', isTime: false, value: v });
    expect(r.values('ok', [], 1000)).toEqual({ rate: 0.75, passes: 3, fails: 1 });
    r.define('never', 'trend', true);
    expect(r.values('never', ['p(99)', 'max'], 1000)).toEqual({ 'p(99)': 0, max: 0 });
    r.define('nothing', 'rate', false);
    expect(r.values('nothing', [], 1000)).toEqual({ rate: 0, passes: 0, fails: 0 });
    expect(() => r.define('lat', 'counter', false)).toThrow(/already a trend/);
    expect(() => r.define('bad{name}', 'counter', false)).toThrow(/invalid metric name/);
  });
});
