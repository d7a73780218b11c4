import { randomUUID } from 'node:crypto';
import { parseEvent } from '../../../services/events/schemas.js';

const receipt = {
  type: 'receipt.read',
  eventId: randomUUID(),
  occurredAt: new Date().toISOString(),
  channelId: randomUUID(),
  userId: randomUUID(),
  seq: 3,
};

test('a well-formed event of a known topic parses', () => {
  expect(parseEvent('signalink.receipts', JSON.stringify(receipt))).toEqual({
    ok: true,
    event: receipt,
  });
});

test.each([
  ['not JSON', 'signalink.receipts', '{oops'],
  ['the wrong shape for its topic', 'signalink.messages', JSON.stringify(receipt)],
  ['a bad id', 'signalink.receipts', JSON.stringify({ ...receipt, userId: 'bob' })],
  ['a negative seq', 'signalink.receipts', JSON.stringify({ ...receipt, seq: -1 })],
  ['an unknown topic', 'signalink.other', JSON.stringify(receipt)],
])('%s is rejected with a reason', (_name, topic, value) => {
  const result = parseEvent(topic, value);
  expect(result.ok).toBe(false);
  expect((result as { reason: string }).reason.length).toBeGreaterThan(0);
});
