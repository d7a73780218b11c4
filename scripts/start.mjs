// `npm start`: builds the server and the web client when they are missing or older than their
// sources, then runs Signalink in this very process (dist/main.js), so Ctrl-C reaches it
// directly and it drains, stops its embedded PostgreSQL and exits.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const OUTPUTS = ['dist/main.js', 'web/dist/index.html'];
const INPUTS = [
  'services',
  'web/src',
  'web/index.html',
  'web/vite.config.ts',
  'tsconfig.json',
  'tsconfig.build.json',
  'web/tsconfig.json',
  'package-lock.json',
];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function buildIsCurrent() {
  const outputs = OUTPUTS.map((p) => join(ROOT, p));
  if (!outputs.every((p) => existsSync(p))) return false;
  const built = Math.min(...outputs.map((p) => statSync(p).mtimeMs));
  return INPUTS.every((p) => newestMtime(join(ROOT, p)) <= built);
}

if (!buildIsCurrent()) {
  process.stderr.write('[start] building the server and the web client…\n');
  const started = Date.now();
  // Under `npm start`, npm tells where its own CLI is; otherwise use the one on PATH.
  const npm = process.env.npm_execpath;
  const result = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: ROOT, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], {
        cwd: ROOT,
        stdio: 'inherit',
        shell: process.platform === 'win32',
      });
  if (result.status !== 0) {
    process.stderr.write('[start] build failed\n');
    process.exit(result.status ?? 1);
  }
  process.stderr.write(`[start] built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

const port = process.env.PORT ?? '3000';
// dist/main.js reads its command from argv[2]; this script has none, so it starts the server.
await import(pathToFileURL(join(ROOT, 'dist/main.js')).href);
process.stderr.write(`\n  Signalink is running at http://localhost:${port}  (Ctrl-C to stop)\n\n`);
