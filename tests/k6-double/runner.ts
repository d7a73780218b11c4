// The k6 double's test run: init, setup(), the scenarios, teardown(), thresholds and
// handleSummary(), in k6's order, with k6's exit codes.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from './console-log.js';
import { parseDurationMs } from './durations.js';
import { initialVus, runScenario } from './executors.js';
import { MetricRegistry, type MetricKind } from './metrics.js';
import { parseOptions, type Options } from './options.js';
import { parseThreshold, passes, type Threshold } from './thresholds.js';
import { VuHost, type CheckTally, type Shared } from './vu-host.js';

export const EXIT = {
  OK: 0,
  THRESHOLDS_FAILED: 99,
  INVALID_CONFIG: 104,
  SCRIPT_EXCEPTION: 107,
  ABORTED: 108,
} as const;

/** Metrics the double itself emits (the subset of k6's built-ins it can measure honestly). */
const BUILT_IN: [string, MetricKind, boolean][] = [
  ['checks', 'rate', false],
  ['iterations', 'counter', false],
  ['iteration_duration', 'trend', true],
  ['dropped_iterations', 'counter', false],
  ['http_reqs', 'counter', false],
  ['http_req_duration', 'trend', true],
  ['http_req_failed', 'rate', false],
  ['ws_sessions', 'counter', false],
  ['ws_connecting', 'trend', true],
  ['ws_msgs_sent', 'counter', false],
  ['ws_msgs_received', 'counter', false],
  ['vus', 'gauge', false],
  ['vus_max', 'gauge', false],
];

export interface RunOptions {
  script: string;
  env: Record<string, string>;
  logger: Logger;
}

