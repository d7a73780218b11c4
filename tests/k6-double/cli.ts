// A TEST DOUBLE OF k6, NOT k6. It runs this repository's k6 scripts (loadtest/k6/) on Node so
// they can be proven against the real gateway on machines where k6 cannot be built (it is
// AGPL). It provides only the k6 APIs those scripts use, as k6 v1.x documents them: k6 (check,
// sleep), k6/http (request, get, post, batch, expectedStatuses), k6/websockets (WebSocket),
// k6/metrics (Counter, Gauge, Rate, Trend), k6/execution, k6/timers, __ENV, __VU, __ITER,
// options.scenarios with the per-vu-iterations, constant-vus, ramping-vus and
// constant-arrival-rate executors, thresholds, setup/teardown and handleSummary. Anything else
// is refused with an error rather than ignored. Each VU is a worker thread, as each k6 VU is
// its own JavaScript runtime; k6/http blocks the VU as k6's does.
//
//   npx tsc -p tests/k6-double/tsconfig.json
//   node .cache/k6-double/cli.js run [-e NAME=VALUE]... [--console-output FILE]
//        [--log-format raw|json] script.js
//
// Exit codes as k6's: 0, 99 (thresholds crossed), 104 (invalid options), 107 (script error),
// 108 (aborted).
import { parseArgs } from 'node:util';
import { Logger, type LogFormat } from './console-log.js';
import { runTest } from './runner.js';

const USAGE =
  'usage: k6-double run [-e NAME=VALUE]... [--console-output FILE] [--log-format raw|json] script.js';

async function main(argv: string[]): Promise<number> {
  if (argv[0] !== 'run') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      options: {
        env: { type: 'string', short: 'e', multiple: true },
        'console-output': { type: 'string' },
        'log-format': { type: 'string' },
        // k6 takes --include-system-env-vars=false; parseArgs' booleans take no value.
        'include-system-env-vars': { type: 'string', default: 'true' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const script = parsed.positionals[0];
  const format = (parsed.values['log-format'] ?? 'text') as LogFormat;
  if (!script || parsed.positionals.length > 1 || !['text', 'raw', 'json'].includes(format)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const env: Record<string, string> = {};
  if (parsed.values['include-system-env-vars'] !== 'false')
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const pair of parsed.values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      process.stderr.write(`-e ${pair}: expected NAME=VALUE\n`);
      return 2;
    }
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const logger = new Logger(format, parsed.values['console-output']);
  return runTest({ script, env, logger });
}

// Exit at once: every VU is stopped by now, and nothing else may keep the run alive.
process.exit(await main(process.argv.slice(2)));
