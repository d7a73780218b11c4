// Metric sinks with k6's aggregation rules (percentiles by linear interpolation between the
// sorted samples, counters' rate over the whole run), and the registry the runner keeps.
export type MetricKind = 'counter' | 'gauge' | 'rate' | 'trend';

export interface Sample {
  metric: string;
  kind: MetricKind;
  isTime: boolean;
  value: number;
}

class Sink {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  last = 0;
  trues = 0;
  values: number[] = [];
  sorted = true;

  constructor(readonly kind: MetricKind) {}

  add(value: number): void {
    this.count += 1;
    this.sum += value;
    this.last = value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.kind === 'rate' && value !== 0) this.trues += 1;
    if (this.kind === 'trend') {
      this.values.push(value);
      this.sorted = false;
    }
  }

  /** k6's TrendSink.P: linear interpolation at pct * (n - 1). */
  percentile(pct: number): number {
    if (this.count === 0) return 0;
    if (this.count === 1) return this.values[0]!;
    if (!this.sorted) {
      this.values.sort((a, b) => a - b);
      this.sorted = true;
    }
    const i = pct * (this.values.length - 1);
    const lo = this.values[Math.floor(i)]!;
    const hi = this.values[Math.ceil(i)]!;
    return lo + (hi - lo) * (i - Math.floor(i));
  }

  summary(trendStats: string[], durationMs: number): Record<string, number> {
    const empty = this.count === 0;
    switch (this.kind) {
      case 'counter':
        return { count: this.sum, rate: durationMs > 0 ? this.sum / (durationMs / 1000) : 0 };
      case 'gauge':
        return { value: this.last, min: empty ? 0 : this.min, max: empty ? 0 : this.max };
      case 'rate':
        return {
          rate: empty ? 0 : this.trues / this.count,
          passes: this.trues,
          fails: this.count - this.trues,
        };
      case 'trend': {
        const out: Record<string, number> = {};
        for (const stat of trendStats) out[stat] = this.trendStat(stat);
        return out;
      }
    }
  }

  trendStat(stat: string): number {
    switch (stat) {
      case 'avg':
        return this.count === 0 ? 0 : this.sum / this.count;
      case 'min':
        return this.count === 0 ? 0 : this.min;
      case 'max':
        return this.count === 0 ? 0 : this.max;
      case 'med':
        return this.percentile(0.5);
      case 'count':
        return this.count;
      default: {
        const m = /^p\((\d+(?:\.\d+)?)\)$/.exec(stat);
        if (!m) throw new Error(`summaryTrendStats: unknown stat "${stat}"`);
        return this.percentile(Number(m[1]) / 100);
      }
    }
  }
}

export interface MetricInfo {
  name: string;
  kind: MetricKind;
  isTime: boolean;
  sink: Sink;
  observed: boolean;
}

const NAME = /^[\p{L}\p{N}._ !?/&#()<>%-]{1,128}$/u;

export class MetricRegistry {
  readonly metrics = new Map<string, MetricInfo>();

  define(name: string, kind: MetricKind, isTime: boolean): MetricInfo {
    if (!NAME.test(name)) throw new Error(`invalid metric name "${name}"`);
    const known = this.metrics.get(name);
    if (known) {
      if (known.kind !== kind || known.isTime !== isTime)
        throw new Error(
          `metric ${name} is already a ${known.kind}${known.isTime ? ' of times' : ''}`,
        );
      return known;
    }
    const info = { name, kind, isTime, sink: new Sink(kind), observed: false };
    this.metrics.set(name, info);
    return info;
  }

  add(sample: Sample): void {
    const info = this.define(sample.metric, sample.kind, sample.isTime);
    info.observed = true;
    info.sink.add(sample.value);
  }

  values(name: string, trendStats: string[], durationMs: number): Record<string, number> {
    const info = this.metrics.get(name);
    if (!info) throw new Error(`no metric ${name}`);
    // Thresholds may use any percentile, not only the ones summarised.
    return info.sink.summary(trendStats, durationMs);
  }

  sink(name: string): Sink | undefined {
    return this.metrics.get(name)?.sink;
  }
}

export function valuesForThreshold(
  sink: { summary: Sink['summary']; trendStat: Sink['trendStat']; kind: MetricKind },
  aggregation: string,
  durationMs: number,
): Record<string, number> {
  if (sink.kind === 'trend') return { [aggregation]: sink.trendStat(aggregation) };
  return sink.summary([], durationMs);
}
