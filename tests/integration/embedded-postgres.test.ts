// The embedded PostgreSQL of the one-command mode: data kept across starts, a server orphaned
// by a killed Signalink reclaimed at the next start, a data directory in use refused. Runs the
// built module (dist/, from `npm test`) in a child process that can be killed like a real one.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../services/core/embedded-postgres.js';
import { createLogger } from '../../services/core/logger.js';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname ?? '.', '../..');
const log = createLogger('silent');
let dataDir: string;

/** A process that starts the embedded server, prints its URL, and then waits to be killed. */
function holder(): Promise<{ child: ChildProcess; url: string }> {
  const module = join(ROOT, 'dist/core/embedded-postgres.js');
  const script = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(module)});
    const { createLogger } = await import(${JSON.stringify(join(ROOT, 'dist/core/logger.js'))});
    const pg = await startEmbeddedPostgres(${JSON.stringify(dataDir)}, createLogger('silent'));
    process.stdout.write('URL ' + pg.url + '\\n');
    process.on('SIGTERM', async () => { await pg.stop(); process.exit(0); });
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((res, rej) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /URL (\S+)/.exec(out)?.[1];
      if (url) res({ child, url });
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => rej(new Error(`holder exited (${code}): ${out}`)));
  });
}

const serverPid = () =>
  Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'signalink-embedded-'));
  chmodSync(dataDir, 0o755); // reachable by the postgres user when the tests run as root
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

it('keeps data across starts and leaves no server running after stop()', async () => {
  const first = await startEmbeddedPostgres(dataDir, log);
  await query(first.url, 'create table kept (v text); insert into kept values ($$still here$$)');
  const pid = serverPid();
  await first.stop();
  expect(alive(pid)).toBe(false);

  const second = await startEmbeddedPostgres(dataDir, log);
  try {
    expect(await query(second.url, 'select v from kept')).toEqual([{ v: 'still here' }]);
  } finally {
    await second.stop();
  }
});

it('stops a server orphaned by a killed Signalink and starts afresh on the same data', async () => {
  const { child, url } = await holder();
  await query(url, 'create table survived (v int); insert into survived values (42)');
  const orphan = serverPid();
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  expect(alive(orphan)).toBe(true);

  const next = await startEmbeddedPostgres(dataDir, log);
  try {
    expect(alive(orphan)).toBe(false);
    expect(await query(next.url, 'select v from survived')).toEqual([{ v: 42 }]);
  } finally {
    await next.stop();
  }
});

it('refuses a data directory that a running Signalink is using', async () => {
  const { child } = await holder();
  try {
    await expect(startEmbeddedPostgres(dataDir, log)).rejects.toThrow(
      /in use by another Signalink process/,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
