import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Message } from './model.js';

export const TOPICS = {
  messages: 'signalink.messages',
  receipts: 'signalink.receipts',
  presence: 'signalink.presence',
  notificationsDlq: 'signalink.notifications.dlq',
} as const;

/** Channel woken (through NOTIFY, delivered at commit) whenever outbox rows are written. */
export const OUTBOX_NOTIFY_CHANNEL = 'signalink_outbox';

export type MessageEventType = 'message.created' | 'message.updated' | 'message.deleted';

export interface MessageEvent {
  type: MessageEventType;
  eventId: string;
  occurredAt: string;
  message: Message;
}

export interface ReceiptEvent {
  type: 'receipt.read';
  eventId: string;
  occurredAt: string;
  channelId: string;
  userId: string;
  seq: number;
}

export interface PresenceEvent {
  type: 'presence.changed';
  eventId: string;
  occurredAt: string;
  userId: string;
  status: 'online' | 'away' | 'offline';
}

export function messageEvent(type: MessageEventType, message: Message): MessageEvent {
  return { type, eventId: randomUUID(), occurredAt: new Date().toISOString(), message };
}

export function receiptEvent(channelId: string, userId: string, seq: number): ReceiptEvent {
  return {
    type: 'receipt.read',
    eventId: randomUUID(),
    occurredAt: new Date().toISOString(),
    channelId,
    userId,
    seq,
  };
}

/** Writes an event in the caller's transaction, so it exists if and only if the change commits. */
export async function writeOutbox(
  trx: Knex.Transaction,
  topic: string,
  key: string,
  payload: object,
): Promise<void> {
  await trx('outbox').insert({ topic, key, payload: JSON.stringify(payload) });
}

/**
 * Wakes the relay after outbox rows committed. A NOTIFY inside every sending transaction would
 * serialise all their commits on PostgreSQL's notification queue lock (measured: the ceiling
 * of sends per second); instead each process sends at most one NOTIFY per `delayMs`, after
 * commit. If the process dies first, the relay's polling fallback finds the rows.
 */
export class OutboxWakeup {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Knex,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = 5,
  ) {}

  poke(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.db.raw('select pg_notify(?, ?)', [OUTBOX_NOTIFY_CHANNEL, 'outbox']).catch(this.onError);
    }, this.delayMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The event for a message change, on the messages topic keyed by channel. */
export function writeMessageEvent(
  trx: Knex.Transaction,
  type: MessageEventType,
  message: Message,
): Promise<void> {
  return writeOutbox(trx, TOPICS.messages, message.channelId, messageEvent(type, message));
}
