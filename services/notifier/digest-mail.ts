// Renders a digest into the mail that is sent: plain-text and HTML parts and the headers
// (List-Unsubscribe with RFC 8058 one-click, a stable Message-ID from the digest id).
import type { ChannelType } from '../chat/model.js';
import type { DigestEntry } from './digests.js';
import { preview } from './rules.js';

/** Messages listed in one mail; the rest are counted and linked. */
export const DIGEST_MAX_ENTRIES = 50;
/** Characters of each message shown. */
export const DIGEST_TEXT_LIMIT = 1000;

/** The composed mail, stored with the digest so every attempt sends the same one. */
export interface DigestMail {
  digestId: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<...>` form; the same on every attempt, so receivers can drop a duplicate. */
  messageId: string;
  headers: Record<string, string>;
  /** Highest seq listed: read up to it before a retry, the mail is no longer sent. */
  maxSeq: number;
  messageIds: string[];
}

export interface DigestInput {
  digestId: string;
  recipient: { email: string; displayName: string };
  channel: { id: string; name: string | null; type: ChannelType };
  /** In display order (mentions first). */
  entries: DigestEntry[];
  publicUrl: string;
  unsubscribeUrl: string;
  /** EMAIL_FROM, for the Message-ID's domain. */
  from: string;
}

export function messageLink(publicUrl: string, channelId: string, messageId?: string): string {
  const params = new URLSearchParams({ channel: channelId });
  if (messageId) params.set('message', messageId);
  return `${publicUrl}/?${params.toString()}`;
}

export function unsubscribeLink(publicUrl: string, token: string): string {
  return `${publicUrl}/api/v1/email/unsubscribe?${new URLSearchParams({ token }).toString()}`;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** `2026-12-02 03:07 UTC`: recipients' time zones are not known. */
export function formatTime(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function channelLabel(channel: DigestInput['channel']): string {
  return channel.type === 'direct' ? 'a direct conversation' : `#${channel.name ?? 'channel'}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function digestSubject(channel: DigestInput['channel'], entries: DigestEntry[]): string {
  const first = entries[0]!;
  const more = entries.length - 1;
  const tail = more > 0 ? ` (+${plural(more, 'more message')})` : '';
  if (channel.type === 'direct')
    return more > 0
      ? `${plural(entries.length, 'new message')} from ${first.senderName}`
      : `${first.senderName} sent you a message`;
  if (first.mentioned)
    return `${first.senderName} mentioned you in ${channelLabel(channel)}${tail}`;
  return `${plural(entries.length, 'new message')} in ${channelLabel(channel)}`;
}

function domainOf(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return match?.[1] ?? 'signalink.invalid';
}

export function renderDigest(input: DigestInput): DigestMail {
  const { channel, entries, publicUrl } = input;
  const shown = entries.slice(0, DIGEST_MAX_ENTRIES);
  const hidden = entries.length - shown.length;
  const where = channelLabel(channel);
  const channelUrl = messageLink(publicUrl, channel.id);
  const mentions = shown.filter((e) => e.mentioned);
  const others = shown.filter((e) => !e.mentioned);

  const textEntry = (e: DigestEntry) =>
    [
      `${e.senderName} · ${formatTime(e.sentAt)}`,
      preview(e.text, DIGEST_TEXT_LIMIT),
      messageLink(publicUrl, channel.id, e.messageId),
    ].join('\n');
  const textSections: string[] = [
    `Hi ${input.recipient.displayName}, here is what you missed in ${where}.`,
  ];
  if (mentions.length > 0 && channel.type !== 'direct')
    textSections.push('You were mentioned:', ...mentions.map(textEntry));
  if (others.length > 0 || channel.type === 'direct') {
    const rest = channel.type === 'direct' ? shown : others;
    if (mentions.length > 0 && channel.type !== 'direct') textSections.push('Also new:');
    textSections.push(...rest.map(textEntry));
  }
  if (hidden > 0) textSections.push(`…and ${plural(hidden, 'more message')}: ${channelUrl}`);
  textSections.push(
    `Open ${where}: ${channelUrl}`,
    `You get at most one email per conversation while you are away. Stop these emails: ${input.unsubscribeUrl}`,
  );

  const htmlEntry = (e: DigestEntry) =>
    `<tr><td style="padding:8px 0;border-bottom:1px solid #eee">` +
    `<strong>${escapeHtml(e.senderName)}</strong> ` +
    `<span style="color:#777">${escapeHtml(formatTime(e.sentAt))}</span>` +
    (e.mentioned && channel.type !== 'direct'
      ? ` <span style="color:#b35900">mentioned you</span>`
      : '') +
    `<div style="white-space:pre-wrap;margin:4px 0">${escapeHtml(preview(e.text, DIGEST_TEXT_LIMIT))}</div>` +
    `<a href="${escapeHtml(messageLink(publicUrl, channel.id, e.messageId))}">View message</a>` +
    `</td></tr>`;
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;color:#222">',
    `<p>Hi ${escapeHtml(input.recipient.displayName)}, here is what you missed in ${escapeHtml(where)}.</p>`,
    `<table role="presentation" style="border-collapse:collapse;width:100%">${shown.map(htmlEntry).join('')}</table>`,
    hidden > 0
      ? `<p>…and <a href="${escapeHtml(channelUrl)}">${escapeHtml(plural(hidden, 'more message'))}</a>.</p>`
      : '',
    `<p><a href="${escapeHtml(channelUrl)}">Open ${escapeHtml(where)}</a></p>`,
    `<p style="color:#777;font-size:12px">You get at most one email per conversation while you are away. ` +
      `<a href="${escapeHtml(input.unsubscribeUrl)}">Stop these emails</a>.</p>`,
    '</body></html>',
  ].join('');

  return {
    digestId: input.digestId,
    to: input.recipient.email,
    subject: digestSubject(channel, shown),
    text: textSections.join('\n\n') + '\n',
    html,
    messageId: `<digest-${input.digestId}@${domainOf(input.from)}>`,
    headers: {
      'List-Unsubscribe': `<${input.unsubscribeUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'Auto-Submitted': 'auto-generated',
      'X-Signalink-Digest-Id': input.digestId,
    },
    maxSeq: Math.max(...entries.map((e) => e.seq)),
    messageIds: entries.map((e) => e.messageId),
  };
}
