/**
 * Draws delivery p99 against offered rate for every server of a throughput run, as an SVG:
 * `node .cache/loadtest/loadtest/chart.js loadtest/results/<run>-throughput-full.json out.svg`.
 * Both axes are logarithmic; each repetition is its own line (same colour per server), the
 * 100 ms knee limit is the dashed line, and every failed step is a hollow point.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ThroughputResult } from './scenarios/throughput.js';

const COLOURS: Record<string, string> = {
  signalink: '#1f6feb',
  vanilla: '#6e7781',
  handwired: '#d1242f',
  centrifugo: '#1a7f37',
};
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

interface Saved {
  runId: string;
  date: string;
  results: Record<string, ThroughputResult>;
  machine?: { load?: { what: string; loadAverage: number[] }[] };
}

export function chart(saved: Saved, nodes = 2): string {
  const W = 880;
  const H = 520;
  const m = { left: 70, right: 190, top: 50, bottom: 60 };
  const series = Object.entries(saved.results).flatMap(([kind, r]) =>
    r.ramps
      .filter((ramp) => ramp.nodes === nodes)
      .map((ramp) => ({
        kind,
        repetition: ramp.repetition,
        points: [...ramp.steps]
          .sort((a, b) => a.offered - b.offered)
          .map((s) => ({ x: s.offered, y: s.delivery.p99, passed: s.passed })),
      })),
  );
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => Number.isFinite(y));
  const x0 = Math.pow(10, Math.floor(Math.log10(Math.min(...xs, 100))));
  const x1 = Math.pow(10, Math.ceil(Math.log10(Math.max(...xs, 1000))));
  const y0 = Math.pow(10, Math.floor(Math.log10(Math.max(0.1, Math.min(...ys, 10)))));
  const y1 = Math.pow(10, Math.ceil(Math.log10(Math.max(...ys, 1000))));
  const px = (x: number) =>
    m.left +
    ((Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0))) * (W - m.left - m.right);
  const py = (y: number) =>
    H -
    m.bottom -
    ((Math.log10(Math.min(Math.max(y, y0), y1)) - Math.log10(y0)) /
      (Math.log10(y1) - Math.log10(y0))) *
      (H - m.top - m.bottom);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.left}" y="24" font-size="15" font-weight="bold">Delivery p99 against offered sends/s (${nodes} gateways, run ${saved.runId})</text>`,
  );
  // Grid and axes: decades, with 2 and 5 in between on x.
  for (let d = x0; d <= x1; d *= 10) {
    for (const f of [1, 2, 5]) {
      const x = d * f;
      if (x > x1) break;
      out.push(
        `<line x1="${px(x)}" y1="${m.top}" x2="${px(x)}" y2="${H - m.bottom}" stroke="#eee"/>`,
        `<text x="${px(x)}" y="${H - m.bottom + 16}" text-anchor="middle">${x.toLocaleString('en-US')}</text>`,
      );
    }
  }
  for (let y = y0; y <= y1; y *= 10) {
    out.push(
      `<line x1="${m.left}" y1="${py(y)}" x2="${W - m.right}" y2="${py(y)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${py(y) + 4}" text-anchor="end">${y.toLocaleString('en-US')}</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" y1="${py(100)}" x2="${W - m.right}" y2="${py(100)}" stroke="#000" stroke-dasharray="5 4"/>`,
    `<text x="${W - m.right - 4}" y="${py(100) - 5}" text-anchor="end">100 ms</text>`,
    `<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#888"/>`,
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 20}" text-anchor="middle">offered sends/s (log)</text>`,
    `<text transform="translate(18 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">delivery p99, ms (log)</text>`,
  );
  for (const s of series) {
    const colour = COLOURS[s.kind] ?? '#000';
    const dash = DASHES[(s.repetition - 1) % DASHES.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    out.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="1.8" ${dash ? `stroke-dasharray="${dash}"` : ''} points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts)
      out.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.2" fill="${p.passed ? colour : 'white'}" stroke="${colour}" stroke-width="1.5"/>`,
      );
  }
  // Legend: one entry per server, repetitions by dash.
  const kinds = [...new Set(series.map((s) => s.kind))];
  kinds.forEach((kind, i) => {
    const y = m.top + 10 + i * 22;
    out.push(
      `<line x1="${W - m.right + 14}" y1="${y}" x2="${W - m.right + 44}" y2="${y}" stroke="${COLOURS[kind] ?? '#000'}" stroke-width="2.5"/>`,
      `<text x="${W - m.right + 50}" y="${y + 4}">${kind}</text>`,
    );
  });
  const reps = [...new Set(series.map((s) => s.repetition))].sort();
  reps.forEach((rep, i) => {
    const y = m.top + 20 + kinds.length * 22 + i * 20;
    const dash = DASHES[(rep - 1) % DASHES.length]!;
    out.push(
      `<line x1="${W - m.right + 14}" y1="${y}" x2="${W - m.right + 44}" y2="${y}" stroke="#444" stroke-width="1.8" ${dash ? `stroke-dasharray="${dash}"` : ''}/>`,
      `<text x="${W - m.right + 50}" y="${y + 4}">repetition ${rep}</text>`,
    );
  });
  const y = m.top + 30 + kinds.length * 22 + reps.length * 20;
  out.push(
    `<circle cx="${W - m.right + 29}" cy="${y}" r="3.2" fill="white" stroke="#444" stroke-width="1.5"/>`,
    `<text x="${W - m.right + 50}" y="${y + 4}">step failed</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

const [input, output, nodesArg] = process.argv.slice(2);
if (input && output) {
  writeFileSync(
    output,
    chart(JSON.parse(readFileSync(input, 'utf8')) as Saved, Number(nodesArg ?? 2)),
  );
  process.stderr.write(`wrote ${output}\n`);
}
