// Socket.IO payloads of the wire contract. Strict objects: an unknown field is a client bug
// worth reporting, not something to ignore silently.
import { z } from 'zod';

const uuid = z.uuid();
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const sendPayload = z.strictObject({
  channelId: uuid,
  clientMsgId: z.string().min(1).max(128),
  content: z.string(),
  replyTo: uuid.nullish(),
});
export const editPayload = z.strictObject({ messageId: uuid, content: z.string() });
export const deletePayload = z.strictObject({ messageId: uuid });
export const readPayload = z.strictObject({ channelId: uuid, seq });
export const syncPayload = z.strictObject({
  channelId: uuid,
  afterSeq: seq,
  limit: z.number().int().min(1).max(200).default(100),
});
export const typingPayload = z.strictObject({ channelId: uuid });
export const presencePayload = z.strictObject({ status: z.enum(['online', 'away']) });
export const callSignalPayload = z.strictObject({
  toUserId: uuid,
  kind: z.enum(['offer', 'answer', 'ice', 'hangup']),
  // SDP and ICE blobs are opaque to us; the engine's payload limit bounds their size.
  data: z.unknown(),
});
export const presenceQueryPayload = z.strictObject({ userIds: z.array(uuid).min(1).max(500) });
