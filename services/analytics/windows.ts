// Pure aggregation of pipeline events into time windows. No I/O; unit tested.
import type { PipelineEvent } from '../events/schemas.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

export type BucketSize = 'minute' | 'hour';
export const BUCKET_MS: Record<BucketSize, number> = { minute: MINUTE_MS, hour: HOUR_MS };

/** Start of the UTC bucket containing `time`. */
export function bucketStart(time: Date | string | number, size: BucketSize): Date {
  const ms = new Date(time).getTime();
  return new Date(Math.floor(ms / BUCKET_MS[size]) * BUCKET_MS[size]);
}

/** The last 60 minute buckets, the current (partial) one included. */
export function lastHourStart(now: Date): Date {
  return new Date(bucketStart(now, 'minute').getTime() - 59 * MINUTE_MS);
}

export interface MessageCell {
  bucket: string;
  channelId: string;
  userId: string;
  messages: number;
}

export interface ReceiptCell {
  bucket: string;
  channelId: string;
  receipts: number;
}

export interface PresenceUpdate {
  userId: string;
  status: 'online' | 'away' | 'offline';
  at: string;
}

export interface WindowDeltas {
  messageMinutes: MessageCell[];
  messageHours: MessageCell[];
  receiptMinutes: ReceiptCell[];
  receiptHours: ReceiptCell[];
  /** The latest change per user in the batch. */
  presence: PresenceUpdate[];
}

function addTo<T>(map: Map<string, T>, key: string, make: () => T, add: (cell: T) => void): void {
  let cell = map.get(key);
  if (!cell) map.set(key, (cell = make()));
  add(cell);
}

const byKey = <T>(map: Map<string, T>) =>
  [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

/**
 * Window deltas for events seen for the first time: every message.created counts one message
 * for its channel and sender in its minute and hour; every receipt.read one receipt for its
 * channel; presence keeps the newest status per user. Edits and deletes do not change counts.
 * Cells come out sorted by key, so concurrent writers lock rows in one order.
 */
export function windowDeltas(events: PipelineEvent[]): WindowDeltas {
  const messages: Record<BucketSize, Map<string, MessageCell>> = {
    minute: new Map(),
    hour: new Map(),
  };
  const receipts: Record<BucketSize, Map<string, ReceiptCell>> = {
    minute: new Map(),
    hour: new Map(),
  };
  const presence = new Map<string, PresenceUpdate>();
  for (const event of events) {
    if (event.type === 'message.created') {
      const { channelId, sender } = event.message;
      for (const size of ['minute', 'hour'] as const) {
        const bucket = bucketStart(event.occurredAt, size).toISOString();
        addTo(
          messages[size],
          `${bucket}|${channelId}|${sender.id}`,
          () => ({ bucket, channelId, userId: sender.id, messages: 0 }),
          (c) => (c.messages += 1),
        );
      }
    } else if (event.type === 'receipt.read') {
      for (const size of ['minute', 'hour'] as const) {
        const bucket = bucketStart(event.occurredAt, size).toISOString();
        addTo(
          receipts[size],
          `${bucket}|${event.channelId}`,
          () => ({ bucket, channelId: event.channelId, receipts: 0 }),
          (c) => (c.receipts += 1),
        );
      }
    } else if (event.type === 'presence.changed') {
      const current = presence.get(event.userId);
      if (!current || new Date(current.at) <= new Date(event.occurredAt)) {
        presence.set(event.userId, {
          userId: event.userId,
          status: event.status,
          at: event.occurredAt,
        });
      }
    }
  }
  return {
    messageMinutes: byKey(messages.minute),
    messageHours: byKey(messages.hour),
    receiptMinutes: byKey(receipts.minute),
    receiptHours: byKey(receipts.hour),
    presence: byKey(presence),
  };
}

/** Buckets from `from` to `to` (both floored to the bucket size), for zero-filled series. */
export function seriesRange(
  from: Date,
  to: Date,
  size: BucketSize,
): { start: Date; end: Date; points: number } {
  const start = bucketStart(from, size);
  const end = bucketStart(to, size);
  return {
    start,
    end,
    points: Math.floor((end.getTime() - start.getTime()) / BUCKET_MS[size]) + 1,
  };
}