class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export async function runTest(opts: RunOptions): Promise<number> {
  const registry = new MetricRegistry();
  for (const [name, kind, isTime] of BUILT_IN) registry.define(name, kind, isTime);
  const checks = new Map<string, CheckTally>();
  let abortReason: string | undefined;
  let signalAbort: () => void = () => {};
  const abortSignal = new Promise<void>((r) => (signalAbort = r));
  const shared: Shared = {
    scriptUrl: pathToFileURL(resolve(opts.script)).href,
    logger: opts.logger,
    registry,
    checks,
    onAbort: (reason) => {
      if (abortReason !== undefined) return;
      abortReason = reason;
      opts.logger.runner('error', `test aborted: ${reason}`);
      signalAbort();
    },
  };
  const hosts: VuHost[] = [];
  const started = Date.now();
  const control = new VuHost(0, opts.env, undefined, shared);
  hosts.push(control);
  try {
    let ready;
    try {
      ready = await control.ready;
    } catch (err) {
      throw new StartupError((err as Error).message, EXIT.SCRIPT_EXCEPTION);
    }
    let options: Options;
    try {
      options = parseOptions(ready.options);
      for (const def of ready.metrics) registry.define(def.name, def.kind, def.isTime);
    } catch (err) {
      throw new StartupError((err as Error).message, EXIT.INVALID_CONFIG);
    }
    const thresholds = parseThresholds(options, registry);
    for (const [name, s] of Object.entries(options.scenarios)) {
      const exec = s.exec ?? 'default';
      if (!ready.exports.includes(exec))
        throw new StartupError(
          `scenario ${name}: the script exports no function "${exec}"`,
          EXIT.INVALID_CONFIG,
        );
    }

    let setupJson: string | undefined;
    if (ready.exports.includes('setup')) {
      const setup = await withTimeout(
        control.call('setup', undefined),
        parseDurationMs(options.setupTimeout, 'setupTimeout'),
        'setup()',
      );
      if (!setup.ok)
        throw new StartupError(`setup() failed: ${setup.error}`, EXIT.SCRIPT_EXCEPTION);
      setupJson = setup.resultJson;
    }

    let nextVuId = 1;
    let vusMax = 0;
    const spawn = async (scenarioEnv: Record<string, string> | undefined) => {
      const host = new VuHost(
        nextVuId++,
        { ...opts.env, ...(scenarioEnv ?? {}) },
        setupJson,
        shared,
      );
      hosts.push(host);
      vusMax += 1;
      registry.add({ metric: 'vus_max', kind: 'gauge', isTime: false, value: vusMax });
      await host.ready;
      return host;
    };
    // Every VU is initialised before the test starts, so scenario start times line up as in k6.
    const prepared = await Promise.all(
      Object.entries(options.scenarios).map(async ([name, scenario]) => ({
        name,
        scenario,
        hosts: await Promise.all(
          Array.from({ length: initialVus(scenario) }, () => spawn(scenario.env)),
        ),
      })),
    );
    const testStart = Date.now();
    await Promise.all(
      prepared.map(async ({ name, scenario, hosts: initial }) => {
        const startAt = testStart + parseDurationMs(scenario.startTime ?? 0, 'startTime');
        await Promise.race([sleepMs(startAt - Date.now()), abortSignal]);
        if (abortReason !== undefined) return;
        await runScenario({
          name,
          scenario,
          hosts: initial,
          spawn: () => spawn(scenario.env),
          registry,
          aborted: () => abortReason !== undefined,
          abortSignal,
        });
      }),
    );

    if (ready.exports.includes('teardown')) {
      const teardown = await withTimeout(
        control.call('teardown', setupJson),
        parseDurationMs(options.teardownTimeout, 'teardownTimeout'),
        'teardown()',
      );
      if (!teardown.ok) opts.logger.runner('error', `teardown() failed: ${teardown.error}`);
    }

    const durationMs = Date.now() - started;
    const { data, failed } = summaryData(
      registry,
      thresholds,
      checks,
      options,
      durationMs,
      setupJson,
    );
    if (ready.exports.includes('handleSummary')) {
      const summary = await control.call('handleSummary', JSON.stringify(data));
      if (!summary.ok) opts.logger.runner('error', `handleSummary() failed: ${summary.error}`);
      else writeOutputs(summary.resultJson);
    } else {
      process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    }
    for (const name of failed)
      opts.logger.runner('error', `thresholds on metrics '${name}' have been crossed`);
    if (abortReason !== undefined) return EXIT.ABORTED;
    return failed.length > 0 ? EXIT.THRESHOLDS_FAILED : EXIT.OK;
  } catch (err) {
    if (err instanceof StartupError) {
      opts.logger.runner('error', err.message);
      return err.exitCode;
    }
    throw err;
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
}

function parseThresholds(options: Options, registry: MetricRegistry): Map<string, Threshold[]> {
  const out = new Map<string, Threshold[]>();
  for (const [metric, entries] of Object.entries(options.thresholds)) {
    if (metric.includes('{'))
      throw new StartupError(
        `thresholds on sub-metrics (${metric}) are not supported by the k6 double`,
        EXIT.INVALID_CONFIG,
      );
    const info = registry.metrics.get(metric);
    if (!info)
      throw new StartupError(
        `invalid threshold defined on ${metric}; reason: no metric name "${metric}" found`,
        EXIT.INVALID_CONFIG,
      );
    try {
      out.set(
        metric,
        entries.map((e) =>
          parseThreshold(typeof e === 'string' ? e : e.threshold, metric, info.kind),
        ),
      );
    } catch (err) {
      throw new StartupError((err as Error).message, EXIT.INVALID_CONFIG);
    }
  }
  return out;
}

/** The object handleSummary() receives, shaped as k6's (legacy) summary data. */
function summaryData(
  registry: MetricRegistry,
  thresholds: Map<string, Threshold[]>,
  checks: Map<string, CheckTally>,
  options: Options,
  durationMs: number,
  setupJson: string | undefined,
) {
  const metrics: Record<string, unknown> = {};
  const failed: string[] = [];
  for (const info of registry.metrics.values()) {
    const own = thresholds.get(info.name);
    if (!info.observed && !own) continue;
    const values = info.sink.summary(options.summaryTrendStats, durationMs);
    const entry: Record<string, unknown> = {
      type: info.kind,
      contains: info.isTime ? 'time' : 'default',
      values,
    };
    if (own) {
      const results: Record<string, { ok: boolean }> = {};
      let anyFailed = false;
      for (const t of own) {
        const forThreshold =
          info.kind === 'trend' ? { [t.aggregation]: info.sink.trendStat(t.aggregation) } : values;
        const ok = passes(t, forThreshold);
        results[t.source] = { ok };
        if (!ok) anyFailed = true;
      }
      entry.thresholds = results;
      if (anyFailed) failed.push(info.name);
    }
    metrics[info.name] = entry;
  }
  const data = {
    root_group: {
      name: '',
      path: '',
      id: 'd41d8cd98f00b204e9800998ecf8427e',
      groups: [],
      checks: [...checks.entries()].map(([name, t]) => ({
        name,
        path: `::${name}`,
        id: name,
        passes: t.passes,
        fails: t.fails,
      })),
    },
    options: { summaryTrendStats: options.summaryTrendStats, summaryTimeUnit: '', noColor: true },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
    metrics,
    setup_data: setupJson === undefined ? undefined : JSON.parse(setupJson),
  };
  return { data, failed: failed.sort() };
}

function writeOutputs(resultJson: string | undefined): void {
  if (resultJson === undefined) return;
  const outputs = JSON.parse(resultJson) as Record<string, string>;
  for (const [target, content] of Object.entries(outputs)) {
    if (typeof content !== 'string')
      throw new Error(`handleSummary: the value for "${target}" is not a string`);
    if (target === 'stdout') process.stdout.write(content);
    else if (target === 'stderr') process.stderr.write(content);
    else writeFileSync(target, content);
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new StartupError(`${what} did not finish within ${ms} ms`, EXIT.SCRIPT_EXCEPTION),
            ),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
