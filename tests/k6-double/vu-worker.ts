// One VU of the k6 double, in its own worker thread (its own module instances and globals, as
// each k6 VU has its own JavaScript runtime). Loads the script (the init context), then runs
// what the runner asks: iterations of a scenario's function, or setup/teardown/handleSummary.
import { register } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { ToVu, VuWorkerData } from './protocol.js';
import { describeError, installRuntime, VuRuntime } from './vu-runtime.js';

register('./hooks.js', import.meta.url);

const data = workerData as VuWorkerData;
const rt = new VuRuntime(data.vuId, data.env, data.httpPort, data.httpSignal);
installRuntime(rt);

// k6 globals: __ENV, __VU, __ITER, the timer functions, and console routed to the runner.
const g = globalThis as Record<string, unknown>;
g.__ENV = Object.freeze({ ...data.env });
g.__VU = data.vuId;
Object.defineProperty(g, '__ITER', { get: () => rt.iter });
g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
  rt.setTimer(fn, ms ?? 0, args, false);
g.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
  rt.setTimer(fn, ms ?? 0, args, true);
g.clearTimeout = (id: unknown) => rt.clearTimer(id);
g.clearInterval = (id: unknown) => rt.clearTimer(id);
const format = (args: unknown[]) =>
  args
    .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a)))
    .join(' ');
g.console = {
  log: (...a: unknown[]) => rt.log('info', format(a)),
  info: (...a: unknown[]) => rt.log('info', format(a)),
  debug: (...a: unknown[]) => rt.log('debug', format(a)),
  warn: (...a: unknown[]) => rt.log('warn', format(a)),
  error: (...a: unknown[]) => rt.log('error', format(a)),
};
process.on('unhandledRejection', (reason) =>
  rt.log('error', `Uncaught (in promise): ${describeError(reason)}`, 'runtime'),
);

let script: Record<string, unknown>;
try {
  script = (await import(data.scriptUrl)) as Record<string, unknown>;
} catch (err) {
  rt.post({ type: 'init-failed', error: describeError(err) });
  await new Promise(() => {});
}
const setupData: unknown = data.setupJson === undefined ? undefined : JSON.parse(data.setupJson);
rt.post({
  type: 'ready',
  options: JSON.parse(JSON.stringify(script!.options ?? {})),
  exports: Object.keys(script!).filter((k) => typeof script[k] === 'function'),
  metrics: rt.metricDefs,
});

/** Calls a script function and waits for the VU's event loop to drain. */
async function runToIdle(
  fn: () => unknown,
): Promise<{ ok: boolean; value?: unknown; error?: string }> {
  let outcome: { ok: boolean; value?: unknown; error?: string } = { ok: true };
  let settled = false;
  try {
    const result = fn();
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(
        (value) => {
          outcome = { ok: true, value };
          settled = true;
        },
        (err: unknown) => {
          outcome = { ok: false, error: describeError(err) };
          settled = true;
        },
      );
    } else {
      outcome = { ok: true, value: result };
      settled = true;
    }
  } catch (err) {
    outcome = { ok: false, error: describeError(err) };
    settled = true;
  }
  await rt.waitForIdle();
  if (!settled && outcome.ok) outcome = { ok: true, value: undefined };
  return outcome;
}

let interrupted = false;
parentPort!.on('message', (msg: ToVu) => {
  void handle(msg);
});

async function handle(msg: ToVu): Promise<void> {
  switch (msg.type) {
    case 'interrupt':
      interrupted = true;
      rt.interrupt();
      return;
    case 'iterate': {
      const fn = script[msg.exec];
      rt.phase = 'vu';
      rt.scenario = msg.scenario;
      rt.iterationInTest = msg.iterationInTest;
      rt.iterationInScenario = msg.iterationInScenario;
      interrupted = false;
      const started = Date.now();
      const outcome =
        typeof fn === 'function'
          ? await runToIdle(() => (fn as (d: unknown) => unknown)(setupData))
          : { ok: false, error: `the script exports no function "${msg.exec}"` };
      if (!outcome.ok) rt.log('error', outcome.error ?? 'iteration failed', 'runtime');
      if (!interrupted) {
        rt.sample('iterations', 'counter', 1);
        rt.sample('iteration_duration', 'trend', Date.now() - started, true);
      }
      rt.iter += 1;
      rt.flush();
      rt.post({
        type: 'iteration-done',
        ok: outcome.ok,
        interrupted,
        ...(outcome.error ? { error: outcome.error } : {}),
      });
      return;
    }
    case 'call': {
      const fn = script[msg.fn];
      rt.phase = msg.fn === 'handleSummary' ? 'summary' : msg.fn;
      const arg: unknown = msg.argJson === undefined ? undefined : JSON.parse(msg.argJson);
      const outcome =
        typeof fn === 'function'
          ? await runToIdle(() => (fn as (d: unknown) => unknown)(arg))
          : { ok: false, error: `the script exports no function "${msg.fn}"` };
      rt.flush();
      let resultJson: string | undefined;
      if (outcome.ok && outcome.value !== undefined) {
        try {
          resultJson = JSON.stringify(outcome.value);
        } catch (err) {
          outcome.ok = false;
          outcome.error = `${msg.fn}() returned something that is not JSON: ${describeError(err)}`;
        }
      }
      rt.post({
        type: 'call-done',
        ok: outcome.ok,
        ...(resultJson !== undefined ? { resultJson } : {}),
        ...(outcome.error ? { error: outcome.error } : {}),
      });
      return;
    }
  }
}
