// The loss verifier's ledger: what a load generator saw, one JSON record a line. Load tools that
// cannot write files (k6) print the records through their console, so a line may also be a k6
// log line carrying the record after LEDGER_PREFIX (raw, JSON or logfmt log formats).
import { z } from 'zod';

export const LEDGER_PREFIX = 'signalink-ledger ';

const isoTime = z.iso.datetime({ offset: true });
const channelId = z.uuid();
const seq = z.number().int().positive();
const name = z.string().min(1).max(200);

// Records are objects, not strict ones: a newer load script may add fields an older verifier
// does not know, and ignoring them loses nothing the checks need.
const runRecord = z.object({
  kind: z.literal('run'),
  runId: name,
  startedAt: isoTime.optional(),
  baseUrl: z.string().optional(),
  /** Username of an account that is a member of every channel (the verifier can log in as it). */
  owner: z.string().optional(),
});
const channelRecord = z.object({ kind: z.literal('channel'), channel: channelId });
const ackRecord = z.object({
  kind: z.literal('ack'),
  channel: channelId,
  clientMsgId: z.string().min(1).max(128),
  seq,
  ackedAt: isoTime,
  sender: z.uuid(),
  messageId: z.uuid().optional(),
});
const unackedRecord = z.object({
  kind: z.literal('unacked'),
  channel: channelId,
  clientMsgId: z.string().min(1).max(128),
  sender: z.uuid(),
  sentAt: isoTime.optional(),
  reason: z.string().max(500).optional(),
});
const receiverRecord = z.object({
  kind: z.literal('receiver'),
  receiver: name,
  user: z.uuid().optional(),
  channel: channelId,
  /** The receiver is expected to see every seq above this one. */
  fromSeq: z.number().int().min(0).default(0),
});
const receiptRecord = z.object({
  kind: z.literal('receipt'),
  receiver: name,
  socket: name,
  user: z.uuid().optional(),
  channel: channelId,
  seq,
  clientMsgId: z.string().min(1).max(128).optional(),
  receivedAt: isoTime,
  via: z.enum(['live', 'sync']).default('live'),
});

export const ledgerRecord = z.discriminatedUnion('kind', [
  runRecord,
  channelRecord,
  ackRecord,
  unackedRecord,
  receiverRecord,
  receiptRecord,
]);

export type LedgerRecord = z.output<typeof ledgerRecord>;
export type AckRecord = z.output<typeof ackRecord>;
export type UnackedRecord = z.output<typeof unackedRecord>;
export type ReceiverRecord = z.output<typeof receiverRecord>;
export type ReceiptRecord = z.output<typeof receiptRecord>;
export type RunRecord = z.output<typeof runRecord>;

export interface Ledger {
  runs: RunRecord[];
  /** Every channel any record names, in first-seen order. */
  channels: string[];
  acks: AckRecord[];
  unacked: UnackedRecord[];
  receivers: ReceiverRecord[];
  receipts: ReceiptRecord[];
  /** Ledger records read, and lines that were not ledger records (other console output). */
  records: number;
  ignoredLines: number;
}

export class LedgerError extends Error {
  constructor(readonly problems: string[]) {
    super(`the ledger is not valid:\n  ${problems.join('\n  ')}`);
    this.name = 'LedgerError';
  }
}

const MAX_PROBLEMS = 20;

/**
 * Parses ledger text. Lines that are not ledger records (k6's own log lines, other console
 * output) are counted and skipped; a line that is meant as a record but does not match its
 * schema is an error naming the line, so a broken ledger never verifies as clean.
 */
