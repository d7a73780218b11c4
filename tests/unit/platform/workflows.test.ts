// The GitHub workflows for users' forks cannot run here: actionlint (with shellcheck on every
// run: script) checks them, and each step must be the command a user runs by hand.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const DIR = join(ROOT, '.github/workflows');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const workflow = (name: string) => parse(readFileSync(join(DIR, name), 'utf8'));
const runs = (name: string): string[] =>
  Object.values(workflow(name).jobs as Record<string, { steps: { run?: string }[] }>).flatMap((j) =>
    j.steps.flatMap((s) => (s.run ? [s.run] : [])),
  );

test('actionlint (and shellcheck on every run: script) finds nothing', async () => {
  const { stdout: toolDir } = await run('bash', [join(ROOT, 'scripts/tools/actionlint.sh')], {
    cwd: ROOT,
  });
  const actionlint = join(toolDir.trim().split('\n').pop()!, 'actionlint');
  const res = await run(actionlint, ['-shellcheck=shellcheck', ...files.map((f) => join(DIR, f))], {
    cwd: ROOT,
  }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (err: { code?: number; stdout?: string }) => ({ code: err.code, out: err.stdout ?? '' }),
  );
  expect(res).toEqual({ code: 0, out: '' });
}, 300_000);

test('the workflows are ci (the .ci/run checks), kind (make up, smoke, ct) and image (multi-arch)', () => {
  expect(files.sort()).toEqual(['ci.yaml', 'image.yaml', 'kind.yaml']);
  expect(runs('ci.yaml').join('\n')).toMatch(/bash \.ci\/run/);
  const kind = runs('kind.yaml').join('\n');
  for (const command of [
    'make up',
    'make status',
    'bash scripts/platform/smoke.sh',
    'ct lint --config ct.yaml',
    'ct install --config ct.yaml --charts charts/signalink-operator',
    'ct install --config ct.yaml --charts charts/signalink --namespace signalink',
    'make down',
  ]) {
    expect(kind).toContain(command);
  }
  // kind is the version the platform pins.
  expect(kind).toMatch(
    /source k8s\/platform\/versions\.env[\s\S]*sigs\.k8s\.io\/kind@\$\{KIND_VERSION\}/,
  );
  const image = workflow('image.yaml').jobs.build.steps.find((s: any) =>
    String(s.uses).startsWith('docker/build-push-action'),
  );
  expect(image.with.platforms).toBe('linux/amd64,linux/arm64');
  expect(image.with.context).toBe('.');
});

test('every action is pinned to a release, none to a branch', () => {
  for (const f of files) {
    for (const job of Object.values(
      workflow(f).jobs as Record<string, { steps: { uses?: string }[] }>,
    )) {
      for (const s of job.steps) {
        if (s.uses)
          expect({ f, uses: s.uses }).toEqual({
            f,
            uses: expect.stringMatching(/@v\d+(\.\d+){0,2}$/),
          });
      }
    }
  }
});

test('ct.yaml points at the charts', () => {
  const ct = parse(readFileSync(join(ROOT, 'ct.yaml'), 'utf8'));
  expect(ct['chart-dirs']).toEqual(['charts']);
  for (const chart of ['signalink-operator', 'signalink']) {
    expect(readdirSync(join(ROOT, 'charts', chart, 'ci'))).toContain('kind-values.yaml');
  }
});
