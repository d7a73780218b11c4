// `npm test`: start the servers the tests need (unless DATABASE_URL / REDIS_URL / KAFKA_BROKERS
// point at existing ones), run jest with their addresses, stop them whatever happens.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startTestServers } from './test-servers.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const started = Date.now();
const servers = await startTestServers();
for (const { name, pid } of servers.pids)
  process.stderr.write(`[test] started ${name} (pid ${pid})\n`);
process.stderr.write(
  `[test] DATABASE_URL=${servers.env.DATABASE_URL} REDIS_URL=${servers.env.REDIS_URL} KAFKA_BROKERS=${servers.env.KAFKA_BROKERS ?? ''}\n`,
);

let stopping = false;
async function finish(code) {
  if (stopping) return;
  stopping = true;
  await servers.stop();
  process.stderr.write(
    `[test] servers stopped; total ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => finish(130));

const jest = spawn(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings=ExperimentalWarning',
    resolve(ROOT, 'node_modules/jest/bin/jest.js'),
    ...process.argv.slice(2),
  ],
  {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...servers.env, NODE_ENV: 'test', SIGNALINK_ROOT: ROOT },
  },
);
jest.on('exit', (code, signal) => finish(code ?? (signal ? 1 : 0)));
