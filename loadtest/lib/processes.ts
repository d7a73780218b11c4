import { spawn, fork, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PID_FILE } from './paths.js';

/**
 * Every process the load test starts is registered here and in a pid file, so that
 * `killAll()` (on success, failure, signal or timeout) and the runner script (if this process
 * itself dies) can stop them by pid.
 */
export class ProcessRegistry {
  private readonly children = new Map<number, { name: string; child: ChildProcess }>();

  /** `pidFile`: where the runner script looks for leftovers (the chaos suite has its own). */
  constructor(private readonly pidFile = PID_FILE) {
    mkdirSync(dirname(pidFile), { recursive: true });
    writeFileSync(pidFile, '');
  }

  /** Records a process started elsewhere (the test servers) for the runner's last-resort sweep. */
  note(name: string, pid: number | undefined): void {
    if (pid !== undefined) appendFileSync(this.pidFile, `${pid} ${name}\n`);
  }

  spawn(
    name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    identity: { uid?: number | undefined; gid?: number | undefined } = {},
  ): { child: ChildProcess; output: () => string } {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...identity });
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.track(name, child);
    return { child, output: () => out };
  }

  fork(name: string, modulePath: string, env: NodeJS.ProcessEnv): ChildProcess {
    const child = fork(modulePath, [], {
      env,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.track(name, child);
    return child;
  }

  private track(name: string, child: ChildProcess): void {
    if (child.pid === undefined) return;
    const pid = child.pid;
    this.children.set(pid, { name, child });
    this.note(name, pid);
    child.once('exit', () => this.children.delete(pid));
  }

  alive(): { pid: number; name: string }[] {
    return [...this.children.entries()].map(([pid, { name }]) => ({ pid, name }));
  }

  /** SIGKILLs whatever is still running and waits (briefly) until each one is gone. */
  async killAll(): Promise<void> {
    const waits = [...this.children.values()].map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(resolve, 3000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGKILL');
        }),
    );
    await Promise.all(waits);
  }
}

/** Resident set size of a process in kilobytes, from /proc/<pid>/status. */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

const CLOCK_TICKS = 100;

/**
 * CPU seconds (user + system) used so far by a process, from /proc/<pid>/stat; with
 * `reaped`, also what its children that already exited used.
 */
export function cpuSeconds(pid: number, reaped = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields after it are space separated.
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const own = f[11]! + f[12]!;
    return (reaped ? own + f[13]! + f[14]! : own) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** CPU seconds of a process and its children, live or exited (PostgreSQL forks backends). */
export function treeCpuSeconds(rootPid: number): number {
  let total = cpuSeconds(rootPid, true);
  for (const pid of childPids(rootPid)) {
    const s = cpuSeconds(pid);
    if (!Number.isNaN(s)) total += s;
  }
  return total;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
