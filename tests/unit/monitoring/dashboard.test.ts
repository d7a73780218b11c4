// The Grafana dashboard the operator ships (Grafana itself is not installable here): its JSON is
// checked structurally and every query parses (promtool, as recording rules). The queries are run
// against a real Prometheus scraping Signalink in tests/integration/monitoring-queries.test.ts.
import { dashboardJson, dashboardPanels } from '../../../services/operator/desired/monitoring.js';
import { CTX, dashboardAsRecordingRules, promtool, scratchDir, writeIn } from './promtool.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource: { type: string; uid: string };
  targets: { refId: string; expr: string; legendFormat: string; datasource: { uid: string } }[];
  fieldConfig: { defaults: { unit: string } };
}

const dashboard = dashboardJson(CTX) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
};

test('what an on-call engineer looks for first is on it', () => {
  const titles = dashboard.panels.map((p) => p.title);
  for (const wanted of [
    'Connections per gateway',
    'Connections in total',
    'Messages sent per second',
    'Send acknowledgement latency',
    'Delivery latency (stored to sockets)',
    'Gap fills and stream overruns',
    'Outbox backlog and oldest row',
    'Relay publish lag (p99)',
    'Consumer lag by group',
    'Notification deliveries',
    'Notifications dead-lettered (15m)',
    'HTTP error ratio (5xx) and SLO',
    'Pod restarts (1h)',
  ]) {
    expect(titles).toContain(wanted);
  }
});

test('a well-formed dashboard: unique ids and refIds, panels inside 24 columns and not overlapping', () => {
  expect(dashboard.uid.length).toBeLessThanOrEqual(40);
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  expect(dashboard.templating.list).toEqual([
    expect.objectContaining({ name: 'datasource', type: 'datasource' }),
  ]);
  const ids = dashboard.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  const cells = new Set<string>();
  for (const p of dashboard.panels) {
    expect(p.type).toBe('timeseries');
    expect(p.datasource.uid).toBe('${datasource}');
    expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        const cell = `${x},${y}`;
        expect({ panel: p.title, overlaps: cells.has(cell) }).toEqual({
          panel: p.title,
          overlaps: false,
        });
        cells.add(cell);
      }
    expect(p.targets.length).toBeGreaterThan(0);
    const refIds = p.targets.map((t) => t.refId);
    expect(new Set(refIds).size).toBe(refIds.length);
    for (const t of p.targets) {
      expect(t.expr.length).toBeGreaterThan(0);
      expect(t.datasource.uid).toBe('${datasource}');
    }
  }
});

test('every dashboard query parses (promtool check rules)', async () => {
  const dir = await scratchDir();
  await writeIn(dir, 'dashboard-rules.yaml', dashboardAsRecordingRules());
  const res = await promtool(['check', 'rules', 'dashboard-rules.yaml'], dir);
  const count = dashboardPanels(CTX).reduce((n, p) => n + p.exprs.length, 0);
  expect({ code: res.code, out: res.stdout + res.stderr }).toEqual({
    code: 0,
    out: expect.stringContaining(`SUCCESS: ${count} rules found`),
  });
});

test('a query that does not parse is caught by the same check', async () => {
  const dir = await scratchDir();
  await writeIn(
    dir,
    'dashboard-rules.yaml',
    dashboardAsRecordingRules().replace(
      'sum by (pod) (signalink_gateway_connections',
      'sum by (pod) (signalink_gateway_connections[5m',
    ),
  );
  const res = await promtool(['check', 'rules', 'dashboard-rules.yaml'], dir);
  expect(res.code).not.toBe(0);
});
