// handleSummary(): a JSON report (thresholds with their verdicts, the parameters, every metric,
// the setup without tokens) written to SUMMARY_JSON, and a short text summary on stdout.

const SHOWN = ['avg', 'med', 'p(95)', 'p(99)', 'max'];

function withoutTokens(value) {
  if (Array.isArray(value)) return value.map(withoutTokens);
  if (value && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value)) if (key !== 'token') out[key] = withoutTokens(value[key]);
    return out;
  }
  return value;
}

function fmt(n) {
  if (typeof n !== 'number') return String(n);
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function describe(metric) {
  const v = metric.values;
  switch (metric.type) {
    case 'trend':
      return (
        SHOWN.filter((k) => k in v)
          .map((k) => `${k}=${fmt(v[k])}`)
          .join(' ') + (metric.contains === 'time' ? ' (ms)' : '')
      );
    case 'rate':
      return `rate=${fmt(v.rate)} (${v.passes} of ${v.passes + v.fails})`;
    case 'counter':
      return `count=${fmt(v.count)} rate=${fmt(v.rate)}/s`;
    default:
      return Object.keys(v)
        .map((k) => `${k}=${fmt(v[k])}`)
        .join(' ');
  }
}

export function thresholdResults(data) {
  const results = [];
  for (const name of Object.keys(data.metrics).sort()) {
    const thresholds = data.metrics[name].thresholds || {};
    for (const expr of Object.keys(thresholds))
      results.push({ metric: name, threshold: expr, ok: thresholds[expr].ok });
  }
  return results;
}

export function summaryOutputs(scenario, data, params) {
  const thresholds = thresholdResults(data);
  const ok = thresholds.every((t) => t.ok);
  const report = {
    scenario,
    ok,
    thresholds,
    params,
    setup: withoutTokens(data.setup_data),
    durationMs: data.state && data.state.testRunDurationMs,
    metrics: data.metrics,
  };
  const lines = [`signalink ${scenario}: ${ok ? 'all thresholds passed' : 'THRESHOLDS FAILED'}`];
  for (const t of thresholds) lines.push(`  ${t.ok ? 'ok  ' : 'FAIL'} ${t.metric} ${t.threshold}`);
  for (const name of Object.keys(data.metrics).sort())
    if (name.indexOf('signalink_') === 0 || name === 'checks' || name === 'iterations')
      lines.push(`  ${name}: ${describe(data.metrics[name])}`);
  const file = __ENV.SUMMARY_JSON || `${scenario}-summary.json`;
  const out = { stdout: `${lines.join('\n')}\n` };
  out[file] = `${JSON.stringify(report, null, 2)}\n`;
  return out;
}

export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];
