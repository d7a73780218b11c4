// Socket.IO payloads of the wire contract (PROTOCOL.md) as the client sees them. Incoming
// payloads are checked before they reach seq tracking: a malformed seq would corrupt ordering.
// zod/mini keeps the browser bundle small; objects are loose so fields the server adds survive.
import * as z from 'zod/mini';
import type { Channel, ChannelForMember, Member, Message, PublicUser } from '../chat/model.js';

export type { Channel, ChannelForMember, Member, Message, PublicUser };

const seq = z.number().check(z.int(), z.minimum(0));

export const messageSchema = z.looseObject({
  id: z.string(),
  channelId: z.string(),
  seq: z.number().check(z.int(), z.positive()),
  sender: z.looseObject({ id: z.string(), username: z.string(), displayName: z.string() }),
  content: z.string(),
  clientMsgId: z.string(),
  replyTo: z.nullable(z.string()),
  createdAt: z.string(),
  editedAt: z.nullable(z.string()),
  deletedAt: z.nullable(z.string()),
});

export const messagePageSchema = z.looseObject({
  messages: z.array(messageSchema),
  hasMore: z.boolean(),
});

export const wireErrorSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
  details: z.optional(z.unknown()),
});

export const ackSchema = z.union([
  z.looseObject({ ok: z.literal(true) }),
  z.looseObject({ ok: z.literal(false), error: wireErrorSchema }),
]);

export interface ReceiptUpdate {
  channelId: string;
  userId: string;
  seq: number;
}
export interface TypingUpdate {
  channelId: string;
  userIds: string[];
}
export type PresenceStatus = 'online' | 'away' | 'offline';
export interface PresenceUpdate {
  userId: string;
  status: PresenceStatus;
  lastSeenAt: string | null;
}
export interface ChannelMembershipEvent {
  channelId: string;
  /** On channel.joined: the channel's last seq when the member was added (an extension). */
  lastSeq?: number;
}
export type CallSignalKind = 'offer' | 'answer' | 'ice' | 'hangup';
export interface CallSignal {
  fromUserId: string;
  kind: CallSignalKind;
  data: unknown;
}
export interface DrainingNotice {
  /** Negative (with a reason such as `too_many_connections`): do not reconnect. */
  reconnectInMs: number;
  reason?: string;
}

/** Server → client events and the schema each payload must pass. */
export const serverEventSchemas = {
  'message.new': messageSchema,
  'message.updated': messageSchema,
  'receipt.update': z.looseObject({ channelId: z.string(), userId: z.string(), seq }),
  'typing.update': z.looseObject({ channelId: z.string(), userIds: z.array(z.string()) }),
  'presence.update': z.looseObject({
    userId: z.string(),
    status: z.enum(['online', 'away', 'offline']),
    lastSeenAt: z.optional(z.nullable(z.string())),
  }),
  // lastSeq (an extension) is the channel's head when we were added: start tracking there.
  'channel.joined': z.looseObject({ channelId: z.string(), lastSeq: z.optional(seq) }),
  'channel.left': z.looseObject({ channelId: z.string() }),
  'call.signal': z.looseObject({
    fromUserId: z.string(),
    kind: z.enum(['offer', 'answer', 'ice', 'hangup']),
    data: z.unknown(),
  }),
  'server.draining': z.looseObject({ reconnectInMs: z.number(), reason: z.optional(z.string()) }),
} as const;

/** Ack of the `presence.get` extension (docs/protocol-extensions.md). */
export const presenceListSchema = z.looseObject({
  presence: z.array(
    z.looseObject({
      userId: z.string(),
      status: z.enum(['online', 'away', 'offline']),
      lastSeenAt: z.optional(z.nullable(z.string())),
    }),
  ),
});

export type ServerEventName = keyof typeof serverEventSchemas;
export type ServerEventPayload<E extends ServerEventName> = z.infer<(typeof serverEventSchemas)[E]>;

// Compile-time proof that what the schemas accept is what the rest of the client is typed with.
type Assignable<From, To> = From extends To ? true : never;
export const schemaMatchesModel: [
  Assignable<z.infer<typeof messageSchema>, Message>,
  Assignable<z.infer<(typeof serverEventSchemas)['receipt.update']>, ReceiptUpdate>,
  Assignable<z.infer<(typeof serverEventSchemas)['typing.update']>, TypingUpdate>,
  Assignable<z.infer<(typeof serverEventSchemas)['call.signal']>, CallSignal>,
] = [true, true, true, true];
