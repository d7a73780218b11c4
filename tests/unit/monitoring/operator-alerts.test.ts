// The operator chart's own alerts (templates/prometheusrule.yaml), rendered with the real helm
// and checked by promtool: they parse, fire and stay quiet as operator-alerts.promtool.yaml
// says, and each has its runbook section.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { template } from '../../support/helm.js';
import { promtool, scratchDir, writeIn } from './promtool.js';

const ROOT = resolve(import.meta.dirname, '../../..');

async function rendered() {
  const objects = await template('signalink-operator', {
    release: 'op',
    namespace: 'ops',
    set: ['metrics.prometheusRule.enabled=true'],
  });
  const rule = objects.find((o) => o.kind === 'PrometheusRule') as unknown as {
    spec: { groups: { rules: { alert: string }[] }[] };
  };
  return rule.spec.groups;
}

test('rendered only when asked for', async () => {
  const objects = await template('signalink-operator', { release: 'op', namespace: 'ops' });
  expect(objects.filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
});

test('promtool check rules and test rules pass', async () => {
  const groups = await rendered();
  const dir = await scratchDir();
  await writeIn(dir, 'operator-rules.yaml', stringify({ groups }, { lineWidth: 0 }));
  await writeIn(
    dir,
    'operator-alerts.promtool.yaml',
    readFileSync(join(import.meta.dirname, 'operator-alerts.promtool.yaml'), 'utf8'),
  );
  const check = await promtool(['check', 'rules', 'operator-rules.yaml'], dir);
  expect({ code: check.code, out: check.stdout + check.stderr }).toEqual({
    code: 0,
    out: expect.stringContaining('SUCCESS: 3 rules found'),
  });
  const res = await promtool(['test', 'rules', 'operator-alerts.promtool.yaml'], dir);
  expect({ code: res.code, out: res.stdout + res.stderr }).toEqual({
    code: 0,
    out: expect.stringContaining('SUCCESS'),
  });
}, 120_000);

test('each alert has a runbook section', async () => {
  const runbooks = readFileSync(join(ROOT, 'docs/runbooks.md'), 'utf8').toLowerCase();
  for (const r of (await rendered())[0]!.rules) {
    expect({
      alert: r.alert,
      section: runbooks.includes(`\n## ${r.alert.toLowerCase()}\n`),
    }).toEqual({
      alert: r.alert,
      section: true,
    });
  }
}, 120_000);
