import { verdict, type VerdictInput } from '../../../loadtest/chaos/verdict.js';

const clean = {
  acked: 100,
  stored: 100,
  lost: 0,
  duplicated: 0,
  unexpected: 0,
  gaps: 0,
  mismatched: 0,
  indeterminate: 0,
  receivers: 12,
  receiversBehind: 0,
  receipts: 300,
};
const input = (over: Partial<VerdictInput> = {}): VerdictInput => ({
  name: 'gateway-sigkill',
  verifierExit: 0,
  totals: clean,
  pipeline: { stored: 100, counted: 100, duplicateNotifications: 0 },
  recoveredInMs: 4200,
  recoveryBoundMs: 90_000,
  problems: [],
  ...over,
});

describe('chaos verdict', () => {
  it('a clean run passes with the PROTOCOL.md line', () => {
    const v = verdict(input());
    expect(v.ok).toBe(true);
    expect(v.reasons).toEqual([]);
    expect(v.line).toBe(
      'chaos gateway-sigkill: acked=100 lost=0 duplicated=0 gaps=0 recovered_in_ms=4200',
    );
  });

  it('counts what the pipeline lost or counted twice into lost and duplicated', () => {
    const lost = verdict(
      input({ pipeline: { stored: 100, counted: 97, duplicateNotifications: 0 } }),
    );
    expect(lost.ok).toBe(false);
    expect(lost.line).toMatch(/ lost=3 duplicated=0 /);
    expect(lost.reasons).toContain('analytics is missing 3 message(s)');
    const twice = verdict(
      input({ pipeline: { stored: 100, counted: 102, duplicateNotifications: 1 } }),
    );
    expect(twice.line).toMatch(/ lost=0 duplicated=3 /);
    expect(twice.ok).toBe(false);
  });

  it('adds the verifier’s defects, and fails on those the line does not show', () => {
    const v = verdict(input({ verifierExit: 1, totals: { ...clean, lost: 2, gaps: 1 } }));
    expect(v.line).toBe(
      'chaos gateway-sigkill: acked=100 lost=2 duplicated=0 gaps=1 recovered_in_ms=4200',
    );
    expect(v.ok).toBe(false);
    const behind = verdict(input({ verifierExit: 1, totals: { ...clean, receiversBehind: 2 } }));
    expect(behind.ok).toBe(false);
    expect(behind.reasons).toContain('2 member(s) never caught up with their channel');
    expect(behind.line).toMatch(/lost=0 duplicated=0 gaps=0/);
  });

  it('fails without recovery (printing the bound), without totals, or with nothing acked', () => {
    const late = verdict(input({ recoveredInMs: undefined }));
    expect(late.ok).toBe(false);
    expect(late.line).toMatch(/recovered_in_ms=90000$/);
    expect(verdict(input({ totals: undefined, verifierExit: 2 })).ok).toBe(false);
    expect(verdict(input({ totals: { ...clean, acked: 0, stored: 0, receipts: 0 } })).ok).toBe(
      false,
    );
    expect(verdict(input({ problems: ['the drained gateway exited with 1, not 0'] })).ok).toBe(
      false,
    );
  });
});
