import { classifyStatus, signBody } from '../../../services/notifier/transports/webhook.js';

test('signatures are HMAC-SHA256 in hex (RFC 4231 test case 2)', () => {
  expect(signBody('Jefe', 'what do ya want for nothing?')).toBe(
    'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
});

test.each([
  [200, 'delivered'],
  [204, 'delivered'],
  [408, 'retry'],
  [429, 'retry'],
  [500, 'retry'],
  [503, 'retry'],
  [301, 'reject'],
  [400, 'reject'],
  [401, 'reject'],
  [404, 'reject'],
] as const)('HTTP %i is %s', (status, verdict) => {
  expect(classifyStatus(status)).toBe(verdict);
});
