// Pure rules of the chat screen: how messages from history pages, live events and edits are
// combined, and what the list, badges and indicators say. No DOM, no I/O (unit-tested).
import type { Member, Message } from '../../services/client/index.js';

/** The version of a message that reflects the most changes: deleted beats edited beats original. */
function revision(m: Message): number {
  if (m.deletedAt) return Number.MAX_SAFE_INTEGER;
  return m.editedAt ? Date.parse(m.editedAt) : 0;
}

/**
 * Combines what is shown with what arrived (a history page, a live message, an edit): one entry
 * per seq, ascending, the latest revision of each kept whatever order they came in.
 */
export function mergeMessages(
  current: readonly Message[],
  incoming: readonly Message[],
): Message[] {
  if (incoming.length === 0) return current as Message[];
  const bySeq = new Map<number, Message>();
  for (const m of current) bySeq.set(m.seq, m);
  for (const m of incoming) {
    const held = bySeq.get(m.seq);
    if (!held || revision(m) >= revision(held)) bySeq.set(m.seq, m);
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Messages after the read pointer, as the server counts them. */
export function unreadCount(lastSeq: number, lastReadSeq: number): number {
  return Math.max(0, lastSeq - lastReadSeq);
}

export interface ChannelSummary {
  id: string;
  name: string | null;
  type: 'public' | 'private' | 'direct';
}

/** A direct channel has no name: it is called after the other person in it. */
export function channelTitle(
  channel: ChannelSummary,
  members: readonly Member[] | undefined,
  meId: string,
): string {
  if (channel.type !== 'direct') return channel.name ?? 'unnamed';
  const other = members?.find((m) => m.userId !== meId);
  return other ? other.displayName || other.username : 'Direct message';
}

/** The other person of a direct channel, for their presence dot. */
export function directPartner(
  members: readonly Member[] | undefined,
  meId: string,
): string | undefined {
  return members?.find((m) => m.userId !== meId)?.userId;
}

/** "Ann is typing…", "Ann and Ben are typing…", "3 people are typing…"; undefined when nobody else is. */
export function typingLine(
  userIds: readonly string[],
  meId: string,
  names: ReadonlyMap<string, string>,
): string | undefined {
  const others = userIds.filter((id) => id !== meId).map((id) => names.get(id) ?? 'Someone');
  if (others.length === 0) return undefined;
  if (others.length === 1) return `${others[0]} is typing…`;
  if (others.length === 2) return `${others[0]} and ${others[1]} are typing…`;
  return `${others.length} people are typing…`;
}

/**
 * Read receipts for the newest of the caller's own messages that someone else has read:
 * who has read up to it. Undefined when none of them has been read yet.
 */
export function seenBy(
  messages: readonly Message[],
  meId: string,
  readPointers: ReadonlyMap<string, number>,
  names: ReadonlyMap<string, string>,
): { seq: number; names: string[] } | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.sender.id !== meId || m.deletedAt) continue;
    const readers = [...readPointers]
      .filter(([userId, seq]) => userId !== meId && seq >= m.seq)
      .map(([userId]) => names.get(userId) ?? 'Someone')
      .sort();
    if (readers.length > 0) return { seq: m.seq, names: readers };
  }
  return undefined;
}

/** Channels first (by name), then direct messages (by title). */
export function sortChannels<C extends ChannelSummary>(
  channels: readonly C[],
  titleOf: (c: C) => string,
): C[] {
  const rank = (c: C) => (c.type === 'direct' ? 1 : 0);
  return [...channels].sort((a, b) => rank(a) - rank(b) || titleOf(a).localeCompare(titleOf(b)));
}

/** A short local time for a message, the date added when it is not from today. */
export function messageTime(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return at.toDateString() === now.toDateString() ? time : `${at.toLocaleDateString()} ${time}`;
}
