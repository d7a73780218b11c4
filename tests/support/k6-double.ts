// Runs this repository's k6 scripts with the k6 test double (tests/k6-double), which stands in
// for k6 where k6 cannot be built. Compiled once per test file into .cache/k6-double.
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname, '../..');
const CLI = resolve(ROOT, '.cache/k6-double/cli.js');

let compiled: Promise<void> | undefined;

/** Compiles the double (types are checked by `npm run typecheck`, so emit only). */
export function compileK6Double(): Promise<void> {
  compiled ??= promisify(execFile)(
    process.execPath,
    [
      resolve(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      resolve(ROOT, 'tests/k6-double/tsconfig.json'),
      '--noCheck',
    ],
    { cwd: ROOT },
  ).then(() => undefined);
  return compiled;
}

export interface K6Run {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface K6RunOptions {
  env: Record<string, string>;
  consoleOutput?: string;
  logFormat?: 'raw' | 'json' | 'text';
  /** Killed (and the run reported as failed) after this long. */
  timeoutMs: number;
}

/** `k6 run -e ... loadtest/k6/<script>` with the double. */
export function runK6(script: string, opts: K6RunOptions): Promise<K6Run> {
  return runK6File(resolve(ROOT, 'loadtest/k6', script), opts);
}

/** `k6 run -e ... <file>` with the double. */
export function runK6File(file: string, opts: K6RunOptions): Promise<K6Run> {
  const script = file;
  const args = [CLI, 'run', '--include-system-env-vars=false'];
  for (const [k, v] of Object.entries(opts.env)) args.push('-e', `${k}=${v}`);
  if (opts.consoleOutput) args.push('--console-output', opts.consoleOutput);
  if (opts.logFormat) args.push('--log-format', opts.logFormat);
  args.push(file);
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${script} did not finish within ${opts.timeoutMs} ms; stderr:\n${stderr.slice(-4000)}`,
        ),
      );
    }, opts.timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}

export interface Summary {
  scenario: string;
  ok: boolean;
  thresholds: { metric: string; threshold: string; ok: boolean }[];
  params: Record<string, unknown>;
  setup: any;
  metrics: Record<
    string,
    { type: string; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }
  >;
}

export async function readSummary(file: string): Promise<Summary> {
  return JSON.parse(await readFile(file, 'utf8')) as Summary;
}

/** A metric's summary value, 0 when the metric never got a sample. */
export function metricValue(summary: Summary, metric: string, stat: string): number {
  return summary.metrics[metric]?.values[stat] ?? 0;
}
