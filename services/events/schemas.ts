// Validation of events read from the bus (PROTOCOL.md "Events on Kafka"). Anything on a topic
// is outside input: a consumer parses it here and skips what does not fit.
import { z } from 'zod';
import { TOPICS } from '../chat/outbox.js';

const isoTime = z.iso.datetime({ offset: true });

export const eventMessageSchema = z.object({
  id: z.uuid(),
  channelId: z.uuid(),
  seq: z.number().int().positive(),
  sender: z.object({ id: z.uuid(), username: z.string(), displayName: z.string() }),
  content: z.string(),
  clientMsgId: z.string(),
  replyTo: z.uuid().nullable(),
  createdAt: isoTime,
  editedAt: isoTime.nullable(),
  deletedAt: isoTime.nullable(),
});

export const messageEventSchema = z.object({
  type: z.enum(['message.created', 'message.updated', 'message.deleted']),
  eventId: z.uuid(),
  occurredAt: isoTime,
  message: eventMessageSchema,
});

export const receiptEventSchema = z.object({
  type: z.literal('receipt.read'),
  eventId: z.uuid(),
  occurredAt: isoTime,
  channelId: z.uuid(),
  userId: z.uuid(),
  seq: z.number().int().min(0),
});

export const presenceEventSchema = z.object({
  type: z.literal('presence.changed'),
  eventId: z.uuid(),
  occurredAt: isoTime,
  userId: z.uuid(),
  status: z.enum(['online', 'away', 'offline']),
});

export type ParsedMessageEvent = z.output<typeof messageEventSchema>;
export type ParsedReceiptEvent = z.output<typeof receiptEventSchema>;
export type ParsedPresenceEvent = z.output<typeof presenceEventSchema>;
export type PipelineEvent = ParsedMessageEvent | ParsedReceiptEvent | ParsedPresenceEvent;

const SCHEMA_BY_TOPIC: Record<string, z.ZodType<PipelineEvent>> = {
  [TOPICS.messages]: messageEventSchema,
  [TOPICS.receipts]: receiptEventSchema,
  [TOPICS.presence]: presenceEventSchema,
};

export type ParseResult = { ok: true; event: PipelineEvent } | { ok: false; reason: string };

/** Parses the JSON value of an event from a known topic. */
export function parseEvent(topic: string, value: string): ParseResult {
  const schema = SCHEMA_BY_TOPIC[topic];
  if (!schema) return { ok: false, reason: `unknown topic ${topic}` };
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { ok: false, reason: 'value is not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  return { ok: true, event: parsed.data };
}
