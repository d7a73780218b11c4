import { pino } from 'pino';
import { UnsubscribeTokens } from '../../../services/chat/email-unsubscribe.js';
import {
  DIGEST_MAX_ENTRIES,
  digestSubject,
  escapeHtml,
  formatTime,
  messageLink,
  renderDigest,
  unsubscribeLink,
  type DigestInput,
} from '../../../services/notifier/digest-mail.js';
import type { DigestEntry } from '../../../services/notifier/digests.js';
import { classifySmtpError, LogMailSender } from '../../../services/notifier/transports/email.js';

const channel = {
  id: '6f1d3c1e-4b5a-4f7e-9c2d-1a2b3c4d5e6f',
  name: 'ops',
  type: 'public' as const,
};
const entry = (seq: number, p: Partial<DigestEntry> = {}): DigestEntry => ({
  messageId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
  seq,
  senderName: 'Ann Lee',
  sentAt: new Date(Date.UTC(2026, 11, 2, 9, 5 + seq)),
  text: `message number ${seq}`,
  mentioned: false,
  ...p,
});
const input = (p: Partial<DigestInput> = {}): DigestInput => ({
  digestId: '11111111-2222-4333-8444-555555555555',
  recipient: { email: 'bob@example.test', displayName: 'Bob' },
  channel,
  entries: [entry(1)],
  publicUrl: 'https://chat.example.test',
  unsubscribeUrl: 'https://chat.example.test/api/v1/email/unsubscribe?token=t',
  from: 'Signalink <notify@signalink.test>',
  ...p,
});

describe('subjects', () => {
  test.each([
    ['one message in a channel', channel, [entry(1)], '1 new message in #ops'],
    ['several', channel, [entry(1), entry(2)], '2 new messages in #ops'],
    [
      'a mention leads',
      channel,
      [entry(2, { mentioned: true }), entry(1), entry(3)],
      'Ann Lee mentioned you in #ops (+2 more messages)',
    ],
    ['a single mention', channel, [entry(2, { mentioned: true })], 'Ann Lee mentioned you in #ops'],
    [
      'a direct message',
      { ...channel, name: null, type: 'direct' as const },
      [entry(1)],
      'Ann Lee sent you a message',
    ],
    [
      'direct messages',
      { ...channel, name: null, type: 'direct' as const },
      [entry(1), entry(2)],
      '2 new messages from Ann Lee',
    ],
  ])('%s', (_name, ch, entries, subject) => {
    expect(digestSubject(ch, entries)).toBe(subject);
  });
});

test('the mail lists sender, time, text and a link back for each message; the HTML is escaped', () => {
  const mail = renderDigest(
    input({
      entries: [
        entry(4, { mentioned: true, text: 'hey @bob <script>alert(1)</script> & "more"' }),
        entry(2),
      ],
    }),
  );
  expect(mail.to).toBe('bob@example.test');
  expect(mail.text).toContain('Ann Lee · 2026-12-02 09:09 UTC');
  expect(mail.text).toContain('hey @bob <script>alert(1)</script> & "more"');
  expect(mail.text).toContain(
    `https://chat.example.test/?channel=${channel.id}&message=${entry(4).messageId}`,
  );
  expect(mail.text.indexOf('You were mentioned:')).toBeLessThan(mail.text.indexOf('Also new:'));
  expect(mail.text).toContain(mail.headers['List-Unsubscribe']!.slice(1, -1));
  expect(mail.html).not.toContain('<script>');
  expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;');
  expect(mail.html).toContain(
    `href="https://chat.example.test/?channel=${channel.id}&amp;message=${entry(2).messageId}"`,
  );
  expect(mail.html).toContain('mentioned you');
  expect(mail.maxSeq).toBe(4);
  expect(mail.messageIds).toEqual([entry(4).messageId, entry(2).messageId]);
});

test('headers: one-click List-Unsubscribe (RFC 8058), a Message-ID from the digest id, auto-generated', () => {
  const mail = renderDigest(input());
  expect(mail.headers).toEqual({
    'List-Unsubscribe': '<https://chat.example.test/api/v1/email/unsubscribe?token=t>',
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    'Auto-Submitted': 'auto-generated',
    'X-Signalink-Digest-Id': '11111111-2222-4333-8444-555555555555',
  });
  expect(mail.messageId).toBe('<digest-11111111-2222-4333-8444-555555555555@signalink.test>');
  expect(renderDigest(input()).messageId).toBe(mail.messageId);
  expect(renderDigest(input({ from: 'no angle brackets' })).messageId).toMatch(
    /@signalink\.invalid>$/,
  );
});

