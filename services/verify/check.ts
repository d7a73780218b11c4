// The loss verifier's judgement: what the ledger says was acknowledged and received, against
// what the channels hold once the system is quiet. Pure: the reader fetches, this decides.
import type { Ledger } from './ledger.js';

export interface StoredMessage {
  id: string;
  seq: number;
  clientMsgId: string;
  senderId: string;
}

export interface StoredChannel {
  channelId: string;
  /** The channel's lastSeq as the API reports it. */
  head: number;
  /** Every stored message, in the order the API returned them. */
  messages: StoredMessage[];
}

export interface Counts {
  acked: number;
  stored: number;
  /** Acked but absent. */
  lost: number;
  /** Extra copies: a clientMsgId stored twice, a seq stored twice, a seq delivered twice live to one socket. */
  duplicated: number;
  /** Stored, but the ledger never sent it. */
  unexpected: number;
  /** Seqs between 1 and the head that hold no message. */
  gaps: number;
  /** The ack or a receipt disagrees with what is stored (another seq, another message). */
  mismatched: number;
  /** Sends whose outcome the client never learned and that turned out stored (not a defect). */
  indeterminate: number;
  receivers: number;
  /** Receivers that, after catching up, still miss a seq they should hold. */
  receiversBehind: number;
  receipts: number;
}

export interface LostExample {
  clientMsgId: string;
  sender: string;
  seq: number;
  ackedAt: string;
}
export interface DuplicateExample {
  kind: 'clientMsgId' | 'seq' | 'delivery';
  copies: number;
  clientMsgId?: string;
  seq?: number;
  socket?: string;
}
export interface UnexpectedExample {
  seq: number;
  clientMsgId: string;
  sender: string;
}
export interface GapRange {
  fromSeq: number;
  toSeq: number;
}
export interface MismatchExample {
  kind: 'ack-seq' | 'ack-repeat' | 'receipt-absent' | 'receipt-content';
  clientMsgId?: string;
  seq: number;
  stored?: { seq?: number; clientMsgId?: string };
  receiver?: string;
}
export interface BehindExample {
  receiver: string;
  user?: string;
  fromSeq: number;
  lastSeq: number;
  head: number;
  missing: number;
  firstMissing: number[];
}

export interface ChannelReport extends Counts {
  channelId: string;
  head: number;
  examples: {
    lost: LostExample[];
    duplicated: DuplicateExample[];
    unexpected: UnexpectedExample[];
    gaps: GapRange[];
    mismatched: MismatchExample[];
    receiversBehind: BehindExample[];
  };
}

export interface Report {
  ok: boolean;
  /** Why the verdict is a failure, one short phrase per defect kind. */
  failures: string[];
  totals: Counts & { channels: number };
  channels: ChannelReport[];
  runs: string[];
  ledger: { records: number; ignoredLines: number };
}

export interface CheckOptions {
  /** Examples kept per defect kind and channel (the counts are always exact). */
  exampleLimit?: number;
}

const keyOf = (sender: string, clientMsgId: string) => `${sender}\u0000${clientMsgId}`;

function push<T>(list: T[], item: T, limit: number): void {
  if (list.length < limit) list.push(item);
}

/** Compares the ledger with the stored channels. Every ledger channel must be in `stored`. */
export function checkLedger(
  ledger: Ledger,
  stored: ReadonlyMap<string, StoredChannel>,
  options: CheckOptions = {},
): Report {
  const limit = options.exampleLimit ?? 20;
  const channels = ledger.channels.map((channelId) => {
    const channel = stored.get(channelId);
    if (!channel) throw new Error(`channel ${channelId} was not read back`);
    return checkChannel(ledger, channel, limit);
  });
  const totals = { ...zeroCounts(), channels: channels.length };
  for (const c of channels)
    for (const k of Object.keys(totals) as (keyof Counts)[]) if (k in c) totals[k] += c[k];
  const failures: string[] = [];
  if (totals.acked === 0) failures.push('the ledger holds no acked send: nothing was verified');
  if (totals.lost > 0) failures.push(`${totals.lost} acked message(s) lost`);
  if (totals.duplicated > 0) failures.push(`${totals.duplicated} duplicate(s)`);
  if (totals.unexpected > 0) failures.push(`${totals.unexpected} stored message(s) never sent`);
  if (totals.gaps > 0) failures.push(`${totals.gaps} seq(s) missing below the heads`);
  if (totals.mismatched > 0)
    failures.push(`${totals.mismatched} ack(s) or receipt(s) disagree with the store`);
  if (totals.receiversBehind > 0)
    failures.push(`${totals.receiversBehind} receiver(s) never caught up`);
  return {
    ok: failures.length === 0,
    failures,
    totals,
    channels,
    runs: [...new Set(ledger.runs.map((r) => r.runId))],
    ledger: { records: ledger.records, ignoredLines: ledger.ignoredLines },
  };
}

