// The alert rules, one source (the operator's PrometheusRule), checked by promtool: they parse,
// their templates render, and each fires on data that should page or ticket someone and stays
// quiet otherwise (alerts.promtool.yaml). Each has a runbook section in docs/runbooks.md.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { alertRules } from '../../../services/operator/desired/monitoring.js';
import { CTX, promtool, rulesYaml, scratchDir, writeIn } from './promtool.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const HERE = import.meta.dirname;
const testFile = readFileSync(join(HERE, 'alerts.promtool.yaml'), 'utf8');

test('promtool check rules accepts every alert rule', async () => {
  const dir = await scratchDir();
  await writeIn(dir, 'signalink-rules.yaml', rulesYaml());
  const res = await promtool(['check', 'rules', 'signalink-rules.yaml'], dir);
  expect({ code: res.code, out: res.stdout + res.stderr }).toEqual({
    code: 0,
    out: expect.stringContaining(`SUCCESS: ${alertRules(CTX).length} rules found`),
  });
});

test('promtool test rules: every case in alerts.promtool.yaml holds', async () => {
  const dir = await scratchDir();
  await writeIn(dir, 'signalink-rules.yaml', rulesYaml());
  await writeIn(dir, 'alerts.promtool.yaml', testFile);
  const res = await promtool(['test', 'rules', 'alerts.promtool.yaml'], dir);
  expect({ code: res.code, out: res.stdout + res.stderr }).toEqual({
    code: 0,
    out: expect.stringContaining('SUCCESS'),
  });
});

test('a broken expectation fails promtool (the test above can fail)', async () => {
  const dir = await scratchDir();
  await writeIn(dir, 'signalink-rules.yaml', rulesYaml());
  await writeIn(
    dir,
    'alerts.promtool.yaml',
    testFile.replace(
      'Consumer group signalink-analytics is 12000 events behind.',
      'is 1 event behind',
    ),
  );
  const res = await promtool(['test', 'rules', 'alerts.promtool.yaml'], dir);
  expect(res.code).not.toBe(0);
  expect(res.stdout + res.stderr).toContain('SignalinkConsumerLagHigh');
});

test('every alert has a firing case and a quiet case', () => {
  const cases = (
    parse(testFile) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    }
  ).tests.flatMap((t) => t.alert_rule_test);
  for (const rule of alertRules(CTX)) {
    const mine = cases.filter((c) => c.alertname === rule.alert);
    expect({ alert: rule.alert, fires: mine.some((c) => c.exp_alerts.length > 0) }).toEqual({
      alert: rule.alert,
      fires: true,
    });
    expect({ alert: rule.alert, quiet: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({
      alert: rule.alert,
      quiet: true,
    });
  }
});

test('every alert links a runbook section that exists, with what to check and what to do', () => {
  const runbooks = readFileSync(join(ROOT, 'docs/runbooks.md'), 'utf8');
  const sections = new Map<string, string>();
  for (const part of runbooks.split(/^## /m).slice(1)) {
    const heading = part.split('\n')[0]!.trim();
    sections.set(heading.toLowerCase(), part);
  }
  for (const rule of alertRules(CTX)) {
    const anchor = rule.annotations.runbook_url.split('#')[1]!;
    const section = sections.get(anchor);
    expect({ alert: rule.alert, section: section !== undefined }).toEqual({
      alert: rule.alert,
      section: true,
    });
    expect(section).toMatch(/\*\*Check\*\*/);
    expect(section).toMatch(/\*\*Act\*\*/);
  }
});