export function parseLedger(text: string, source = 'ledger'): Ledger {
  const ledger: Ledger = {
    runs: [],
    channels: [],
    acks: [],
    unacked: [],
    receivers: [],
    receipts: [],
    records: 0,
    ignoredLines: 0,
  };
  const seenChannels = new Set<string>();
  const problems: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let payload: string | undefined;
    try {
      payload = extractRecord(line);
    } catch (err) {
      problems.push(`${source}:${i + 1}: ${(err as Error).message}`);
      continue;
    }
    if (payload === undefined) {
      ledger.ignoredLines += 1;
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch {
      problems.push(`${source}:${i + 1}: not JSON: ${payload.slice(0, 80)}`);
      continue;
    }
    const parsed = ledgerRecord.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || 'record'}: ${issue.message}`)
        .join('; ');
      problems.push(`${source}:${i + 1}: ${issues}`);
      continue;
    }
    const record = parsed.data;
    ledger.records += 1;
    if ('channel' in record && !seenChannels.has(record.channel)) {
      seenChannels.add(record.channel);
      ledger.channels.push(record.channel);
    }
    switch (record.kind) {
      case 'run':
        ledger.runs.push(record);
        break;
      case 'channel':
        break;
      case 'ack':
        ledger.acks.push(record);
        break;
      case 'unacked':
        ledger.unacked.push(record);
        break;
      case 'receiver':
        ledger.receivers.push(record);
        break;
      case 'receipt':
        ledger.receipts.push(record);
        break;
    }
    if (problems.length >= MAX_PROBLEMS) break;
  }
  if (problems.length > 0) throw new LedgerError(problems);
  return ledger;
}

/** Merges ledgers written by several load generators for the same run. */
export function mergeLedgers(parts: Ledger[]): Ledger {
  const channels: string[] = [];
  const seen = new Set<string>();
  for (const part of parts)
    for (const c of part.channels)
      if (!seen.has(c)) {
        seen.add(c);
        channels.push(c);
      }
  return {
    runs: parts.flatMap((p) => p.runs),
    channels,
    acks: parts.flatMap((p) => p.acks),
    unacked: parts.flatMap((p) => p.unacked),
    receivers: parts.flatMap((p) => p.receivers),
    receipts: parts.flatMap((p) => p.receipts),
    records: parts.reduce((n, p) => n + p.records, 0),
    ignoredLines: parts.reduce((n, p) => n + p.ignoredLines, 0),
  };
}

/**
 * The JSON text of the record a line carries, or undefined when the line carries none. Forms:
 * a bare record (`{"kind":...}`), `signalink-ledger {...}` (k6 --log-format=raw, or a plain
 * stdout capture), a k6 JSON log line whose `msg` holds the prefixed record, and a k6 logfmt
 * line (the default format) with `msg="signalink-ledger {...}"`.
 */
function extractRecord(line: string): string | undefined {
  if (line.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      // A bare line that opens like JSON yet isn't: only an error if it looks like ours.
      if (line.includes('"kind"')) throw new Error(`not JSON: ${line.slice(0, 80)}`);
      return undefined;
    }
    if (obj && typeof obj === 'object') {
      if ('kind' in obj) return line;
      const msg = (obj as { msg?: unknown }).msg;
      if (typeof msg === 'string' && msg.startsWith(LEDGER_PREFIX))
        return msg.slice(LEDGER_PREFIX.length);
    }
    return undefined;
  }
  const at = line.indexOf(LEDGER_PREFIX);
  if (at < 0) return undefined;
  if (line.slice(0, at).endsWith('msg="')) {
    const literal = quotedStringAt(line, at - 1);
    const msg = JSON.parse(literal) as string;
    return msg.slice(LEDGER_PREFIX.length);
  }
  return line.slice(at + LEDGER_PREFIX.length);
}

/** The double-quoted literal starting at `open` (logfmt values are quoted with Go's %q). */
function quotedStringAt(line: string, open: number): string {
  for (let i = open + 1; i < line.length; i += 1) {
    const ch = line[i];
    if (ch === '\\') i += 1;
    else if (ch === '"') return line.slice(open, i + 1);
  }
  throw new Error('unterminated msg="..." value');
}
