import {
  buildNotification,
  decide,
  notificationIdFor,
  preview,
} from '../../../services/notifier/rules.js';

const channelId = '6f1d3c1e-4b5a-4f7e-9c2d-1a2b3c4d5e6f';
const prefs = (
  p: Partial<{ muteAll: boolean; channels: Record<string, 'all' | 'mentions' | 'none'> }> = {},
) => ({ muteAll: false, channels: {}, ...p });

test.each([
  [
    'an offline member with defaults',
    { online: false, preferences: prefs(), mentioned: false },
    'notify',
  ],
  ['a connected member', { online: true, preferences: prefs(), mentioned: true }, 'online'],
  [
    'a member who muted everything, even when mentioned',
    { online: false, preferences: prefs({ muteAll: true }), mentioned: true },
    'muted',
  ],
  [
    'a member with the channel off, even when mentioned',
    { online: false, preferences: prefs({ channels: { [channelId]: 'none' } }), mentioned: true },
    'channel_off',
  ],
  [
    'a mentions-only member who is not mentioned',
    {
      online: false,
      preferences: prefs({ channels: { [channelId]: 'mentions' } }),
      mentioned: false,
    },
    'not_mentioned',
  ],
  [
    'a mentions-only member who is mentioned',
    {
      online: false,
      preferences: prefs({ channels: { [channelId]: 'mentions' } }),
      mentioned: true,
    },
    'notify',
  ],
  [
    'a member whose level is set for another channel only',
    { online: false, preferences: prefs({ channels: { other: 'none' } }), mentioned: false },
    'notify',
  ],
] as const)('%s', (_name, input, expected) => {
  expect(decide({ ...input, channelId })).toBe(expected);
});

test('notification ids are stable per event and recipient, distinct otherwise, and shaped like UUIDs', () => {
  const a = notificationIdFor('e1', 'u1');
  expect(notificationIdFor('e1', 'u1')).toBe(a);
  expect(notificationIdFor('e1', 'u2')).not.toBe(a);
  expect(notificationIdFor('e2', 'u1')).not.toBe(a);
  expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('previews keep short text, collapse whitespace, and cut long text by characters', () => {
  expect(preview('  hello\n\nthere ')).toBe('hello there');
  const long = '😀'.repeat(300);
  const cut = preview(long);
  expect([...cut]).toHaveLength(200);
  expect(cut.endsWith('…')).toBe(true);
});

test('titles name the sender and channel, or only the sender in a direct channel', () => {
  const message = { id: 'm1', seq: 7, content: 'hi', sender: { displayName: 'Ann' } };
  const group = buildNotification({
    eventId: 'e',
    userId: 'u',
    channel: { id: channelId, name: 'general', type: 'public' },
    message,
  });
  expect(group).toEqual({
    notificationId: notificationIdFor('e', 'u'),
    userId: 'u',
    channelId,
    messageId: 'm1',
    seq: 7,
    title: 'Ann in #general',
    body: 'hi',
  });
  expect(
    buildNotification({
      eventId: 'e',
      userId: 'u',
      channel: { id: channelId, name: null, type: 'direct' },
      message,
    }).title,
  ).toBe('Ann');
});
