// 'k6/metrics' in the double: Counter, Gauge, Rate and Trend, created in the init context.
import type { MetricKind } from '../metrics.js';
import { runtime } from '../vu-runtime.js';

class Metric {
  readonly name: string;
  constructor(
    name: string,
    private readonly kind: MetricKind,
    private readonly isTime: boolean,
  ) {
    if (typeof name !== 'string' || name === '') throw new Error('a metric needs a name');
    this.name = name;
    runtime().defineMetric(name, kind, isTime);
  }

  add(value: number | boolean, _tags?: Record<string, string>): void {
    const v = typeof value === 'boolean' ? (value ? 1 : 0) : Number(value);
    runtime().sample(this.name, this.kind, v, this.isTime);
  }
}

export class Counter extends Metric {
  constructor(name: string) {
    super(name, 'counter', false);
  }
}
export class Gauge extends Metric {
  constructor(name: string, isTime = false) {
    super(name, 'gauge', isTime);
  }
}
export class Rate extends Metric {
  constructor(name: string) {
    super(name, 'rate', false);
  }
}
export class Trend extends Metric {
  constructor(name: string, isTime = false) {
    super(name, 'trend', isTime);
  }
}

export default { Counter, Gauge, Rate, Trend };
