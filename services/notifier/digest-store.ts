import type { Knex } from 'knex';
import type { EmailLevel } from '../chat/devices.js';
import type { ChannelType } from '../chat/model.js';
import type { DeliveryQueue, DueJob } from './delivery.js';
import type { DigestMail } from './digest-mail.js';
import type { DigestEntry, RecipientState } from './digests.js';
import type { DeliveryOutcome } from './transports/transport.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A PostgreSQL array literal: knex would spread a JS array binding into a list. */
function uuidArray(ids: string[]): string {
  for (const id of ids) if (!UUID.test(id)) throw new Error(`not a uuid: ${id}`);
  return `{${ids.join(',')}}`;
}

/** A message that joins a member's open digest for its channel. */
export interface DigestItem {
  userId: string;
  channelId: string;
  messageId: string;
  seq: number;
  mentioned: boolean;
}

/** A due digest, as the delivery worker takes it. */
export interface DigestJob {
  digestId: string;
  userId: string;
  channelId: string;
  /** Composed on the first attempt and kept, so a retry sends the same mail. */
  mail: DigestMail | null;
}

export interface DigestContent {
  recipient: { email: string; displayName: string };
  channel: { id: string; name: string | null; type: ChannelType };
  /** Not yet deleted, in channel order, with their current text. */
  entries: DigestEntry[];
}

/**
 * Email digests in PostgreSQL. A member has at most one `open` digest per channel (a partial
 * unique index); it collects messages until `due_at`, when a worker seals it (`sending`) by
 * claiming it, and later messages open the next one. Claims use FOR UPDATE SKIP LOCKED and a
 * lease, as the push queue does; a planner adding to a digest holds its row lock, so a
 * digest is never sealed halfway through an event's transaction.
 */
export class DigestStore implements DeliveryQueue<DigestJob> {
  constructor(private readonly db: Knex) {}

  async add(trx: Knex.Transaction, items: DigestItem[], windowSeconds: number): Promise<void> {
    // One lock order for every writer.
    const sorted = [...items].sort((a, b) =>
      `${a.userId}:${a.channelId}`.localeCompare(`${b.userId}:${b.channelId}`),
    );
    const { rows } = (await trx.raw(
      `insert into email_digests (user_id, channel_id, due_at, next_attempt_at)
         select u, c, now() + make_interval(secs => ?), now() + make_interval(secs => ?)
           from unnest(?::uuid[], ?::uuid[]) as t(u, c)
       on conflict (user_id, channel_id) where status = 'open'
         do update set updated_at = now()
       returning id, user_id, channel_id`,
      [
        windowSeconds,
        windowSeconds,
        uuidArray(sorted.map((i) => i.userId)),
        uuidArray(sorted.map((i) => i.channelId)),
      ],
    )) as { rows: { id: string; user_id: string; channel_id: string }[] };
    const digestOf = new Map(rows.map((r) => [`${r.user_id}:${r.channel_id}`, r.id]));
    await trx('email_digest_items')
      .insert(
        sorted.map((i) => ({
          digest_id: digestOf.get(`${i.userId}:${i.channelId}`)!,
          message_id: i.messageId,
          seq: i.seq,
          mentioned: i.mentioned,
        })),
      )
      .onConflict(['digest_id', 'message_id'])
      .ignore();
  }

  async claimDue(limit: number, leaseMs: number): Promise<DueJob<DigestJob>[]> {
    const { rows } = (await this.db.raw(
      `update email_digests set status = 'sending', updated_at = now(),
              next_attempt_at = now() + make_interval(secs => ?)
        where id in (select id from email_digests
                      where status in ('open', 'sending') and next_attempt_at <= now()
                      order by next_attempt_at limit ? for update skip locked)
        returning id, user_id, channel_id, attempts, last_error, mail`,
      [leaseMs / 1000, limit],
    )) as {
      rows: {
        id: string;
        user_id: string;
        channel_id: string;
        attempts: number;
        last_error: string | null;
        mail: DigestMail | null;
      }[];
    };
    return rows.map((r) => ({
      job: { digestId: r.id, userId: r.user_id, channelId: r.channel_id, mail: r.mail },
      attempts: r.attempts,
      lastError: r.last_error,
    }));
  }

