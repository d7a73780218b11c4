/**
 * Summarises V8 CPU profiles written by `npm run loadtest -- <scenario> --cpu-prof`:
 * self time per area (a package in node_modules, a folder of services/, Node internals, GC,
 * idle) and the hottest functions.
 *
 *   node .cache/loadtest/loadtest/profile-summary.js <file.cpuprofile|dir> [top=25]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(dist|services|loadtest)\/([^/]+)\//.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  if (url.startsWith('node:')) return 'node internals';
  return url.replace(/^file:\/\//, '');
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id)!;
    if (f.functionName !== '(idle)') busy += us;
    const a = area(f.url, f.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|services|loadtest)\//, '$1/')}:${f.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  // Native work (socket writes, crypto) is only meaningful with the code that asked for it:
  // attribute it to the nearest caller outside Node's own modules.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nativeCallers = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.url || f.functionName.startsWith('(')) continue;
    let p = parent.get(id);
    while (p !== undefined) {
      const u = byId.get(p)!.callFrame.url;
      if (u && !u.startsWith('node:')) break;
      p = parent.get(p);
    }
    const caller = p === undefined ? '(unknown)' : area(byId.get(p)!.callFrame.url, '');
    const key = `${f.functionName} ← ${caller}`;
    nativeCallers.set(key, (nativeCallers.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const wall = (profile.endTime - profile.startTime) / 1e6;
  process.stdout.write(
    `\n${file}\n  ${wall.toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s on CPU (${((busy / (profile.endTime - profile.startTime)) * 100).toFixed(0)}%); shares below are of CPU time\n\n  by area:\n`,
  );
  for (const [a, us] of [...areas]
    .filter(([a]) => a !== '(idle)')
    .sort((x, y) => y[1] - x[1])
    .slice(0, top))
    process.stdout.write(`  ${pct(us)}  ${a}\n`);
  process.stdout.write('\n  native work by the package that caused it:\n');
  for (const [name, us] of [...nativeCallers].sort((x, y) => y[1] - x[1]).slice(0, top))
    process.stdout.write(`  ${pct(us)}  ${name}\n`);
  process.stdout.write('\n  hottest functions (self time):\n');
  for (const [name, us] of [...functions]
    .filter(([n]) => !n.startsWith('(idle)'))
    .sort((x, y) => y[1] - x[1])
    .slice(0, top))
    process.stdout.write(`  ${pct(us)}  ${name}\n`);
}

const [target, topArg] = process.argv.slice(2);
if (!target) {
  process.stderr.write('usage: profile-summary <file.cpuprofile|directory> [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const files = statSync(target).isDirectory()
  ? readdirSync(target, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(target, f))
  : [target];
for (const f of files) summarise(f, top);
