// Scenario executors of the k6 double: per-vu-iterations, constant-vus, ramping-vus and
// constant-arrival-rate, with k6's startTime, gracefulStop and gracefulRampDown. Simple and
// bounded: VUs are worker threads made up front (or on demand up to maxVUs), iterations are
// started at the executor's times, and whatever still runs past its grace period is interrupted.
import { parseDurationMs } from './durations.js';
import type { MetricRegistry } from './metrics.js';
import type { Scenario } from './options.js';
import type { ScenarioInfo } from './protocol.js';
import type { VuHost } from './vu-host.js';

export interface ExecutorContext {
  name: string;
  scenario: Scenario;
  /** The VUs made before the test started (initialVus()), as k6 initialises them up front. */
  hosts: VuHost[];
  /** More VUs during the run (constant-arrival-rate up to maxVUs). */
  spawn: () => Promise<VuHost>;
  registry: MetricRegistry;
  aborted: () => boolean;
  /** Resolves when the test is aborted. */
  abortSignal: Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

class Run {
  readonly info: ScenarioInfo;
  readonly exec: string;
  readonly gracefulStopMs: number;
  private iterationInTest = 0;
  readonly running = new Set<Promise<void>>();

  constructor(readonly ctx: ExecutorContext) {
    this.exec = ctx.scenario.exec ?? 'default';
    this.gracefulStopMs = parseDurationMs(ctx.scenario.gracefulStop ?? '30s', 'gracefulStop');
    this.info = { name: ctx.name, executor: ctx.scenario.executor, startTime: Date.now() };
  }

  start(host: VuHost): Promise<void> {
    const p = host.iterate(this.exec, this.info, this.iterationInTest++).then(() => undefined);
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return p;
  }

  /** Waits for running iterations up to the grace period, then interrupts them. */
  async finish(hosts: VuHost[]): Promise<void> {
    const all = Promise.all([...this.running]);
    const graceOver = sleep(this.gracefulStopMs).then(() => 'timeout' as const);
    if (
      (await Promise.race([
        all.then(() => 'done' as const),
        graceOver,
        this.ctx.abortSignal.then(() => 'timeout' as const),
      ])) === 'timeout'
    ) {
      for (const h of hosts) if (h.busy) h.interrupt();
      await all;
    }
  }
}

/** How many VUs a scenario needs before it starts. */
export function initialVus(s: Scenario): number {
  switch (s.executor) {
    case 'per-vu-iterations':
    case 'constant-vus':
      return s.vus;
    case 'ramping-vus':
      return Math.max(s.startVUs, ...s.stages.map((st) => st.target));
    case 'constant-arrival-rate':
      return s.preAllocatedVUs;
  }
}

export async function runScenario(ctx: ExecutorContext): Promise<void> {
  const s = ctx.scenario;
  switch (s.executor) {
    case 'per-vu-iterations':
    case 'constant-vus': {
      const hosts = ctx.hosts;
      const run = new Run(ctx);
      const limitMs = parseDurationMs(
        s.executor === 'per-vu-iterations' ? s.maxDuration : s.duration,
        'duration',
      );
      const stopAt = run.info.startTime + limitMs;
      const more = (done: number) =>
        !ctx.aborted() &&
        Date.now() < stopAt &&
        (s.executor === 'constant-vus' || done < s.iterations);
      const loops = hosts.map(async (h) => {
        for (let done = 0; more(done); done += 1) await run.start(h);
      });
      const allDone = Promise.all(loops).then(() => 'done' as const);
      const cut = await Promise.race([
        allDone,
        sleep(stopAt - Date.now()).then(() => 'limit' as const),
        ctx.abortSignal.then(() => 'limit' as const),
      ]);
      if (cut === 'limit') await run.finish(hosts);
      await allDone;
      return;
    }
    case 'ramping-vus': {
      const stages = s.stages.map((st) => ({
        ms: parseDurationMs(st.duration, 'stage'),
        target: st.target,
      }));
      const totalMs = stages.reduce((t, st) => t + st.ms, 0);
      const rampDownMs = parseDurationMs(s.gracefulRampDown, 'gracefulRampDown');
      const hosts = ctx.hosts;
      const run = new Run(ctx);
      const target = (elapsed: number) => {
        let from = s.startVUs;
        let t = elapsed;
        for (const st of stages) {
          if (t < st.ms) return Math.floor(from + ((st.target - from) * t) / st.ms);
          t -= st.ms;
          from = st.target;
        }
        return from;
      };
      const endAt = run.info.startTime + totalMs;
      const inactiveSince = new Map<VuHost, number>();
      const loops = hosts.map(async (h, i) => {
        while (!ctx.aborted() && Date.now() < endAt) {
          if (target(Date.now() - run.info.startTime) > i) await run.start(h);
          else await sleep(20);
        }
      });
      // Ramp-down: a VU above the target finishes its iteration within gracefulRampDown.
      const ticker = setInterval(() => {
        const t = target(Date.now() - run.info.startTime);
        hosts.forEach((h, i) => {
          if (!h.busy || i < t) {
            inactiveSince.delete(h);
            return;
          }
          const since = inactiveSince.get(h) ?? Date.now();
          inactiveSince.set(h, since);
          if (Date.now() - since > rampDownMs) h.interrupt();
        });
        ctx.registry.add({
          metric: 'vus',
          kind: 'gauge',
          isTime: false,
          value: hosts.filter((h) => h.busy).length,
        });
      }, 50);
      await Promise.race([sleep(endAt - Date.now()), ctx.abortSignal]);
      clearInterval(ticker);
      await run.finish(hosts);
      await Promise.all(loops);
      return;
    }
    case 'constant-arrival-rate': {
      const unitMs = parseDurationMs(s.timeUnit, 'timeUnit');
      const durationMs = parseDurationMs(s.duration, 'duration');
      const maxVUs = Math.max(s.maxVUs ?? s.preAllocatedVUs, s.preAllocatedVUs);
      const hosts = [...ctx.hosts];
      const run = new Run(ctx);
      const everyMs = unitMs / s.rate;
      let spawning = 0;
      for (let i = 0; ; i += 1) {
        const at = run.info.startTime + i * everyMs;
        if (at >= run.info.startTime + durationMs || ctx.aborted()) break;
        await sleep(at - Date.now());
        const idle = hosts.find((h) => !h.busy);
        if (idle) {
          void run.start(idle);
        } else if (hosts.length + spawning < maxVUs) {
          spawning += 1;
          void ctx.spawn().then((h) => {
            spawning -= 1;
            hosts.push(h);
            void run.start(h);
          });
        } else {
          ctx.registry.add({
            metric: 'dropped_iterations',
            kind: 'counter',
            isTime: false,
            value: 1,
          });
        }
      }
      await run.finish(hosts);
      return;
    }
  }
}