  async content(digestId: string): Promise<DigestContent | undefined> {
    const head = (await this.db('email_digests as d')
      .join('users as u', 'u.id', 'd.user_id')
      .join('channels as c', 'c.id', 'd.channel_id')
      .where('d.id', digestId)
      .first(
        'u.email',
        'u.display_name',
        'c.id as channel_id',
        'c.name as channel_name',
        'c.type as channel_type',
      )) as
      | {
          email: string;
          display_name: string;
          channel_id: string;
          channel_name: string | null;
          channel_type: ChannelType;
        }
      | undefined;
    if (!head) return undefined;
    const rows = (await this.db('email_digest_items as i')
      .join('messages as m', 'm.id', 'i.message_id')
      .join('users as s', 's.id', 'm.sender_id')
      .where('i.digest_id', digestId)
      .whereNull('m.deleted_at')
      .orderBy('i.seq')
      .select(
        'i.message_id',
        'i.seq',
        'i.mentioned',
        'm.content',
        'm.created_at',
        's.display_name',
      )) as {
      message_id: string;
      seq: string | number;
      mentioned: boolean;
      content: string;
      created_at: Date;
      display_name: string;
    }[];
    return {
      recipient: { email: head.email, displayName: head.display_name },
      channel: { id: head.channel_id, name: head.channel_name, type: head.channel_type },
      entries: rows.map((r) => ({
        messageId: r.message_id,
        seq: Number(r.seq),
        senderName: r.display_name,
        sentAt: r.created_at,
        text: r.content,
        mentioned: r.mentioned,
      })),
    };
  }

  async recipientState(userId: string, channelId: string): Promise<RecipientState> {
    const [member, prefs, channel] = await Promise.all([
      this.db('channel_members')
        .where({ user_id: userId, channel_id: channelId })
        .first('last_read_seq') as Promise<{ last_read_seq: string | number } | undefined>,
      this.db('notification_preferences').where({ user_id: userId }).first() as Promise<
        | {
            mute_all: boolean;
            channels: Record<string, 'all' | 'mentions' | 'none'>;
            email: EmailLevel;
          }
        | undefined
      >,
      this.db('channels').where({ id: channelId }).first('type') as Promise<
        { type: ChannelType } | undefined
      >,
    ]);
    return {
      channelId,
      member: member !== undefined,
      lastReadSeq: Number(member?.last_read_seq ?? 0),
      direct: channel?.type === 'direct',
      preferences: {
        muteAll: prefs?.mute_all ?? false,
        channels: prefs?.channels ?? {},
        email: prefs?.email ?? 'all',
      },
    };
  }

  async saveMail(digestId: string, mail: DigestMail): Promise<void> {
    await this.db('email_digests')
      .where({ id: digestId })
      .update({ mail: JSON.stringify(mail), updated_at: this.db.fn.now() });
  }

  async finished(id: string, attempts: number, outcome: DeliveryOutcome): Promise<void> {
    await this.db('email_digests')
      .where({ id })
      .update({
        status: outcome === 'delivered' ? 'sent' : 'suppressed',
        attempts,
        last_error: null,
        updated_at: this.db.fn.now(),
      });
  }

  async retryLater(id: string, attempts: number, delayMs: number, error: string): Promise<void> {
    await this.db('email_digests')
      .where({ id })
      .update({
        attempts,
        last_error: error.slice(0, 1000),
        next_attempt_at: this.db.raw('now() + make_interval(secs => ?)', [delayMs / 1000]),
        updated_at: this.db.fn.now(),
      });
  }

  async dead(id: string, attempts: number, error: string): Promise<void> {
    await this.db('email_digests')
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
      `delete from email_digests where status not in ('open', 'sending')
          and updated_at < now() - make_interval(days => ?)`,
      [retentionDays],
    );
  }
}
