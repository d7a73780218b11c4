// `render` output: golden files for a minimal and a production-like resource (regenerate with
// UPDATE_GOLDEN=1 and review the diff), and the command's handling of bad input.
import { readFileSync, writeFileSync } from 'node:fs';
import { runRender } from '../../../services/operator/render.js';
import { parseYamlStream } from '../../../services/operator/yaml-stream.js';

const here = (p: string) => new URL(p, import.meta.url).pathname;

async function render(args: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const code = await runRender(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    readStdin: async () => stdin,
  });
  return { code, stdout, stderr };
}

test.each(['minimal', 'production'])('the %s resource renders as its golden file', async (name) => {
  const { code, stdout, stderr } = await render(['-f', here(`./fixtures/${name}.yaml`)]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const golden = here(`./golden/${name}.yaml`);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, stdout);
  expect(stdout).toBe(readFileSync(golden, 'utf8'));
});

test('rendered objects carry no cluster fields', async () => {
  const { stdout } = await render(['-f', here('./fixtures/production.yaml')]);
  const objects = parseYamlStream(stdout) as any[];
  for (const o of objects) {
    expect(o.metadata.ownerReferences[0]).not.toHaveProperty('uid');
    expect(o.metadata).not.toHaveProperty('resourceVersion');
    expect(o.metadata).not.toHaveProperty('uid');
    expect(o).not.toHaveProperty('status');
  }
});

test('several resources and files, stdin, Lists, and other kinds ignored', async () => {
  const two = `${readFileSync(here('./fixtures/minimal.yaml'), 'utf8')}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n${readFileSync(here('./fixtures/minimal.yaml'), 'utf8').replace('name: chat', 'name: talk')}`;
  const { code, stdout } = await render(['-f', '-'], two);
  expect(code).toBe(0);
  const names = (parseYamlStream(stdout) as any[]).map(
    (o) => o.metadata.labels['app.kubernetes.io/instance'],
  );
  expect(new Set(names)).toEqual(new Set(['chat', 'talk']));
  const list = `apiVersion: v1\nkind: List\nitems:\n- ${JSON.stringify(parseYamlStream(readFileSync(here('./fixtures/minimal.yaml'), 'utf8'))[0])}`;
  expect((await render(['-f', '-'], list)).code).toBe(0);
});

test('--without renders as if optional APIs were absent; --namespace fills a missing namespace', async () => {
  const prod = readFileSync(here('./fixtures/production.yaml'), 'utf8');
  const full = parseYamlStream((await render(['-f', '-'], prod)).stdout) as any[];
  const bare = parseYamlStream(
    (
      await render(
        ['-f', '-', '--without', 'keda,strimzi', '--without=prometheusOperator,gatewayApi'],
        prod,
      )
    ).stdout,
  ) as any[];
  const kinds = (os: any[]) => new Set(os.map((o) => o.kind));
  for (const k of ['ScaledObject', 'KafkaTopic', 'ServiceMonitor', 'PrometheusRule', 'HTTPRoute']) {
    expect(kinds(full).has(k)).toBe(true);
    expect(kinds(bare).has(k)).toBe(false);
  }
  expect(kinds(bare).has('HorizontalPodAutoscaler')).toBe(true);
  const noNs = readFileSync(here('./fixtures/minimal.yaml'), 'utf8').replace(
    '  namespace: messaging\n',
    '',
  );
  const placed = parseYamlStream(
    (await render(['-f', '-', '-n', 'elsewhere'], noNs)).stdout,
  ) as any[];
  expect(new Set(placed.map((o) => o.metadata.namespace))).toEqual(new Set(['elsewhere']));
  const defaulted = parseYamlStream((await render(['-f', '-'], noNs)).stdout) as any[];
  expect(new Set(defaulted.map((o) => o.metadata.namespace))).toEqual(new Set(['default']));
});

test.each([
  [
    'an invalid field',
    'tag: 1.4.0',
    'tag: "bad/tag"',
    /document 1 \(Signalink chat\): spec\.image\.tag: /,
  ],
  [
    'a cross-field rule',
    'kafka:',
    'gateway: {autoscaling: {enabled: true, minReplicas: 5, maxReplicas: 2}}\n  kafka:',
    /spec\.gateway\.autoscaling\.minReplicas: minReplicas must not exceed maxReplicas/,
  ],
  ['an unknown field', 'kafka:', 'gatway: {}\n  kafka:', /spec\.gatway: unknown field/],
  [
    'a wrong apiVersion',
    'signalink.io/v1alpha1',
    'signalink.io/v1',
    /apiVersion: must be signalink\.io\/v1alpha1/,
  ],
  ['a bad name', 'name: chat', 'name: Chat_1', /metadata\.name: /],
])('%s: exit 2 and a message naming it, nothing on stdout', async (_what, from, to, message) => {
  const text = readFileSync(here('./fixtures/minimal.yaml'), 'utf8').replace(from, to);
  const { code, stdout, stderr } = await render(['-f', '-'], text);
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toMatch(message);
});

test.each([
  [[], /-f FILE is required/],
  [['-f', '/nonexistent/x.yaml'], /ENOENT/],
  [['-f', '-', '--without', 'nonsense'], /unknown API nonsense/],
  [['--frobnicate'], /Unknown option/],
])('usage errors exit 2: %j', async (args, message) => {
  const { code, stderr } = await render(args as string[], 'kind: Signalink');
  expect(code).toBe(2);
  expect(stderr).toMatch(message);
});

test('a file without Signalinks, or broken YAML, exits 2', async () => {
  expect((await render(['-f', '-'], 'apiVersion: v1\nkind: ConfigMap\n')).stderr).toMatch(
    /no signalink\.io\/v1alpha1 Signalink resources/,
  );
  const broken = await render(['-f', '-'], 'a: [1, 2\n');
  expect(broken.code).toBe(2);
  expect(broken.stderr).toMatch(/stdin: document 1: /);
});
