import type { Knex } from 'knex';
import type { EmailLevel, NotificationPreferences } from '../chat/devices.js';
import type { ChannelType } from '../chat/model.js';
import type { DeliveryQueue, DueJob } from './delivery.js';
import type { DigestItem } from './digest-store.js';
import { DigestStore } from './digest-store.js';
import type { Notification } from './rules.js';

export interface Recipient {
  userId: string;
  username: string;
  preferences: NotificationPreferences;
}

/** The notifier's PostgreSQL state: processed events and the durable push delivery queue. */
export class NotificationStore implements DeliveryQueue<Notification> {
  constructor(
    private readonly db: Knex,
    private readonly digests = new DigestStore(db),
  ) {}

  async alreadyProcessed(eventId: string): Promise<boolean> {
    return (
      (await this.db('notifier_processed_events')
        .where({ event_id: eventId })
        .first('event_id')) !== undefined
    );
  }

  /** The channel and its members other than the sender, with their preferences. */
  async audience(
    channelId: string,
    senderId: string,
  ): Promise<
    | { channel: { id: string; name: string | null; type: ChannelType }; recipients: Recipient[] }
    | undefined
  > {
    const channel = (await this.db('channels')
      .where({ id: channelId })
      .first('id', 'name', 'type')) as
      { id: string; name: string | null; type: ChannelType } | undefined;
    if (!channel) return undefined;
    const rows = (await this.db('channel_members as m')
      .join('users as u', 'u.id', 'm.user_id')
      .leftJoin('notification_preferences as p', 'p.user_id', 'm.user_id')
      .where('m.channel_id', channelId)
      .whereNot('m.user_id', senderId)
      .select('m.user_id', 'u.username', 'p.mute_all', 'p.channels', 'p.email')) as {
      user_id: string;
      username: string;
      mute_all: boolean | null;
      channels: Record<string, 'all' | 'mentions' | 'none'> | null;
      email: EmailLevel | null;
    }[];
    return {
      channel,
      recipients: rows.map((r) => ({
        userId: r.user_id,
        username: r.username,
        preferences: {
          muteAll: r.mute_all ?? false,
          channels: r.channels ?? {},
          email: r.email ?? 'all',
        },
      })),
    };
  }

  /**
   * Records that an event was handled, queues its notifications and adds its message to the
   * recipients' email digests, in one transaction. Returns false (and queues nothing) when
   * the event had been handled before.
   */
  async record(
    eventId: string,
    notifications: Notification[],
    digest: { items: DigestItem[]; windowSeconds: number } = { items: [], windowSeconds: 0 },
  ): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const inserted = (await trx('notifier_processed_events')
        .insert({ event_id: eventId })
        .onConflict('event_id')
        .ignore()
        .returning('event_id')) as unknown[];
      if (inserted.length === 0) return false;
      if (notifications.length > 0) {
        await trx('notifications')
          .insert(
            notifications.map((n) => ({
              id: n.notificationId,
              event_id: eventId,
              user_id: n.userId,
              payload: JSON.stringify(n),
            })),
          )
          .onConflict('id')
          .ignore();
      }
      if (digest.items.length > 0) await this.digests.add(trx, digest.items, digest.windowSeconds);
      return true;
    });
  }

  /**
   * Takes up to `limit` due notifications for this worker. Taking one pushes its next attempt
   * `leaseMs` ahead, so a worker that dies mid-delivery leaves it to be taken again later, and
   * SKIP LOCKED lets several notifier replicas share the queue.
   */
  async claimDue(limit: number, leaseMs: number): Promise<DueJob<Notification>[]> {
    const { rows } = (await this.db.raw(
      `update notifications set next_attempt_at = now() + make_interval(secs => ?), updated_at = now()
        where id in (select id from notifications where status = 'pending' and next_attempt_at <= now()
                      order by next_attempt_at limit ? for update skip locked)
        returning payload, attempts, last_error`,
      [leaseMs / 1000, limit],
    )) as { rows: { payload: Notification; attempts: number; last_error: string | null }[] };
    return rows.map((r) => ({
      job: r.payload,
      attempts: r.attempts,
      lastError: r.last_error,
    }));
  }

  async finished(id: string, attempts: number): Promise<void> {
    await this.db('notifications')
      .where({ id })
      .update({ status: 'delivered', attempts, last_error: null, updated_at: this.db.fn.now() });
  }

  async retryLater(id: string, attempts: number, delayMs: number, error: string): Promise<void> {
    await this.db('notifications')
      .where({ id })
      .update({
        attempts,
        last_error: error.slice(0, 1000),
        next_attempt_at: this.db.raw('now() + make_interval(secs => ?)', [delayMs / 1000]),
        updated_at: this.db.fn.now(),
      });
  }

  async dead(id: string, attempts: number, error: string): Promise<void> {
    await this.db('notifications')
      .where({ id })
      .update({
        status: 'dead',
        attempts,
        last_error: error.slice(0, 1000),
        updated_at: this.db.fn.now(),
      });
  }

  async prune(retentionDays: number): Promise<void> {
    await this.db.raw(
      `delete from notifications where status <> 'pending' and updated_at < now() - make_interval(days => ?)`,
      [retentionDays],
    );
    await this.db.raw(
      `delete from notifier_processed_events where processed_at < now() - make_interval(days => ?)`,
      [retentionDays],
    );
  }
}
