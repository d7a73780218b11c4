import { randomUUID } from 'node:crypto';
import {
  LEDGER_PREFIX,
  LedgerError,
  mergeLedgers,
  parseLedger,
} from '../../../services/verify/ledger.js';

const channel = randomUUID();
const sender = randomUUID();
const ack = {
  kind: 'ack',
  channel,
  clientMsgId: 'm-1',
  seq: 1,
  ackedAt: '2026-01-01T00:00:00.000Z',
  sender,
};
const receipt = {
  kind: 'receipt',
  receiver: 'vu1-c0',
  socket: 'sid-1',
  channel,
  seq: 1,
  clientMsgId: 'm-1',
  receivedAt: '2026-01-01T00:00:00.010Z',
};

describe('parseLedger', () => {
  it('reads bare JSON records and fills defaults', () => {
    const ledger = parseLedger([JSON.stringify(ack), '', JSON.stringify(receipt)].join('\n'));
    expect(ledger.acks).toHaveLength(1);
    expect(ledger.receipts[0]!.via).toBe('live');
    expect(ledger.channels).toEqual([channel]);
    expect(ledger.records).toBe(2);
  });

  it('extracts records from every k6 console format and skips other log lines', () => {
    const payload = JSON.stringify(ack);
    const lines = [
      // --log-format=raw (or stdout captured as is)
      `${LEDGER_PREFIX}${payload}`,
      // --log-format=json
      JSON.stringify({
        level: 'info',
        msg: `${LEDGER_PREFIX}${JSON.stringify(receipt)}`,
        source: 'console',
        time: 'x',
      }),
      // the default logfmt format: msg is a Go-quoted string
      `time="2026-01-01T00:00:00Z" level=info msg=${JSON.stringify(`${LEDGER_PREFIX}${JSON.stringify({ ...ack, clientMsgId: 'm-2', seq: 2 })}`)} source=console`,
      'time="2026-01-01T00:00:00Z" level=warning msg="some other console output" source=console',
      JSON.stringify({ level: 'info', msg: 'not ours', source: 'console' }),
      '     running (0m05.0s), 10/10 VUs',
    ];
    const ledger = parseLedger(lines.join('\n'));
    expect(ledger.acks.map((a) => a.clientMsgId)).toEqual(['m-1', 'm-2']);
    expect(ledger.receipts).toHaveLength(1);
    expect(ledger.ignoredLines).toBe(3);
  });

  it('rejects a record that does not match its schema, naming the line and the field', () => {
    const bad = { ...ack, seq: 0 };
    expect(() => parseLedger(`${JSON.stringify(ack)}\n${JSON.stringify(bad)}`, 'run.log')).toThrow(
      /run\.log:2: seq:/,
    );
    expect(() => parseLedger(`${LEDGER_PREFIX}{"kind":"ack",`)).toThrow(LedgerError);
    expect(() => parseLedger(JSON.stringify({ ...ack, kind: 'acked' }))).toThrow(/kind/);
    expect(() => parseLedger(JSON.stringify({ ...ack, channel: 'not-a-uuid' }))).toThrow(/channel/);
  });

  it('merges ledgers keeping every channel once', () => {
    const other = randomUUID();
    const merged = mergeLedgers([
      parseLedger(JSON.stringify(ack)),
      parseLedger(
        [JSON.stringify(receipt), JSON.stringify({ kind: 'channel', channel: other })].join('\n'),
      ),
    ]);
    expect(merged.channels).toEqual([channel, other]);
    expect(merged.records).toBe(3);
  });
});
