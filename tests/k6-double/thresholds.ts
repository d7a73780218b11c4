// k6 threshold expressions (`p(99)<500`, `count==0`, `rate<=0.01`) and their evaluation over the
// summary values, with the aggregations k6 allows per metric type.
import type { MetricKind } from './metrics.js';

export interface Threshold {
  source: string;
  aggregation: string;
  operator: string;
  value: number;
}

const EXPR =
  /^\s*(count|rate|value|avg|min|max|med|p\(\d+(?:\.\d+)?\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/;

const ALLOWED: Record<MetricKind, (agg: string) => boolean> = {
  counter: (a) => a === 'count' || a === 'rate',
  gauge: (a) => a === 'value',
  rate: (a) => a === 'rate',
  trend: (a) => ['avg', 'min', 'max', 'med'].includes(a) || a.startsWith('p('),
};

export function parseThreshold(source: string, metric: string, kind: MetricKind): Threshold {
  const m = EXPR.exec(source);
  if (!m)
    throw new Error(`threshold "${source}" on ${metric}: not "<aggregation> <operator> <number>"`);
  const aggregation = m[1]!;
  if (!ALLOWED[kind](aggregation))
    throw new Error(
      `threshold "${source}" on ${metric}: ${aggregation} is not an aggregation of a ${kind} metric`,
    );
  return { source, aggregation, operator: m[2]!, value: Number(m[3]) };
}

/** Evaluates against the metric's summary values (trend percentiles as `p(N)` keys). */
export function passes(t: Threshold, values: Record<string, number>): boolean {
  const actual = values[t.aggregation];
  if (actual === undefined) throw new Error(`threshold "${t.source}": no ${t.aggregation} value`);
  switch (t.operator) {
    case '<':
      return actual < t.value;
    case '<=':
      return actual <= t.value;
    case '>':
      return actual > t.value;
    case '>=':
      return actual >= t.value;
    case '==':
    case '===':
      return actual === t.value;
    case '!=':
      return actual !== t.value;
    default:
      throw new Error(`unknown operator ${t.operator}`);
  }
}
