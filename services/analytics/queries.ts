import type { Knex } from 'knex';
import { BUCKET_MS, lastHourStart, seriesRange, type BucketSize } from './windows.js';

/** What a caller may see: everything (admins) or the channels they belong to and themselves. */
export type AnalyticsScope = { kind: 'all' } | { kind: 'member'; userId: string };

export interface Overview {
  totals: { messages: number; users: number; channels: number };
  lastHour: { messages: number; messagesPerSecond: number; activeUsers: number };
  /** Admins only: users online now (from presence events) and the peak in the last hour. */
  connections?: { current: number; peakLastHour: number };
}

export interface ChannelStats {
  channelId: string;
  totals: { messages: number; senders: number; receipts: number };
  lastHour: { messages: number };
}

export interface UserStats {
  userId: string;
  totals: { messages: number };
  lastHour: { messages: number };
}

export type SeriesMetric = 'messages' | 'activeUsers';

export interface Series {
  metric: SeriesMetric;
  bucket: BucketSize;
  points: { t: string; value: number }[];
}

const num = (v: unknown) => Number(v ?? 0);

/** The read side of analytics, over the tables the consumer maintains. */
export class AnalyticsQueries {
  constructor(private readonly db: Knex) {}

  /** Restricts a query on `column` (a channel id) to the scope's channels. */
  private inScope(q: Knex.QueryBuilder, column: string, scope: AnalyticsScope): Knex.QueryBuilder {
    if (scope.kind === 'member')
      q.whereIn(
        column,
        this.db('channel_members').where('user_id', scope.userId).select('channel_id'),
      );
    return q;
  }

  async overview(scope: AnalyticsScope, now = new Date()): Promise<Overview> {
    const since = lastHourStart(now);
    const messages = await this.inScope(
      this.db('analytics_channel_totals'),
      'channel_id',
      scope,
    ).first(this.db.raw('coalesce(sum(messages), 0) as n'));
    const lastHour = await this.inScope(
      this.db('analytics_message_minutes').where('bucket', '>=', since),
      'channel_id',
      scope,
    ).first(
      this.db.raw('coalesce(sum(messages), 0) as messages'),
      this.db.raw('count(distinct user_id) as active'),
    );
    let users: unknown;
    let channels: unknown;
    if (scope.kind === 'all') {
      users = (await this.db('users').count({ n: '*' }).first())?.n;
      channels = (await this.db('channels').count({ n: '*' }).first())?.n;
    } else {
      users = (
        await this.inScope(this.db('channel_members'), 'channel_id', scope).first(
          this.db.raw('count(distinct user_id) as n'),
        )
      )?.n;
      channels = (
        await this.db('channel_members').where('user_id', scope.userId).count({ n: '*' }).first()
      )?.n;
    }
    const lastHourMessages = num(lastHour?.messages);
    const overview: Overview = {
      totals: { messages: num(messages?.n), users: num(users), channels: num(channels) },
      lastHour: {
        messages: lastHourMessages,
        messagesPerSecond: Math.round((lastHourMessages / 3600) * 1000) / 1000,
        activeUsers: num(lastHour?.active),
      },
    };
    if (scope.kind === 'all') {
      const current = await this.db('analytics_presence')
        .whereNot('status', 'offline')
        .count({ n: '*' })
        .first();
      const peak = await this.db('analytics_online_minutes')
        .where('bucket', '>=', since)
        .max({ n: 'peak' })
        .first();
      overview.connections = { current: num(current?.n), peakLastHour: num(peak?.n) };
    }
    return overview;
  }

  async channel(channelId: string, now = new Date()): Promise<ChannelStats> {
    const totals = await this.db('analytics_channel_totals')
      .where({ channel_id: channelId })
      .first('messages', 'receipts');
    const senders = await this.db('analytics_channel_senders')
      .where({ channel_id: channelId })
      .count({ n: '*' })
      .first();
    const lastHour = await this.db('analytics_message_minutes')
      .where({ channel_id: channelId })
      .where('bucket', '>=', lastHourStart(now))
      .first(this.db.raw('coalesce(sum(messages), 0) as n'));
    return {
      channelId,
      totals: {
        messages: num(totals?.messages),
        senders: num(senders?.n),
        receipts: num(totals?.receipts),
      },
      lastHour: { messages: num(lastHour?.n) },
    };
  }

  async user(userId: string, now = new Date()): Promise<UserStats> {
    const totals = await this.db('analytics_channel_senders')
      .where({ user_id: userId })
      .first(this.db.raw('coalesce(sum(messages), 0) as n'));
    const lastHour = await this.db('analytics_message_minutes')
      .where({ user_id: userId })
      .where('bucket', '>=', lastHourStart(now))
      .first(this.db.raw('coalesce(sum(messages), 0) as n'));
    return {
      userId,
      totals: { messages: num(totals?.n) },
      lastHour: { messages: num(lastHour?.n) },
    };
  }

  /** One point per bucket from `from` to `to`, zero where nothing happened. */
  async series(
    req: {
      metric: SeriesMetric;
      bucket: BucketSize;
      from: Date;
      to: Date;
      channelId?: string | undefined;
    },
    scope: AnalyticsScope,
  ): Promise<Series> {
    const { start, end } = seriesRange(req.from, req.to, req.bucket);
    const table = req.bucket === 'minute' ? 'analytics_message_minutes' : 'analytics_message_hours';
    const value = req.metric === 'messages' ? 'sum(messages)' : 'count(distinct user_id)';
    const inner = this.inScope(
      this.db(table).whereBetween('bucket', [start, end]),
      'channel_id',
      scope,
    )
      .groupBy('bucket')
      .select('bucket', this.db.raw(`${value} as value`));
    if (req.channelId) inner.where('channel_id', req.channelId);
    const rows = (await this.db
      .select('s.t', this.db.raw('coalesce(x.value, 0) as value'))
      .from(
        this.db.raw(
          `generate_series(?::timestamptz, ?::timestamptz, make_interval(secs => ?)) as s(t)`,
          [start, end, BUCKET_MS[req.bucket] / 1000],
        ),
      )
      .leftJoin(inner.as('x'), 'x.bucket', 's.t')
      .orderBy('s.t')) as { t: Date; value: unknown }[];
    return {
      metric: req.metric,
      bucket: req.bucket,
      points: rows.map((r) => ({ t: r.t.toISOString(), value: num(r.value) })),
    };
  }

  async topChannels(
    limit: number,
    scope: AnalyticsScope,
  ): Promise<{ channelId: string; messages: number }[]> {
    const rows = (await this.inScope(
      this.db('analytics_channel_totals').where('messages', '>', 0),
      'channel_id',
      scope,
    )
      .orderBy([
        { column: 'messages', order: 'desc' },
        { column: 'channel_id', order: 'asc' },
      ])
      .limit(limit)
      .select('channel_id', 'messages')) as { channel_id: string; messages: unknown }[];
    return rows.map((r) => ({ channelId: r.channel_id, messages: num(r.messages) }));
  }
}
