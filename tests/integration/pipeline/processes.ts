// Signalink as a child process (dist/main.js), for tests that kill it for real.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { waitUntil } from './kafka-support.js';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname, '../../..');
const MAIN = resolve(ROOT, 'dist/main.js');

export interface ChildSignalink {
  child: ChildProcess;
  /** Parsed pino log lines so far. */
  logs: { msg?: string; level?: number; [k: string]: unknown }[];
  waitForLog(msg: string, timeoutMs?: number): Promise<void>;
  hasLogged(msg: string): boolean;
  /** The HTTP port it listens on, once it has logged "signalink listening". */
  baseUrl(): Promise<string>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export function spawnSignalink(env: Record<string, string>, label: string): ChildSignalink {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} is missing: run \`npm run build\` before this test`);
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
      DATA_DIR: `/tmp/signalink-child-${randomBytes(4).toString('hex')}`,
      DRAIN_TIMEOUT_MS: '2000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: ChildSignalink['logs'] = [];
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as ChildSignalink['logs'][number]);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const hasLogged = (msg: string) => logs.some((l) => l.msg === msg);
  return {
    child,
    logs,
    hasLogged,
    waitForLog: async (msg, timeoutMs = 30_000) => {
      await waitUntil(
        () => {
          if (child.exitCode !== null)
            throw new Error(
              `${label} exited (${child.exitCode}) before logging "${msg}": ${stderr}`,
            );
          return hasLogged(msg);
        },
        timeoutMs,
        `${label} to log "${msg}"`,
      );
    },
    baseUrl: async () => {
      await waitUntil(
        () => logs.some((l) => l.msg === 'signalink listening'),
        30_000,
        `${label} to listen`,
      );
      return `http://127.0.0.1:${String(logs.find((l) => l.msg === 'signalink listening')!.port)}`;
    },
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
