// Pure decisions of the notifier: who is told about a message, and what they are told.
import { createHash } from 'node:crypto';
import type { NotificationPreferences } from '../chat/devices.js';
import type { ChannelType } from '../chat/model.js';

/** PROTOCOL.md "Running": what every transport delivers. */
export interface Notification {
  notificationId: string;
  userId: string;
  channelId: string;
  messageId: string;
  seq: number;
  title: string;
  body: string;
}

export type Decision = 'notify' | 'online' | 'muted' | 'channel_off' | 'not_mentioned';

/**
 * Whether a channel member (not the sender) is notified of a message: only when no socket of
 * theirs is connected, they have not muted everything, and their level for the channel
 * (default `all`) is `all`, or `mentions` and the message mentions them.
 */
export function decide(input: {
  online: boolean;
  preferences: Pick<NotificationPreferences, 'muteAll' | 'channels'>;
  channelId: string;
  mentioned: boolean;
}): Decision {
  if (input.online) return 'online';
  if (input.preferences.muteAll) return 'muted';
  const level = input.preferences.channels[input.channelId] ?? 'all';
  if (level === 'none') return 'channel_off';
  if (level === 'mentions' && !input.mentioned) return 'not_mentioned';
  return 'notify';
}

/**
 * The same id for the same event and recipient, however often it is computed, so a receiver
 * can drop a notification delivered twice. A name-based UUID (RFC 9562 version 8 layout).
 */
export function notificationIdFor(eventId: string, userId: string): string {
  const hex = createHash('sha256')
    .update(`signalink-notification:${eventId}:${userId}`)
    .digest('hex')
    .slice(0, 32)
    .split('');
  hex[12] = '8';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const BODY_LIMIT = 200;

/** Shortens to `limit` characters (code points), ending with an ellipsis when cut. */
export function preview(text: string, limit = BODY_LIMIT): string {
  const chars = [...text.replace(/\s+/g, ' ').trim()];
  return chars.length <= limit ? chars.join('') : `${chars.slice(0, limit - 1).join('')}…`;
}

export function buildNotification(input: {
  eventId: string;
  userId: string;
  channel: { id: string; name: string | null; type: ChannelType };
  message: { id: string; seq: number; content: string; sender: { displayName: string } };
}): Notification {
  const { channel, message } = input;
  const direct = channel.type === 'direct';
  return {
    notificationId: notificationIdFor(input.eventId, input.userId),
    userId: input.userId,
    channelId: channel.id,
    messageId: message.id,
    seq: message.seq,
    title: direct
      ? message.sender.displayName
      : `${message.sender.displayName} in #${channel.name ?? 'channel'}`,
    body: preview(message.content),
  };
}
