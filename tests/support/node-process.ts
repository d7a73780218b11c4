import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { PROCESS_READY_TIMEOUT_MS } from './deadlines.js';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname ?? '.', '../..');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => res(port));
    });
  });
}

export interface NodeProcess {
  child: ChildProcess;
  port: number;
  url: string;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Runs `node dist/main.js` (the real entry point, built by `npm test`) as a child process and
 * waits until /readyz answers 200. Without a PORT in `env` it takes a free one; another process
 * on this shared machine can bind it between the probe and the child's listen, so that start is
 * retried on a fresh port.
 */
export async function startNode(
  env: Record<string, string>,
  readyTimeoutMs = PROCESS_READY_TIMEOUT_MS,
): Promise<NodeProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = env.PORT ? Number(env.PORT) : await freePort();
    try {
      return await startNodeOn(port, env, readyTimeoutMs);
    } catch (err) {
      if (env.PORT || attempt >= 3 || !(err instanceof PortTaken)) throw err;
    }
  }
}

class PortTaken extends Error {}

async function startNodeOn(
  port: number,
  env: Record<string, string>,
  readyTimeoutMs: number,
): Promise<NodeProcess> {
  const child = spawn(process.execPath, [resolve(ROOT, 'dist/main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((res) =>
    child.once('exit', (code, signal) => res(code ?? signal ?? 'unknown')),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await exited;
      const message = `node exited early (${child.exitCode}): ${out}`;
      throw out.includes('EADDRINUSE') ? new PortTaken(message) : new Error(message);
    }
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`node not ready within ${readyTimeoutMs} ms: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    port,
    url,
    output: () => out,
    exited,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
