// Completes package-lock.json with the platform-specific optional packages (native builds for
// other operating systems and CPUs) that the package registry reachable here does not serve.
// `npm install` leaves them out of the lockfile, and `npm ci` then refuses the lockfile as out
// of sync, on this machine and on every other. Each added entry names only the version and the
// platform it is for; npm skips it on any other platform and fetches it normally where it fits.
// Usage: node scripts/lockfile-platforms.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const LOCK = resolve(import.meta.dirname, '..', 'package-lock.json');
const OSES = [
  'darwin',
  'linux',
  'win32',
  'android',
  'freebsd',
  'openbsd',
  'netbsd',
  'sunos',
  'aix',
  'openharmony',
];
const CPUS = [
  'arm64',
  'x64',
  'ia32',
  'arm',
  'ppc64',
  'ppc64le',
  's390x',
  'loong64',
  'riscv64',
  'mips64el',
  'wasm32',
];

/** Reads the platform out of a package name such as `@swc/core-linux-arm-gnueabihf`. */
export function platformOf(name) {
  const tokens = name.split('/').pop().split('-');
  const os = tokens.find((t) => OSES.includes(t));
  const cpu = tokens.find((t) => CPUS.includes(t));
  const libc = tokens.some((t) => t.startsWith('musl'))
    ? 'musl'
    : tokens.some((t) => t.startsWith('gnu'))
      ? 'glibc'
      : undefined;
  return { os, cpu, libc };
}

const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;
const added = [];
for (const [path, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    const nested = `${path}/node_modules/${dep}`;
    if (packages[key] || packages[nested]) continue;
    const { os, cpu, libc } = platformOf(dep);
    // Only complete what is recognisably a per-platform build; anything else is a real gap.
    if (!os && !cpu) continue;
    if (!/^\d+\.\d+\.\d+/.test(version)) continue;
    packages[key] = {
      version,
      ...(cpu ? { cpu: [cpu] } : {}),
      ...(entry.dev ? { dev: true } : {}),
      ...(libc ? { libc: [libc] } : {}),
      optional: true,
      ...(os ? { os: [os] } : {}),
    };
    added.push(`${dep}@${version}`);
  }
}
if (process.argv.includes('--check')) {
  if (added.length > 0) {
    console.error(
      `package-lock.json lacks ${added.length} platform packages; run node scripts/lockfile-platforms.mjs`,
    );
    process.exit(1);
  }
} else if (added.length > 0) {
  writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`added ${added.length} platform packages to package-lock.json`);
}
