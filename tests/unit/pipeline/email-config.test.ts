import type { ConfigError } from '../../../services/core/config.js';
import { loadConfig } from '../../../services/core/config.js';

const base = { NODE_ENV: 'test' };
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    return (err as ConfigError).problems;
  }
  return [];
};

test('defaults: the log transport alone, email digests off, links to localhost', () => {
  const c = loadConfig(base);
  expect(c.notifier.transport).toBe('log');
  expect(c.notifier.email).toEqual({
    enabled: false,
    smtpUrl: undefined,
    from: 'Signalink <no-reply@localhost>',
    digestWindowSeconds: 600,
  });
  // The notifier then links to http://localhost and the port it listens on.
  expect(c.publicUrl).toBeUndefined();
});

test('setting SMTP_URL alone turns email digests on next to the log transport', () => {
  const c = loadConfig({ ...base, SMTP_URL: 'smtps://user:secret@smtp.example.com:465' });
  expect(c.notifier.transport).toBe('log');
  expect(c.notifier.email).toMatchObject({
    enabled: true,
    smtpUrl: 'smtps://user:secret@smtp.example.com:465',
  });
});

test.each([
  ['fcm', 'fcm', false],
  ['webhook', 'webhook', false],
  ['log', 'log', false],
  ['email', undefined, true],
  ['fcm,email', 'fcm', true],
  [' email , log ', 'log', true],
])('NOTIFIER_TRANSPORT=%s → push %s, email %s', (value, push, email) => {
  const c = loadConfig({
    ...base,
    NOTIFIER_TRANSPORT: value,
    NOTIFIER_WEBHOOK_URL: 'https://hooks.example.com/x',
    NOTIFIER_WEBHOOK_SECRET: 'shh',
  });
  expect(c.notifier.transport).toBe(push);
  expect(c.notifier.email.enabled).toBe(email);
});

test('NOTIFIER_TRANSPORT lists at most one push transport, and only known names', () => {
  expect(problemsOf({ NOTIFIER_TRANSPORT: 'fcm,log' })).toEqual([
    expect.stringMatching(/^NOTIFIER_TRANSPORT: at most one of fcm, webhook, log/),
  ]);
  expect(problemsOf({ NOTIFIER_TRANSPORT: 'email,sms' })[0]).toMatch(/^NOTIFIER_TRANSPORT/);
  // webhook still needs its URL and secret when listed with email.
  expect(problemsOf({ NOTIFIER_TRANSPORT: 'webhook,email' })).toHaveLength(2);
});

test('production refuses email without SMTP_URL; elsewhere digests go to the log', () => {
  expect(
    problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), NOTIFIER_TRANSPORT: 'email' }),
  ).toEqual([expect.stringMatching(/^SMTP_URL: is required/)]);
  const dev = loadConfig({ ...base, NOTIFIER_TRANSPORT: 'email' });
  expect(dev.notifier.email).toMatchObject({ enabled: true, smtpUrl: undefined });
});

test.each([
  ['SMTP_URL', 'http://smtp.example.com'],
  ['SMTP_URL', 'not a url'],
  ['EMAIL_FROM', 'no address here'],
  ['EMAIL_FROM', 'Bad\r\nBcc: x@example.com'],
  ['EMAIL_DIGEST_WINDOW_SECONDS', '0'],
  ['EMAIL_DIGEST_WINDOW_SECONDS', 'soon'],
  ['EMAIL_UNSUBSCRIBE_SECRET', 'short'],
  ['PUBLIC_URL', 'ftp://chat.example.com'],
])('%s=%j is refused with its name', (name, value) => {
  expect(problemsOf({ [name]: value })[0]).toMatch(new RegExp(`^${name}:`));
});

test('PUBLIC_URL loses a trailing slash; settings are read', () => {
  const c = loadConfig({
    ...base,
    PUBLIC_URL: 'https://chat.example.com/',
    EMAIL_FROM: 'Team Chat <chat@example.com>',
    EMAIL_DIGEST_WINDOW_SECONDS: '120',
    EMAIL_UNSUBSCRIBE_SECRET: 'u'.repeat(40),
  });
  expect(c.publicUrl).toBe('https://chat.example.com');
  expect(c.notifier.email).toMatchObject({
    from: 'Team Chat <chat@example.com>',
    digestWindowSeconds: 120,
  });
  expect(c.emailUnsubscribeSecret).toBe('u'.repeat(40));
});
