import fc from 'fast-check';
import type { NotificationPreferences } from '../../../services/chat/devices.js';
import {
  decideEmail,
  orderEntries,
  selectDigestEntries,
  stillWanted,
  type DigestEntry,
  type RecipientState,
} from '../../../services/notifier/digests.js';

const channelId = '6f1d3c1e-4b5a-4f7e-9c2d-1a2b3c4d5e6f';
const prefs = (p: Partial<NotificationPreferences> = {}): NotificationPreferences => ({
  muteAll: false,
  channels: {},
  email: 'all',
  ...p,
});
const state = (p: Partial<RecipientState> = {}): RecipientState => ({
  channelId,
  member: true,
  lastReadSeq: 0,
  preferences: prefs(),
  direct: false,
  ...p,
});
const entry = (seq: number, mentioned = false): DigestEntry => ({
  messageId: `m${seq}`,
  seq,
  senderName: 'Ann',
  sentAt: new Date(Date.UTC(2026, 11, 2, 10, seq)),
  text: `message ${seq}`,
  mentioned,
});

describe('decideEmail', () => {
  const base = { online: false, preferences: prefs(), channelId, mentioned: false, direct: false };
  test.each([
    ['an offline member with defaults', {}, 'digest'],
    ['a connected member, even when mentioned', { online: true, mentioned: true }, 'online'],
    [
      'mute all, even when mentioned',
      { preferences: prefs({ muteAll: true }), mentioned: true },
      'muted',
    ],
    [
      'a muted channel, even when mentioned',
      { preferences: prefs({ channels: { [channelId]: 'none' } }), mentioned: true },
      'channel_off',
    ],
    [
      'email off, even when mentioned',
      { preferences: prefs({ email: 'off' }), mentioned: true },
      'email_off',
    ],
    [
      'email mentions, not mentioned',
      { preferences: prefs({ email: 'mentions' }) },
      'not_mentioned',
    ],
    [
      'email mentions, mentioned',
      { preferences: prefs({ email: 'mentions' }), mentioned: true },
      'digest',
    ],
    [
      'email mentions, a direct message',
      { preferences: prefs({ email: 'mentions' }), direct: true },
      'digest',
    ],
    [
      'channel level mentions, not mentioned',
      { preferences: prefs({ channels: { [channelId]: 'mentions' } }) },
      'not_mentioned',
    ],
    [
      'another channel muted does not matter',
      { preferences: prefs({ channels: { other: 'none' } }) },
      'digest',
    ],
  ] as const)('%s', (_name, patch, expected) => {
    expect(decideEmail({ ...base, ...patch })).toBe(expected);
  });
});

describe('selectDigestEntries', () => {
  test('mentions first, then the rest, each in channel order', () => {
    const result = selectDigestEntries(
      [entry(1), entry(2, true), entry(3), entry(4, true)],
      state(),
    );
    expect(result).toEqual({
      send: true,
      entries: [entry(2, true), entry(4, true), entry(1), entry(3)],
    });
  });

  test('read up to the last message: nothing to send; partly read: the unread rest', () => {
    const entries = [entry(3), entry(5, true), entry(9)];
    expect(selectDigestEntries(entries, state({ lastReadSeq: 9 }))).toEqual({
      send: false,
      reason: 'read',
    });
    expect(selectDigestEntries(entries, state({ lastReadSeq: 12 }))).toEqual({
      send: false,
      reason: 'read',
    });
    expect(selectDigestEntries(entries, state({ lastReadSeq: 5 }))).toEqual({
      send: true,
      entries: [entry(9)],
    });
  });

  test('preferences changed since the messages arrived are applied when the digest is due', () => {
    const entries = [entry(1), entry(2, true)];
    expect(selectDigestEntries(entries, state({ preferences: prefs({ email: 'off' }) }))).toEqual({
      send: false,
      reason: 'email_off',
    });
    expect(
      selectDigestEntries(
        entries,
        state({ preferences: prefs({ channels: { [channelId]: 'none' } }) }),
      ),
    ).toEqual({ send: false, reason: 'channel_off' });
    expect(selectDigestEntries(entries, state({ preferences: prefs({ muteAll: true }) }))).toEqual({
      send: false,
      reason: 'muted',
    });
    expect(
      selectDigestEntries(entries, state({ preferences: prefs({ email: 'mentions' }) })),
    ).toEqual({ send: true, entries: [entry(2, true)] });
    expect(
      selectDigestEntries([entry(1)], state({ preferences: prefs({ email: 'mentions' }) })),
    ).toEqual({ send: false, reason: 'not_mentioned' });
  });

  test('a member who left the channel gets nothing; no entries (all deleted) is nothing to send', () => {
    expect(selectDigestEntries([entry(1)], state({ member: false }))).toEqual({
      send: false,
      reason: 'left_channel',
    });
    expect(selectDigestEntries([], state())).toEqual({ send: false, reason: 'read' });
  });

  test('property: what is sent is exactly the unread entries, each once, mentions before the rest', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        fc.integer({ min: 0, max: 500 }),
        (seqs, mentions, lastReadSeq) => {
          const entries = seqs.map((s, i) => entry(s, mentions[i]));
          const result = selectDigestEntries(entries, state({ lastReadSeq }));
          const unread = entries.filter((e) => e.seq > lastReadSeq);
          if (unread.length === 0) return !result.send;
          if (!result.send) return false;
          const sent = result.entries;
          const firstPlain = sent.findIndex((e) => !e.mentioned);
          const lastMention = sent.map((e) => e.mentioned).lastIndexOf(true);
          return (
            sent.length === unread.length &&
            new Set(sent.map((e) => e.seq)).size === sent.length &&
            sent.every((e) => e.seq > lastReadSeq) &&
            (firstPlain === -1 || lastMention < firstPlain)
          );
        },
      ),
    );
  });
});

test('orderEntries does not change its input', () => {
  const input = [entry(2), entry(1, true)];
  expect(orderEntries(input).map((e) => e.seq)).toEqual([1, 2]);
  expect(input.map((e) => e.seq)).toEqual([2, 1]);
});

test('stillWanted: a composed mail is dropped on retry once read, left, or email turned off', () => {
  const mail = { maxSeq: 7 };
  expect(stillWanted(state({ lastReadSeq: 6 }), mail)).toBe(true);
  expect(stillWanted(state({ lastReadSeq: 7 }), mail)).toBe(false);
  expect(stillWanted(state({ member: false }), mail)).toBe(false);
  expect(stillWanted(state({ preferences: prefs({ email: 'off' }) }), mail)).toBe(false);
  expect(stillWanted(state({ preferences: prefs({ muteAll: true }) }), mail)).toBe(false);
  // `mentions` keeps a composed mail: it was composed under the rules of its time.
  expect(stillWanted(state({ preferences: prefs({ email: 'mentions' }) }), mail)).toBe(true);
});
