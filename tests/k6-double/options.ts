// The k6 options this double understands. Anything else is refused by name, so a script that
// relies on an option the double would silently ignore fails here instead of passing untested.
import { z } from 'zod';
import { parseDurationMs } from './durations.js';

const duration = z.union([z.string(), z.number()]);
const positiveInt = z.number().int().positive();

const common = {
  exec: z.string().optional(),
  startTime: duration.optional(),
  gracefulStop: duration.optional(),
  env: z.record(z.string(), z.string()).optional(),
};

const perVuIterations = z.strictObject({
  executor: z.literal('per-vu-iterations'),
  vus: positiveInt.default(1),
  iterations: positiveInt.default(1),
  maxDuration: duration.default('10m'),
  ...common,
});
const constantVus = z.strictObject({
  executor: z.literal('constant-vus'),
  vus: positiveInt.default(1),
  duration: duration,
  ...common,
});
const rampingVus = z.strictObject({
  executor: z.literal('ramping-vus'),
  startVUs: z.number().int().min(0).default(1),
  stages: z.array(z.strictObject({ duration, target: z.number().int().min(0) })).min(1),
  gracefulRampDown: duration.default('30s'),
  ...common,
});
const constantArrivalRate = z.strictObject({
  executor: z.literal('constant-arrival-rate'),
  rate: positiveInt,
  timeUnit: duration.default('1s'),
  duration,
  preAllocatedVUs: positiveInt,
  maxVUs: positiveInt.optional(),
  ...common,
});

export const scenarioSchema = z.discriminatedUnion('executor', [
  perVuIterations,
  constantVus,
  rampingVus,
  constantArrivalRate,
]);

const thresholdEntry = z.union([
  z.string(),
  z.strictObject({
    threshold: z.string(),
    abortOnFail: z.literal(false).optional(),
    delayAbortEval: z.string().optional(),
  }),
]);

export const optionsSchema = z.strictObject({
  scenarios: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), scenarioSchema),
  thresholds: z.record(z.string(), z.array(thresholdEntry)).default({}),
  summaryTrendStats: z.array(z.string()).default(['avg', 'min', 'med', 'max', 'p(90)', 'p(95)']),
  setupTimeout: duration.default('60s'),
  teardownTimeout: duration.default('60s'),
});

export type Scenario = z.output<typeof scenarioSchema>;
export type Options = z.output<typeof optionsSchema>;

export function parseOptions(raw: unknown): Options {
  const thresholds =
    (raw as { thresholds?: Record<string, unknown[]> } | undefined)?.thresholds ?? {};
  for (const [metric, entries] of Object.entries(thresholds))
    for (const entry of Array.isArray(entries) ? entries : [])
      if (entry && typeof entry === 'object' && (entry as { abortOnFail?: unknown }).abortOnFail)
        throw new Error(
          `options.thresholds.${metric}: abortOnFail is not supported by the k6 double`,
        );
  const parsed = optionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `options.${i.path.join('.')}: ${i.message}`);
    throw new Error(`the k6 double does not support these options:\n  ${problems.join('\n  ')}`);
  }
  // Durations are checked now, not when the scenario gets to them.
  for (const [name, s] of Object.entries(parsed.data.scenarios)) {
    for (const [key, value] of Object.entries(s))
      if (
        [
          'startTime',
          'gracefulStop',
          'maxDuration',
          'duration',
          'timeUnit',
          'gracefulRampDown',
        ].includes(key)
      )
        parseDurationMs(value as string | number, `scenarios.${name}.${key}`);
    if (s.executor === 'ramping-vus')
      s.stages.forEach((st, i) =>
        parseDurationMs(st.duration, `scenarios.${name}.stages[${i}].duration`),
      );
  }
  return parsed.data;
}
