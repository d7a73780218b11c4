import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  chaosLine,
  checkLedger,
  summaryLine,
  type StoredChannel,
  type StoredMessage,
} from '../../../services/verify/check.js';
import { parseLedger, type Ledger } from '../../../services/verify/ledger.js';

const alice = randomUUID();
const bob = randomUUID();
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

/** A clean run: `count` messages alternating senders, two receivers who saw everything live. */
function cleanRun(count = 5, channel = randomUUID()) {
  const messages: StoredMessage[] = [];
  const records: object[] = [{ kind: 'run', runId: 'r1', owner: 'owner' }];
  for (const receiver of ['rx-a', 'rx-b'])
    records.push({ kind: 'receiver', receiver, channel, fromSeq: 0 });
  for (let seq = 1; seq <= count; seq += 1) {
    const sender = seq % 2 ? alice : bob;
    const clientMsgId = `m-${seq}`;
    messages.push({ id: randomUUID(), seq, clientMsgId, senderId: sender });
    records.push({ kind: 'ack', channel, clientMsgId, seq, ackedAt: at(seq), sender });
    for (const receiver of ['rx-a', 'rx-b'])
      records.push({
        kind: 'receipt',
        receiver,
        socket: `${receiver}-s1`,
        channel,
        seq,
        clientMsgId,
        receivedAt: at(seq + 1),
        via: 'live',
      });
  }
  return { channel, messages, records };
}

function ledgerOf(records: object[]): Ledger {
  return parseLedger(records.map((r) => JSON.stringify(r)).join('\n'));
}
function storeOf(...channels: StoredChannel[]): Map<string, StoredChannel> {
  return new Map(channels.map((c) => [c.channelId, c]));
}
function verify(records: object[], channel: string, messages: StoredMessage[], head?: number) {
  return checkLedger(
    ledgerOf(records),
    storeOf({ channelId: channel, head: head ?? messages.at(-1)?.seq ?? 0, messages }),
  );
}

