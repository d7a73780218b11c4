import type { Knex } from 'knex';
import type { Logger } from '../core/logger.js';
import type { ConsumedBatch, PartitionPosition, TopicPartition } from '../events/bus.js';
import { parseEvent, type PipelineEvent } from '../events/schemas.js';
import type { AnalyticsMetrics } from './metrics.js';
import { bucketStart, windowDeltas, type WindowDeltas } from './windows.js';

export interface BatchOutcome {
  counted: number;
  duplicate: number;
  replayed: number;
  ignored: number;
  invalid: number;
}

/**
 * The write side of analytics. Each batch is applied in one PostgreSQL transaction together
 * with the position after it, so a batch counts entirely or not at all, and a batch read again
 * after a crash (its position was not stored) or a rebalance (its position was) is recognised.
 * Event ids are remembered too, so an event the relay published twice counts once.
 */
export class AnalyticsStore {
  constructor(
    private readonly db: Knex,
    private readonly log: Logger,
    private readonly metrics: AnalyticsMetrics,
  ) {}

  async positions(group: string, assigned: TopicPartition[]): Promise<PartitionPosition[]> {
    if (assigned.length === 0) return [];
    const rows = (await this.db('analytics_offsets')
      .where({ consumer_group: group })
      .select('topic', 'partition', 'next_offset')) as {
      topic: string;
      partition: number;
      next_offset: number;
    }[];
    const wanted = new Set(assigned.map((a) => `${a.partition}\u0000${a.topic}`));
    return rows
      .filter((r) => wanted.has(`${r.partition}\u0000${r.topic}`))
      .map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.next_offset) }));
  }

  async applyBatch(group: string, batch: ConsumedBatch): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { counted: 0, duplicate: 0, replayed: 0, ignored: 0, invalid: 0 };
    const last = batch.events[batch.events.length - 1];
    if (!last) return outcome;
    await this.db.transaction(async (trx) => {
      const stored = (await trx('analytics_offsets')
        .where({ consumer_group: group, topic: batch.topic, partition: batch.partition })
        .forUpdate()
        .first('next_offset')) as { next_offset: number } | undefined;
      const from = stored ? Number(stored.next_offset) : -1;
      const fresh = batch.events.filter((e) => e.offset >= from);
      outcome.replayed = batch.events.length - fresh.length;
      if (fresh.length === 0) return;

      const candidates: PipelineEvent[] = [];
      for (const e of fresh) {
        const parsed = parseEvent(batch.topic, e.value);
        if (!parsed.ok) {
          outcome.invalid += 1;
          this.log.warn(
            {
              topic: batch.topic,
              partition: batch.partition,
              offset: e.offset,
              reason: parsed.reason,
            },
            'skipping an invalid event',
          );
        } else if (
          parsed.event.type === 'message.updated' ||
          parsed.event.type === 'message.deleted'
        ) {
          outcome.ignored += 1;
        } else {
          candidates.push(parsed.event);
        }
      }
      const firstSeen = await this.rememberEvents(trx, candidates);
      outcome.counted = firstSeen.length;
      outcome.duplicate = candidates.length - firstSeen.length;
      await this.applyDeltas(trx, windowDeltas(firstSeen));

      await trx.raw(
        `insert into analytics_offsets (consumer_group, topic, partition, next_offset, updated_at) values (?, ?, ?, ?, now())
         on conflict (consumer_group, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
        [group, batch.topic, batch.partition, last.offset + 1],
      );
    });
    for (const [outcomeName, n] of Object.entries(outcome))
      if (n > 0) this.metrics.events.inc({ topic: batch.topic, outcome: outcomeName }, n);
    return outcome;
  }

  /** The events whose ids were not seen before, each once, in batch order. */
  private async rememberEvents(
    trx: Knex.Transaction,
    events: PipelineEvent[],
  ): Promise<PipelineEvent[]> {
    if (events.length === 0) return [];
    const ids = [...new Set(events.map((e) => e.eventId))].sort();
    const { rows } = (await trx.raw(
      `insert into analytics_seen_events (event_id) select unnest(?::uuid[]) on conflict do nothing returning event_id`,
      [ids],
    )) as { rows: { event_id: string }[] };
    const fresh = new Set(rows.map((r) => r.event_id));
    return events.filter((e) => fresh.delete(e.eventId));
  }

  private async applyDeltas(trx: Knex.Transaction, d: WindowDeltas): Promise<void> {
    for (const [table, cells] of [
      ['analytics_message_minutes', d.messageMinutes],
      ['analytics_message_hours', d.messageHours],
    ] as const) {
      if (cells.length === 0) continue;
      await trx.raw(
        `insert into ${table} (bucket, channel_id, user_id, messages)
         select * from unnest(?::timestamptz[], ?::uuid[], ?::uuid[], ?::bigint[])
         on conflict (bucket, channel_id, user_id) do update set messages = ${table}.messages + excluded.messages`,
        [
          cells.map((c) => c.bucket),
          cells.map((c) => c.channelId),
          cells.map((c) => c.userId),
          cells.map((c) => c.messages),
        ],
      );
    }
    for (const [table, cells] of [
      ['analytics_receipt_minutes', d.receiptMinutes],
      ['analytics_receipt_hours', d.receiptHours],
    ] as const) {
      if (cells.length === 0) continue;
      await trx.raw(
        `insert into ${table} (bucket, channel_id, receipts)
         select * from unnest(?::timestamptz[], ?::uuid[], ?::bigint[])
         on conflict (bucket, channel_id) do update set receipts = ${table}.receipts + excluded.receipts`,
        [cells.map((c) => c.bucket), cells.map((c) => c.channelId), cells.map((c) => c.receipts)],
      );
    }

    // All-time totals, from the hour cells (fewer rows, same sums).
    const senders = new Map<string, { channelId: string; userId: string; messages: number }>();
    const channels = new Map<string, { messages: number; receipts: number }>();
    for (const c of d.messageHours) {
      const key = `${c.channelId}|${c.userId}`;
      const s = senders.get(key) ?? { channelId: c.channelId, userId: c.userId, messages: 0 };
      s.messages += c.messages;
      senders.set(key, s);
      const t = channels.get(c.channelId) ?? { messages: 0, receipts: 0 };
      t.messages += c.messages;
      channels.set(c.channelId, t);
    }
    for (const c of d.receiptHours) {
      const t = channels.get(c.channelId) ?? { messages: 0, receipts: 0 };
      t.receipts += c.receipts;
      channels.set(c.channelId, t);
    }
    if (senders.size > 0) {
      const list = [...senders.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
      await trx.raw(
        `insert into analytics_channel_senders (channel_id, user_id, messages)
         select * from unnest(?::uuid[], ?::uuid[], ?::bigint[])
         on conflict (channel_id, user_id) do update set messages = analytics_channel_senders.messages + excluded.messages`,
        [list.map((s) => s.channelId), list.map((s) => s.userId), list.map((s) => s.messages)],
      );
    }
    if (channels.size > 0) {
      const list = [...channels.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
      await trx.raw(
        `insert into analytics_channel_totals (channel_id, messages, receipts)
         select * from unnest(?::uuid[], ?::bigint[], ?::bigint[])
         on conflict (channel_id) do update set messages = analytics_channel_totals.messages + excluded.messages,
           receipts = analytics_channel_totals.receipts + excluded.receipts`,
        [list.map(([id]) => id), list.map(([, t]) => t.messages), list.map(([, t]) => t.receipts)],
      );
    }

    if (d.presence.length > 0) {
      await trx.raw(
        `insert into analytics_presence (user_id, status, changed_at)
         select * from unnest(?::uuid[], ?::text[], ?::timestamptz[])
         on conflict (user_id) do update set status = excluded.status, changed_at = excluded.changed_at
           where excluded.changed_at >= analytics_presence.changed_at`,
        [
          d.presence.map((p) => p.userId),
          d.presence.map((p) => p.status),
          d.presence.map((p) => p.at),
        ],
      );
      // Users online now, and the peak of the current minute.
      const bucket = bucketStart(new Date(), 'minute').toISOString();
      await trx.raw(
        `with online as (select count(*)::int as n from analytics_presence where status <> 'offline')
         insert into analytics_online_minutes (bucket, peak, last) select ?, n, n from online
         on conflict (bucket) do update set peak = greatest(analytics_online_minutes.peak, excluded.last), last = excluded.last`,
        [bucket],
      );
    }
  }

  /** Forgets what retention no longer needs; minute cells go, hour cells and totals stay. */
  async prune(minuteRetentionDays: number, dedupeRetentionHours: number): Promise<void> {
    await this.db.raw(
      `delete from analytics_seen_events where seen_at < now() - make_interval(hours => ?)`,
      [dedupeRetentionHours],
    );
    for (const table of [
      'analytics_message_minutes',
      'analytics_receipt_minutes',
      'analytics_online_minutes',
    ]) {
      await this.db.raw(`delete from ${table} where bucket < now() - make_interval(days => ?)`, [
        minuteRetentionDays,
      ]);
    }
  }
}