function zeroCounts(): Counts {
  return {
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
}

function checkChannel(ledger: Ledger, channel: StoredChannel, limit: number): ChannelReport {
  const { channelId } = channel;
  const report: ChannelReport = {
    channelId,
    head: channel.head,
    ...zeroCounts(),
    examples: {
      lost: [],
      duplicated: [],
      unexpected: [],
      gaps: [],
      mismatched: [],
      receiversBehind: [],
    },
  };
  const ex = report.examples;
  report.stored = channel.messages.length;

  // What the store holds, by clientMsgId (per sender, as the contract scopes it) and by seq.
  const byKey = new Map<string, StoredMessage[]>();
  const bySeq = new Map<number, StoredMessage[]>();
  for (const m of channel.messages) {
    const key = keyOf(m.senderId, m.clientMsgId);
    const sameKey = byKey.get(key);
    if (sameKey) sameKey.push(m);
    else byKey.set(key, [m]);
    const sameSeq = bySeq.get(m.seq);
    if (sameSeq) sameSeq.push(m);
    else bySeq.set(m.seq, [m]);
  }
  for (const [, copies] of byKey)
    if (copies.length > 1) {
      report.duplicated += copies.length - 1;
      push(
        ex.duplicated,
        { kind: 'clientMsgId', copies: copies.length, clientMsgId: copies[0]!.clientMsgId },
        limit,
      );
    }
  for (const [s, copies] of bySeq)
    if (copies.length > 1) {
      report.duplicated += copies.length - 1;
      push(ex.duplicated, { kind: 'seq', copies: copies.length, seq: s }, limit);
    }

  // Gaps: every seq from 1 to the head (or the highest stored seq, if the head lags) holds one.
  let top = channel.head;
  for (const m of channel.messages) if (m.seq > top) top = m.seq;
  let gapStart: number | undefined;
  for (let s = 1; s <= top + 1; s += 1) {
    const missing = s <= top && !bySeq.has(s);
    if (missing) {
      report.gaps += 1;
      gapStart ??= s;
    } else if (gapStart !== undefined) {
      push(ex.gaps, { fromSeq: gapStart, toSeq: s - 1 }, limit);
      gapStart = undefined;
    }
  }

  // Acked sends: each must be stored, at the seq its ack named.
  const ackedSeqByKey = new Map<string, number>();
  for (const ack of ledger.acks) {
    if (ack.channel !== channelId) continue;
    const key = keyOf(ack.sender, ack.clientMsgId);
    const earlier = ackedSeqByKey.get(key);
    if (earlier !== undefined) {
      // A resend of the same clientMsgId must be answered with the original message.
      if (earlier !== ack.seq) {
        report.mismatched += 1;
        push(
          ex.mismatched,
          {
            kind: 'ack-repeat',
            clientMsgId: ack.clientMsgId,
            seq: ack.seq,
            stored: { seq: earlier },
          },
          limit,
        );
      }
      continue;
    }
    ackedSeqByKey.set(key, ack.seq);
    report.acked += 1;
    const copies = byKey.get(key);
    if (!copies) {
      report.lost += 1;
      push(
        ex.lost,
        { clientMsgId: ack.clientMsgId, sender: ack.sender, seq: ack.seq, ackedAt: ack.ackedAt },
        limit,
      );
    } else if (!copies.some((m) => m.seq === ack.seq)) {
      report.mismatched += 1;
      push(
        ex.mismatched,
        {
          kind: 'ack-seq',
          clientMsgId: ack.clientMsgId,
          seq: ack.seq,
          stored: { seq: copies[0]!.seq },
        },
        limit,
      );
    }
  }

  // Stored messages nobody sent; those whose send outcome was unknown are expected either way.
  const attempted = new Set<string>();
  for (const u of ledger.unacked)
    if (u.channel === channelId) attempted.add(keyOf(u.sender, u.clientMsgId));
  for (const [key, copies] of byKey) {
    if (ackedSeqByKey.has(key)) continue;
    if (attempted.has(key)) {
      report.indeterminate += 1;
      continue;
    }
    report.unexpected += 1;
    const m = copies[0]!;
    push(ex.unexpected, { seq: m.seq, clientMsgId: m.clientMsgId, sender: m.senderId }, limit);
  }

  // Receipts: each names a stored message; one socket sees a seq live at most once.
  const liveCount = new Map<string, number>();
  const seenBy = new Map<string, Set<number>>();
  for (const r of ledger.receipts) {
    if (r.channel !== channelId) continue;
    report.receipts += 1;
    const at = bySeq.get(r.seq);
    if (!at) {
      report.mismatched += 1;
      push(ex.mismatched, { kind: 'receipt-absent', seq: r.seq, receiver: r.receiver }, limit);
    } else if (r.clientMsgId !== undefined && !at.some((m) => m.clientMsgId === r.clientMsgId)) {
      report.mismatched += 1;
      push(
        ex.mismatched,
        {
          kind: 'receipt-content',
          seq: r.seq,
          clientMsgId: r.clientMsgId,
          stored: { clientMsgId: at[0]!.clientMsgId },
          receiver: r.receiver,
        },
        limit,
      );
    }
    if (r.via === 'live') {
      const k = `${r.socket}\u0000${r.seq}`;
      liveCount.set(k, (liveCount.get(k) ?? 0) + 1);
    }
    let seen = seenBy.get(r.receiver);
    if (!seen) seenBy.set(r.receiver, (seen = new Set()));
    seen.add(r.seq);
  }
  for (const [k, copies] of liveCount)
    if (copies > 1) {
      report.duplicated += copies - 1;
      const [socket, s] = k.split('\u0000');
      push(ex.duplicated, { kind: 'delivery', copies, socket: socket!, seq: Number(s) }, limit);
    }

  // Receivers: after catch-up each holds every stored seq above the point it started from.
  const receivers = new Map<string, { fromSeq: number; user?: string }>();
  for (const d of ledger.receivers) {
    if (d.channel !== channelId) continue;
    const known = receivers.get(d.receiver);
    const user = d.user ?? known?.user;
    receivers.set(d.receiver, {
      fromSeq: known ? Math.min(known.fromSeq, d.fromSeq) : d.fromSeq,
      ...(user ? { user } : {}),
    });
  }
  for (const r of ledger.receipts)
    if (r.channel === channelId && !receivers.has(r.receiver))
      receivers.set(r.receiver, { fromSeq: 0, ...(r.user ? { user: r.user } : {}) });
  const storedSeqs = [...bySeq.keys()].sort((a, b) => a - b);
  for (const [receiver, { fromSeq, user }] of receivers) {
    report.receivers += 1;
    const seen = seenBy.get(receiver) ?? new Set<number>();
    const missing = storedSeqs.filter((s) => s > fromSeq && !seen.has(s));
    if (missing.length === 0) continue;
    let lastSeq = fromSeq;
    for (const s of seen) if (s > lastSeq) lastSeq = s;
    report.receiversBehind += 1;
    push(
      ex.receiversBehind,
      {
        receiver,
        ...(user ? { user } : {}),
        fromSeq,
        lastSeq,
        head: channel.head,
        missing: missing.length,
        firstMissing: missing.slice(0, 10),
      },
      limit,
    );
  }
  return report;
}

/** `acked=N lost=N duplicated=N gaps=N`, the part of the chaos verdict line the verifier owns. */
export function summaryLine(totals: Counts): string {
  return `acked=${totals.acked} lost=${totals.lost} duplicated=${totals.duplicated} gaps=${totals.gaps}`;
}

/** The PROTOCOL.md chaos verdict: `chaos NAME: acked=N lost=N duplicated=N gaps=N recovered_in_ms=N`. */
export function chaosLine(name: string, totals: Counts, recoveredInMs: number): string {
  return `chaos ${name}: ${summaryLine(totals)} recovered_in_ms=${recoveredInMs}`;
}
