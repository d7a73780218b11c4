// `node dist/main.js render` as users run it (needs `npm run build`): a YAML stream on stdout,
// exit 2 and a message naming the field for an invalid resource, no cluster and no server
// configuration needed.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseYamlStream } from '../../../services/operator/yaml-stream.js';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname ?? '.', '../../..');
const fixture = (name: string) => join(ROOT, 'tests/unit/operator/fixtures', `${name}.yaml`);

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((res) => {
    execFile(
      process.execPath,
      [join(ROOT, 'dist/main.js'), 'render', ...args],
      // Production settings that would stop a server (no JWT_SECRET) do not matter to render.
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env } },
      (err, stdout, stderr) => res({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('renders the production resource as its golden file, objects parse', async () => {
  const { code, stdout, stderr } = await run(['-f', fixture('production')]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toBe(
    readFileSync(join(ROOT, 'tests/unit/operator/golden/production.yaml'), 'utf8'),
  );
  const objects = parseYamlStream(stdout) as { kind: string }[];
  expect(objects.filter((o) => o.kind === 'Deployment')).toHaveLength(5);
});

test('an invalid resource: exit 2, the field on stderr, nothing on stdout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'render-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    readFileSync(fixture('minimal'), 'utf8').replace(
      'kafka:',
      'gateway: {autoscaling: {enabled: true, minReplicas: 9, maxReplicas: 3}}\n  kafka:',
    ),
  );
  const { code, stdout, stderr } = await run(['-f', file]);
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toContain('spec.gateway.autoscaling.minReplicas');
});

test('usage errors exit 2', async () => {
  expect((await run([])).code).toBe(2);
  expect((await run(['-f', '/nonexistent.yaml'])).stderr).toContain('ENOENT');
});
