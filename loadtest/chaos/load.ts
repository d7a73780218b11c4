// The load during an experiment: the k6 chaos companion (loadtest/k6/chaos-companion.js), run
// by the repository's k6 test double (tests/k6-double, a stand-in for k6 where k6 cannot be
// built; a user's k6 runs the same script unchanged). It writes the loss verifier's ledger.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../lib/paths.js';
import type { ProcessRegistry } from '../lib/processes.js';

const CLI = join(ROOT, '.cache/k6-double/cli.js');

/** Compiles the double once (types are checked by `npm run typecheck`, so emit only). */
export async function ensureK6Double(): Promise<void> {
  if (existsSync(CLI) && process.env.CHAOS_RECOMPILE_K6 !== '1') return;
  await promisify(execFile)(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tests/k6-double/tsconfig.json'),
      '--noCheck',
    ],
    { cwd: ROOT },
  );
}

export interface LoadShape {
  users: number;
  channels: number;
  members: number;
  rate: number;
  durationS: number;
  vus: number;
}

export const DEFAULT_LOAD: LoadShape = {
  users: 24,
  channels: 8,
  members: 3,
  rate: 12,
  durationS: 30,
  vus: 3,
};

export function describeLoad(l: LoadShape): string {
  return `${l.users} users (1 socket each) in ${l.channels} channels of ${l.members}, ${l.rate} msg/s for ${l.durationS} s`;
}

export interface Load {
  ledger: string;
  /** Acked sends in the ledger so far. */
  acks(): number;
  /** Resolves when the companion has finished (its final catch-up included). */
  finished: Promise<{ code: number | null; output: string }>;
  kill(): void;
}

export function startLoad(
  registry: ProcessRegistry,
  baseUrl: string,
  shape: LoadShape,
  dir: string,
): Load {
  const ledger = join(dir, 'ledger.log');
  const summary = join(dir, 'k6-summary.json');
  rmSync(ledger, { force: true });
  const env: Record<string, string> = {
    BASE_URL: baseUrl,
    SUMMARY_JSON: summary,
    USERS: String(shape.users),
    CHANNELS: String(shape.channels),
    MEMBERS: String(shape.members),
    RATE: String(shape.rate),
    DURATION: `${shape.durationS}s`,
    VUS: String(shape.vus),
    CONNECT_WINDOW: '5s',
    QUIET: '3s',
    SEND_GIVE_UP: '90s',
    DRAIN: '90s',
  };
  const args = [CLI, 'run', '--include-system-env-vars=false'];
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
  args.push('--console-output', ledger, '--log-format', 'raw');
  args.push(join(ROOT, 'loadtest/k6/chaos-companion.js'));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
  });
  if (child.pid !== undefined) registry.note('k6-double', child.pid);
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-30_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const finished = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, output })),
  );
  return {
    ledger,
    acks: () => {
      try {
        return (readFileSync(ledger, 'utf8').match(/"kind":"ack"/g) ?? []).length;
      } catch {
        return 0;
      }
    },
    finished,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
