// An experiment's verdict from the loss verifier's report and the pipeline check (pure).
import { chaosLine, type Counts } from '../../services/verify/check.js';

/** The verifier report's totals (`--report FILE`). */
export type VerifierTotals = Counts;

const NOTHING: Counts = {
  acked: 0,
  stored: 0,
  lost: 0,
  duplicated: 0,
  unexpected: 0,
  gaps: 0,
  mismatched: 0,
  indeterminate: 0,
  receivers: 0,
  receiversBehind: 0,
  receipts: 0,
};

/** What the event pipeline made of the run's channels, once it stopped moving. */
export interface PipelineCheck {
  /** Messages stored in PostgreSQL for the ledger's channels. */
  stored: number;
  /** Messages analytics counted for them (exactly once each, whatever was redelivered). */
  counted: number;
  /** Notification rows for one (member, message) beyond the first. */
  duplicateNotifications: number;
}

export interface VerdictInput {
  name: string;
  /** Exit status of `node dist/main.js verify` (0 clean, 1 a defect, 2 could not verify). */
  verifierExit: number;
  totals: VerifierTotals | undefined;
  pipeline: PipelineCheck | undefined;
  /** Undefined: the system was not healthy again within the experiment's bound. */
  recoveredInMs: number | undefined;
  recoveryBoundMs: number;
  /** Further problems the experiment found (a drain that did not exit 0, ...). */
  problems: string[];
}

export interface Verdict {
  line: string;
  ok: boolean;
  reasons: string[];
  counts: { acked: number; lost: number; duplicated: number; gaps: number };
}

/**
 * lost: acked messages the store or a member's receipts miss (the verifier), plus messages
 * analytics never counted; duplicated: the verifier's duplicates plus analytics counting a
 * message twice and a member notified twice of one message. Any verifier defect, a missing
 * recovery or another problem also fails the experiment, with a reason printed above the line.
 */
export function verdict(input: VerdictInput): Verdict {
  const reasons = [...input.problems];
  const t = input.totals;
  if (!t || input.verifierExit === 2)
    reasons.push('the verifier could not read the ledger or the API');
  else {
    if (t.acked === 0) reasons.push('nothing was acked: the run proves nothing');
    if (t.unexpected > 0) reasons.push(`${t.unexpected} stored message(s) never sent`);
    if (t.mismatched > 0)
      reasons.push(`${t.mismatched} ack(s) or receipt(s) disagree with the store`);
    if (t.receiversBehind > 0)
      reasons.push(`${t.receiversBehind} member(s) never caught up with their channel`);
  }
  const p = input.pipeline;
  const pipelineLost = p ? Math.max(0, p.stored - p.counted) : 0;
  const pipelineDuplicated = p ? Math.max(0, p.counted - p.stored) + p.duplicateNotifications : 0;
  if (!p) reasons.push('the pipeline could not be checked');
  else {
    if (pipelineLost > 0) reasons.push(`analytics is missing ${pipelineLost} message(s)`);
    if (p.counted > p.stored)
      reasons.push(`analytics counted ${p.counted - p.stored} message(s) twice`);
    if (p.duplicateNotifications > 0)
      reasons.push(`${p.duplicateNotifications} duplicate notification(s)`);
  }
  if (input.recoveredInMs === undefined)
    reasons.push(`not healthy again within ${input.recoveryBoundMs} ms of the fault`);
  const counts = {
    acked: t?.acked ?? 0,
    lost: (t?.lost ?? 0) + pipelineLost,
    duplicated: (t?.duplicated ?? 0) + pipelineDuplicated,
    gaps: t?.gaps ?? 0,
  };
  if (counts.lost > 0) reasons.push(`${counts.lost} acked message(s) lost`);
  if (counts.duplicated > 0) reasons.push(`${counts.duplicated} duplicate(s)`);
  if (counts.gaps > 0) reasons.push(`${counts.gaps} seq gap(s)`);
  const line = chaosLine(
    input.name,
    { ...(t ?? NOTHING), ...counts },
    input.recoveredInMs ?? input.recoveryBoundMs,
  );
  return { line, ok: reasons.length === 0, reasons: [...new Set(reasons)], counts };
}
