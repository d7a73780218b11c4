// Pure decisions of email digests: who gets a message into a digest, and what a digest shows
// when it is due (docs/pipeline.md, "Email digests").
import type { NotificationPreferences } from '../chat/devices.js';

export type EmailDecision =
  'digest' | 'online' | 'muted' | 'channel_off' | 'email_off' | 'not_mentioned';

/**
 * Whether a message joins a member's digest for the channel: only when they are offline,
 * have not muted everything or this channel, and their email level allows it. With `mentions`
 * (email level or channel level) a message must mention them; in a direct channel every
 * message is addressed to them and counts as a mention.
 */
export function decideEmail(input: {
  online: boolean;
  preferences: NotificationPreferences;
  channelId: string;
  mentioned: boolean;
  direct: boolean;
}): EmailDecision {
  if (input.online) return 'online';
  return decideEmailAllowed(input);
}

function decideEmailAllowed(input: {
  preferences: NotificationPreferences;
  channelId: string;
  mentioned: boolean;
  direct: boolean;
}): Exclude<EmailDecision, 'online'> {
  const { preferences } = input;
  if (preferences.muteAll) return 'muted';
  const level = preferences.channels[input.channelId] ?? 'all';
  if (level === 'none') return 'channel_off';
  if (preferences.email === 'off') return 'email_off';
  const needsMention = level === 'mentions' || preferences.email === 'mentions';
  if (needsMention && !input.mentioned && !input.direct) return 'not_mentioned';
  return 'digest';
}

/** A message as a digest shows it. */
export interface DigestEntry {
  messageId: string;
  seq: number;
  senderName: string;
  sentAt: Date;
  text: string;
  mentioned: boolean;
}

/** What the recipient's state is when the digest is due. */
export interface RecipientState {
  channelId: string;
  /** False once they left the channel. */
  member: boolean;
  lastReadSeq: number;
  preferences: NotificationPreferences;
  direct: boolean;
}

export type DigestSelection =
  | { send: true; entries: DigestEntry[] }
  | { send: false; reason: 'left_channel' | 'read' | Exclude<EmailDecision, 'digest' | 'online'> };

/**
 * The messages a due digest lists: those still unread, still allowed by the preferences as
 * they are now (they may have muted the channel or turned email off meanwhile); mentions
 * first, each group in channel order. Nothing to send when they read up to the last one.
 * Deleted messages are left out before this (the store no longer returns them).
 */
export function selectDigestEntries(
  entries: DigestEntry[],
  state: RecipientState,
): DigestSelection {
  if (!state.member) return { send: false, reason: 'left_channel' };
  const unread = entries.filter((e) => e.seq > state.lastReadSeq);
  if (unread.length === 0) return { send: false, reason: 'read' };
  let lastRefusal: Exclude<EmailDecision, 'digest' | 'online'> | undefined;
  const allowed = unread.filter((e) => {
    const decision = decideEmailAllowed({
      preferences: state.preferences,
      channelId: state.channelId,
      mentioned: e.mentioned,
      direct: state.direct,
    });
    if (decision !== 'digest') lastRefusal = decision;
    return decision === 'digest';
  });
  if (allowed.length === 0) return { send: false, reason: lastRefusal ?? 'read' };
  return { send: true, entries: orderEntries(allowed) };
}

/** Mentions first, then the rest; each group by seq. */
export function orderEntries(entries: DigestEntry[]): DigestEntry[] {
  return [...entries].sort((a, b) => Number(b.mentioned) - Number(a.mentioned) || a.seq - b.seq);
}

/**
 * Whether a mail composed on an earlier attempt is still to be sent on a retry: not when they
 * read up to its last message, left, or turned email off or muted the channel meanwhile.
 */
export function stillWanted(state: RecipientState, mail: { maxSeq: number }): boolean {
  if (!state.member || state.lastReadSeq >= mail.maxSeq) return false;
  const decision = decideEmailAllowed({
    preferences: state.preferences,
    channelId: state.channelId,
    mentioned: true,
    direct: state.direct,
  });
  return decision === 'digest';
}