describe('checkLedger', () => {
  it('passes a clean run and counts what it checked', () => {
    const { channel, messages, records } = cleanRun();
    const report = verify(records, channel, messages);
    expect(report.ok).toBe(true);
    expect(report.failures).toEqual([]);
    expect(report.totals).toMatchObject({
      channels: 1,
      acked: 5,
      stored: 5,
      lost: 0,
      duplicated: 0,
      unexpected: 0,
      gaps: 0,
      mismatched: 0,
      receivers: 2,
      receiversBehind: 0,
      receipts: 10,
    });
    expect(report.runs).toEqual(['r1']);
    expect(summaryLine(report.totals)).toBe('acked=5 lost=0 duplicated=0 gaps=0');
    expect(chaosLine('gateway-kill', report.totals, 1234)).toBe(
      'chaos gateway-kill: acked=5 lost=0 duplicated=0 gaps=0 recovered_in_ms=1234',
    );
  });

  it('reports an acked message that is not stored as lost, and the hole it leaves as a gap', () => {
    const { channel, messages, records } = cleanRun();
    const report = verify(
      records,
      channel,
      messages.filter((m) => m.seq !== 3),
      5,
    );
    expect(report.ok).toBe(false);
    expect(report.totals).toMatchObject({ lost: 1, gaps: 1 });
    expect(report.channels[0]!.examples.lost[0]).toMatchObject({ clientMsgId: 'm-3', seq: 3 });
    expect(report.channels[0]!.examples.gaps).toEqual([{ fromSeq: 3, toSeq: 3 }]);
    // The receipts of seq 3 now name nothing stored.
    expect(report.totals.mismatched).toBe(2);
    expect(summaryLine(report.totals)).toBe('acked=5 lost=1 duplicated=0 gaps=1');
  });

  it('reports a lost tail (acked after the last stored seq) even when the head agrees with the store', () => {
    const { channel, messages, records } = cleanRun();
    const report = verify(records, channel, messages.slice(0, 3), 3);
    expect(report.totals).toMatchObject({ lost: 2, gaps: 0 });
  });

  it('reports a clientMsgId stored twice as a duplicate', () => {
    const { channel, messages, records } = cleanRun();
    const copy = { ...messages[1]!, id: randomUUID(), seq: 6 };
    const report = verify(records, channel, [...messages, copy]);
    expect(report.ok).toBe(false);
    expect(report.totals.duplicated).toBe(1);
    expect(report.channels[0]!.examples.duplicated[0]).toMatchObject({
      kind: 'clientMsgId',
      clientMsgId: 'm-2',
      copies: 2,
    });
    // The receivers never saw seq 6.
    expect(report.totals.receiversBehind).toBe(2);
  });

  it('reports one seq stored twice as a duplicate', () => {
    const { channel, messages, records } = cleanRun();
    const other = { id: randomUUID(), seq: 2, clientMsgId: 'x', senderId: alice };
    records.push({ kind: 'ack', channel, clientMsgId: 'x', seq: 2, ackedAt: at(9), sender: alice });
    const report = verify(records, channel, [...messages, other]);
    expect(report.channels[0]!.examples.duplicated).toContainEqual({
      kind: 'seq',
      copies: 2,
      seq: 2,
    });
  });

  it('reports a message delivered twice live to one socket, but not a sync overlapping a live one', () => {
    const { channel, messages, records } = cleanRun();
    const again = {
      kind: 'receipt',
      receiver: 'rx-a',
      socket: 'rx-a-s1',
      channel,
      seq: 4,
      clientMsgId: 'm-4',
      receivedAt: at(20),
      via: 'live',
    };
    const viaSync = { ...again, receiver: 'rx-b', socket: 'rx-b-s1', via: 'sync' };
    const onNewSocket = { ...again, socket: 'rx-a-s2' };
    const report = verify([...records, again, viaSync, onNewSocket], channel, messages);
    expect(report.totals.duplicated).toBe(1);
    expect(report.channels[0]!.examples.duplicated).toEqual([
      { kind: 'delivery', copies: 2, socket: 'rx-a-s1', seq: 4 },
    ]);
  });

  it('reports a stored message nobody sent as unexpected, but not one whose send outcome was unknown', () => {
    const { channel, messages, records } = cleanRun();
    const stranger = { id: randomUUID(), seq: 6, clientMsgId: 'ghost', senderId: alice };
    const timedOut = { id: randomUUID(), seq: 7, clientMsgId: 'timed-out', senderId: bob };
    records.push({
      kind: 'unacked',
      channel,
      clientMsgId: 'timed-out',
      sender: bob,
      reason: 'ACK_TIMEOUT',
    });
    for (const receiver of ['rx-a', 'rx-b'])
      for (const m of [stranger, timedOut])
        records.push({
          kind: 'receipt',
          receiver,
          socket: `${receiver}-s1`,
          channel,
          seq: m.seq,
          receivedAt: at(30),
          via: 'sync',
        });
    const report = verify(records, channel, [...messages, stranger, timedOut]);
    expect(report.totals).toMatchObject({ unexpected: 1, indeterminate: 1, receiversBehind: 0 });
    expect(report.channels[0]!.examples.unexpected).toEqual([
      { seq: 6, clientMsgId: 'ghost', sender: alice },
    ]);
    expect(report.failures).toEqual(['1 stored message(s) never sent']);
  });

  it('keys clientMsgIds by sender: the same id from two senders is two messages', () => {
    const { channel, messages, records } = cleanRun(2);
    const sameIdOtherSender = { id: randomUUID(), seq: 3, clientMsgId: 'm-1', senderId: bob };
    records.push({ kind: 'ack', channel, clientMsgId: 'm-1', seq: 3, ackedAt: at(3), sender: bob });
    for (const receiver of ['rx-a', 'rx-b'])
      records.push({
        kind: 'receipt',
        receiver,
        socket: `${receiver}-s1`,
        channel,
        seq: 3,
        clientMsgId: 'm-1',
        receivedAt: at(4),
      });
    expect(verify(records, channel, [...messages, sameIdOtherSender]).ok).toBe(true);
  });

  it('reports seqs missing below the head as gaps, in ranges', () => {
    const { channel, messages, records } = cleanRun(3);
    // The head says 7, nothing is stored at 4..7; nothing was acked there either.
    const report = verify(records, channel, messages, 7);
    expect(report.totals).toMatchObject({ gaps: 4, lost: 0 });
    expect(report.channels[0]!.examples.gaps).toEqual([{ fromSeq: 4, toSeq: 7 }]);
  });

  it('reports receivers that never caught up, with the seqs they miss', () => {
    const { channel, messages, records } = cleanRun();
    const withoutTail = records.filter(
      (r: any) => !(r.kind === 'receipt' && r.receiver === 'rx-b' && r.seq >= 4),
    );
    // A receiver declared but silent misses everything.
    withoutTail.push({ kind: 'receiver', receiver: 'rx-c', channel, fromSeq: 0 });
    const report = verify(withoutTail, channel, messages);
    expect(report.totals.receiversBehind).toBe(2);
    expect(report.channels[0]!.examples.receiversBehind).toEqual([
      { receiver: 'rx-b', fromSeq: 0, lastSeq: 3, head: 5, missing: 2, firstMissing: [4, 5] },
      {
        receiver: 'rx-c',
        fromSeq: 0,
        lastSeq: 0,
        head: 5,
        missing: 5,
        firstMissing: [1, 2, 3, 4, 5],
      },
    ]);
  });

  it('expects a receiver to hold only what came after the point it started from', () => {
    const { channel, messages, records } = cleanRun();
    const late = records.filter(
      (r: any) => !(r.kind === 'receipt' && r.receiver === 'rx-b' && r.seq <= 2),
    );
    const declared = late.map((r: any) =>
      r.kind === 'receiver' && r.receiver === 'rx-b' ? { ...r, fromSeq: 2 } : r,
    );
    expect(verify(declared, channel, messages).ok).toBe(true);
    expect(verify(late, channel, messages).totals.receiversBehind).toBe(1);
  });

  it('reports an ack or a receipt that disagrees with the store as mismatched', () => {
    const { channel, messages, records } = cleanRun();
    const wrongSeq = records.map((r: any) =>
      r.kind === 'ack' && r.seq === 2 ? { ...r, seq: 4 } : r,
    );
    expect(verify(wrongSeq, channel, messages).channels[0]!.examples.mismatched).toEqual([
      { kind: 'ack-seq', clientMsgId: 'm-2', seq: 4, stored: { seq: 2 } },
    ]);
    const wrongContent = records.map((r: any) =>
      r.kind === 'receipt' && r.seq === 3 && r.receiver === 'rx-a'
        ? { ...r, clientMsgId: 'm-9' }
        : r,
    );
    expect(
      verify(wrongContent, channel, messages).channels[0]!.examples.mismatched[0],
    ).toMatchObject({
      kind: 'receipt-content',
      seq: 3,
    });
    const resentGotOther = [
      ...records,
      { kind: 'ack', channel, clientMsgId: 'm-1', seq: 5, ackedAt: at(50), sender: alice },
    ];
    expect(
      verify(resentGotOther, channel, messages).channels[0]!.examples.mismatched[0],
    ).toMatchObject({
      kind: 'ack-repeat',
    });
  });

  it('counts a resend answered with the original once', () => {
    const { channel, messages, records } = cleanRun();
    const resent = [
      ...records,
      { ...records.find((r: any) => r.kind === 'ack')!, ackedAt: at(60) },
    ];
    const report = verify(resent, channel, messages);
    expect(report.ok).toBe(true);
    expect(report.totals.acked).toBe(5);
  });

  it('fails a ledger with nothing acked: an empty run proves nothing', () => {
    const channel = randomUUID();
    const report = verify([{ kind: 'channel', channel }], channel, []);
    expect(report.ok).toBe(false);
    expect(report.failures[0]).toMatch(/no acked send/);
  });

  it('sums channels and refuses a ledger channel that was not read back', () => {
    const a = cleanRun(3);
    const b = cleanRun(4);
    const b2 = b.messages.filter((m) => m.seq !== 1);
    const report = checkLedger(
      ledgerOf([...a.records, ...b.records]),
      storeOf(
        { channelId: a.channel, head: 3, messages: a.messages },
        { channelId: b.channel, head: 4, messages: b2 },
      ),
    );
    expect(report.totals).toMatchObject({ channels: 2, acked: 7, lost: 1, gaps: 1 });
    expect(report.channels.map((c) => c.lost)).toEqual([0, 1]);
    expect(() => checkLedger(ledgerOf(a.records), new Map())).toThrow(/not read back/);
  });

  it('never reports a defect when the store holds exactly what was acked and everyone saw it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 3 }),
        (count, drop) => {
          const { channel, messages, records } = cleanRun(count);
          const clean = verify(records, channel, messages);
          if (!clean.ok) return false;
          // Dropping any stored message must be caught as a loss.
          const victim = (drop % count) + 1;
          const broken = verify(
            records,
            channel,
            messages.filter((m) => m.seq !== victim),
            count,
          );
          return broken.totals.lost === 1 && broken.totals.gaps === 1 && !broken.ok;
        },
      ),
    );
  });
});
