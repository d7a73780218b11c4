import { SERVER_KINDS, type ServerKind } from './deployment.js';
import type { Summary } from './histogram.js';

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface TargetCheck {
  scenario: string;
  target: string;
  /** What each server measured, as shown in the table. */
  values: Partial<Record<ServerKind, string>>;
  /** null when it could not be judged (a server was not run, or produced no data). */
  met: boolean | null;
  detail: string;
}

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

/** The p50/p95/p99/max columns of a latency summary, in milliseconds. */
export const latencyCells = (s: Summary | undefined): string[] =>
  s ? [fmt(s.p50), fmt(s.p95), fmt(s.p99), fmt(s.max)] : ['-', '-', '-', '-'];

export function renderTable(table: Table): string {
  const cells = [table.columns, ...table.rows.map((r) => r.map(String))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    '| ' +
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') +
    ' |';
  // Markdown, so the same text pastes into docs/benchmarks.md; numbers right-aligned.
  const rule =
    '|' +
    widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') +
    '|';
  return [`### ${table.title}`, '', line(table.columns), rule, ...cells.slice(1).map(line)].join(
    '\n',
  );
}

export function targetsTable(checks: TargetCheck[]): Table {
  return {
    title: 'Targets',
    columns: ['scenario', 'target', ...SERVER_KINDS, 'met', 'detail'],
    rows: checks.map((c) => [
      c.scenario,
      c.target,
      ...SERVER_KINDS.map((k) => c.values[k] ?? '-'),
      c.met === null ? 'n/a' : c.met ? 'yes' : 'NO',
      c.detail,
    ]),
  };
}

export const errorsText = (errors: Record<string, number>): string =>
  Object.entries(errors)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ') || '0';