test('a long digest shows the first messages and counts the rest; long texts are cut', () => {
  const entries = Array.from({ length: DIGEST_MAX_ENTRIES + 7 }, (_, i) =>
    entry(i + 1, { text: 'x'.repeat(5000) }),
  );
  const mail = renderDigest(input({ entries }));
  expect(mail.text).toContain('…and 7 more messages');
  expect(mail.html).toContain('7 more messages');
  expect(mail.text.length).toBeLessThan(DIGEST_MAX_ENTRIES * 1200);
  expect(mail.subject).toBe(`${DIGEST_MAX_ENTRIES} new messages in #ops`);
  expect(mail.maxSeq).toBe(DIGEST_MAX_ENTRIES + 7);
});

test('links and escaping helpers', () => {
  expect(messageLink('https://x.test', 'c', 'm')).toBe('https://x.test/?channel=c&message=m');
  expect(unsubscribeLink('https://x.test', 'a.b-c_d')).toBe(
    'https://x.test/api/v1/email/unsubscribe?token=a.b-c_d',
  );
  expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
    '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
  );
  expect(formatTime(new Date('2026-01-05T23:59:30Z'))).toBe('2026-01-05 23:59 UTC');
});

describe('unsubscribe tokens', () => {
  const user = '0b5e3c2a-8f4d-4a1b-9c3e-7d6f5a4b3c2d';
  const other = '1c6f4d3b-9a5e-4b2c-8d4f-8e7a6b5c4d3e';
  const jwt = 'j'.repeat(40);
  const tokens = UnsubscribeTokens.fromSecrets(undefined, jwt);

  test('a token verifies to its user, also from another process with the same secrets', () => {
    const token = tokens.sign(user);
    expect(tokens.verify(token)).toBe(user);
    expect(UnsubscribeTokens.fromSecrets(undefined, jwt).verify(token)).toBe(user);
  });

  test('forged, altered or foreign tokens are refused', () => {
    const token = tokens.sign(user);
    const [, sig] = token.split('.');
    for (const bad of [
      `${other}.${sig}`,
      `${token.slice(0, -2)}AA`,
      `${user}.`,
      user,
      '',
      `not-a-uuid.${sig}`,
      `${user}.${sig}.extra`,
    ])
      expect(tokens.verify(bad)).toBeUndefined();
    expect(UnsubscribeTokens.fromSecrets(undefined, 'k'.repeat(40)).verify(token)).toBeUndefined();
    // Its own secret, when set, replaces the derived key.
    expect(UnsubscribeTokens.fromSecrets('s'.repeat(40), jwt).verify(token)).toBeUndefined();
  });

  test('the signature is not the JWT secret or an HMAC made with it directly', () => {
    const token = tokens.sign(user);
    expect(token).not.toContain(jwt);
    expect(token).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
  });
});

describe('SMTP answers', () => {
  test.each([
    [{ responseCode: 451, response: '451 try later' }, false],
    [{ responseCode: 421, response: '421 closing' }, false],
    [{ responseCode: 550, response: '550 no such user' }, true],
    [{ responseCode: 554, response: '554 rejected' }, true],
    [{ responseCode: 503, response: '503 bad sequence' }, false],
    [{ code: 'ESOCKET', message: 'connect ECONNREFUSED' }, false],
    [{ code: 'ETIMEDOUT', message: 'Greeting never received' }, false],
    [new Error('something else'), false],
  ])('%j → permanent: %s', (err, permanent) => {
    const e = classifySmtpError(err);
    expect(e.permanent).toBe(permanent);
    expect(e.message).toMatch(/^SMTP (answered \d{3}|unreachable)/);
  });
});

test('without SMTP_URL a digest goes to the log: recipient, subject and count, never the text', async () => {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const mail = renderDigest(input({ entries: [entry(1, { text: 'secret plans' }), entry(2)] }));
  await new LogMailSender(log).send(mail);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({
    msg: 'email digest (not sent: SMTP_URL is not set)',
    to: 'bob@example.test',
    subject: '2 new messages in #ops',
    messages: 2,
    digestId: mail.digestId,
  });
  expect(JSON.stringify(lines[0])).not.toContain('secret plans');
});
