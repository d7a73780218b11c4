// Request and response schemas of the REST contract (PROTOCOL.md). Requests are strict:
// unknown fields are rejected so a typo in a field name is an error, not a silent no-op.
import { z } from 'zod';
import { CHANNEL_TYPES, MEMBER_ROLES } from '../chat/model.js';

export const uuid = z.uuid();
const isoTime = z.iso.datetime();
const nullableString = z.string().nullable();

/**
 * Matches a string with something String.prototype.trim keeps: the explicit class (rather
 * than \S) means the same characters to every JSON Schema validator as to JavaScript.
 */
export const NOT_BLANK =
  /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/** Up to `max` characters as sent (so the document's maxLength holds), not blank, stored trimmed. */
const trimmedText = (max: number) =>
  z.string().min(1).max(max).regex(NOT_BLANK, 'must not be blank').trim();

export const idParams = z.strictObject({ id: uuid });
export const memberParams = z.strictObject({ id: uuid, userId: uuid });
// Push tokens (FCM, APNs, a serialised web push subscription) are visible ASCII. Keeping them so
// also keeps the longest one inside Node's request-line limit when percent-encoded in a path.
const pushToken = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\x21-\x7e]+$/, 'visible ASCII characters only');
export const deviceParams = z.strictObject({ token: pushToken });

export const username = z
  .string()
  .min(3)
  .max(32)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only');
const password = z.string().min(8).max(256);

/**
 * zod's email pattern bounds neither part, but no mail server takes more than 64 characters
 * before the @ (RFC 5321) or a domain label over 63 characters or ending in a hyphen (RFC 1035).
 */
function deliverable(address: string): boolean {
  const at = address.lastIndexOf('@');
  const labels = address.slice(at + 1).split('.');
  return at <= 64 && labels.every((label) => label.length <= 63 && !label.endsWith('-'));
}
const email = z
  .email()
  .max(254)
  .refine(deliverable, 'at most 64 characters before the @, and 63 per domain label');
const displayName = trimmedText(64);

export const registerBody = z.strictObject({
  username,
  email,
  password,
  displayName: displayName.optional(),
});
export const loginBody = z.strictObject({
  login: z.string().min(1).max(254),
  password: z.string().min(1).max(256),
});
export const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });

export const userSchema = z.object({
  id: uuid,
  username: z.string(),
  displayName: z.string(),
  avatarUrl: nullableString,
  statusMessage: nullableString,
  createdAt: isoTime,
});
export const ownUserSchema = userSchema.extend({ email: z.string(), isAdmin: z.boolean() });
export const sessionSchema = z.object({
  user: ownUserSchema,
  accessToken: z.string(),
  refreshToken: z.string(),
});
export const tokenPairSchema = z.object({ accessToken: z.string(), refreshToken: z.string() });

export const profilePatchBody = z.strictObject({
  displayName: displayName.optional(),
  avatarUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .nullable()
    .optional(),
  statusMessage: z.string().max(280).nullable().optional(),
});
const limitParam = (max: number, fallback: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);
export const userSearchQuery = z.strictObject({
  q: z.string().max(64).optional(),
  limit: limitParam(100, 20),
});

const channelName = trimmedText(80);
const channelDescription = z.string().max(1000);
// A direct channel has exactly one other member and no name; the others need a name.
export const createChannelBody = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('direct'),
    description: channelDescription.optional(),
    memberIds: z.array(uuid).length(1),
  }),
  z.strictObject({
    type: z.enum(['public', 'private']),
    name: channelName,
    description: channelDescription.optional(),
    memberIds: z.array(uuid).max(500).optional(),
  }),
]);
export const patchChannelBody = z.strictObject({
  name: channelName.optional(),
  description: channelDescription.optional(),
});
export const channelListQuery = z.strictObject({
  scope: z.enum(['member', 'public']).default('member'),
  q: z.string().max(80).optional(),
  limit: limitParam(200, 50),
});

export const channelSchema = z.object({
  id: uuid,
  name: nullableString,
  type: z.enum(CHANNEL_TYPES),
  description: z.string(),
  createdBy: uuid,
  createdAt: isoTime,
  lastSeq: z.number().int(),
  memberCount: z.number().int(),
});
export const memberChannelSchema = channelSchema.extend({
  unreadCount: z.number().int(),
  lastReadSeq: z.number().int(),
  role: z.enum(MEMBER_ROLES),
});
export const publicChannelSchema = channelSchema.extend({ isMember: z.boolean() });
export const memberSchema = z.object({
  userId: uuid,
  username: z.string(),
  displayName: z.string(),
  role: z.enum(MEMBER_ROLES),
  joinedAt: isoTime,
});
export const addMemberBody = z.strictObject({
  userId: uuid,
  role: z.enum(['admin', 'member']).default('member'),
});

export const clientMsgId = z.string().min(1).max(128);
// Blank and over-long content are the domain's to refuse (VALIDATION, and PAYLOAD_TOO_LARGE over
// 4,000 characters, for sockets and REST alike), so the schema only documents the first.
export const messageContent = z.string().meta({ minLength: 1, pattern: NOT_BLANK.source });
export const sendMessageBody = z.strictObject({
  clientMsgId,
  content: messageContent,
  replyTo: uuid.nullish(),
});
export const editMessageBody = z.strictObject({ content: messageContent });
const seq = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const historyQuery = z.strictObject({
  afterSeq: seq.optional(),
  beforeSeq: seq.optional(),
  limit: limitParam(200, 50),
});
export const readBody = z.strictObject({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

export const messageSchema = z.object({
  id: uuid,
  channelId: uuid,
  seq: z.number().int().positive(),
  sender: z.object({ id: uuid, username: z.string(), displayName: z.string() }),
  content: z.string(),
  clientMsgId: z.string(),
  replyTo: uuid.nullable(),
  createdAt: isoTime,
  editedAt: isoTime.nullable(),
  deletedAt: isoTime.nullable(),
});
export const messagePageSchema = z.object({
  messages: z.array(messageSchema),
  hasMore: z.boolean(),
});

export const searchQuery = z.strictObject({
  q: trimmedText(200),
  channelId: uuid.optional(),
  limit: limitParam(100, 20),
});

export const deviceBody = z.strictObject({
  token: pushToken,
  platform: z.enum(['android', 'ios', 'web']),
});
export const deviceSchema = z.object({
  token: z.string(),
  platform: z.enum(['android', 'ios', 'web']),
  createdAt: isoTime,
});

export const notificationLevel = z.enum(['all', 'mentions', 'none']);
export const emailLevel = z
  .enum(['off', 'mentions', 'all'])
  .describe('email digests: none, mentions and direct messages only, or every message missed');
export const preferencesBody = z.strictObject({
  muteAll: z.boolean().optional(),
  channels: z.record(uuid, notificationLevel).optional(),
  email: emailLevel.optional(),
});
export const preferencesSchema = z.object({
  muteAll: z.boolean(),
  channels: z.record(z.string(), notificationLevel),
  email: emailLevel,
});
