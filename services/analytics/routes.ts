import type { Knex } from 'knex';
import { z } from 'zod';
import { defineRoute, type AnyRouteSpec, type Caller } from '../api/route-table.js';
import { idParams } from '../api/schemas.js';
import type { AccountService } from '../chat/accounts.js';
import { channelAccess } from '../chat/access.js';
import { AppError } from '../core/errors.js';
import type { AnalyticsQueries, AnalyticsScope } from './queries.js';
import { HOUR_MS, MINUTE_MS, seriesRange } from './windows.js';

const MAX_POINTS = 1500;
const count = z.number().int();
const isoTime = z.iso.datetime({ offset: true });

const overviewSchema = z.object({
  totals: z.object({ messages: count, users: count, channels: count }),
  lastHour: z.object({ messages: count, messagesPerSecond: z.number(), activeUsers: count }),
  connections: z.object({ current: count, peakLastHour: count }).optional(),
});
const channelStatsSchema = z.object({
  channelId: z.uuid(),
  totals: z.object({ messages: count, senders: count, receipts: count }),
  lastHour: z.object({ messages: count }),
});
const userStatsSchema = z.object({
  userId: z.uuid(),
  totals: z.object({ messages: count }),
  lastHour: z.object({ messages: count }),
});
const seriesSchema = z.object({
  metric: z.enum(['messages', 'activeUsers']),
  bucket: z.enum(['minute', 'hour']),
  points: z.array(z.object({ t: isoTime, value: z.number() })),
});

export const timeseriesQuery = z
  .strictObject({
    metric: z.enum(['messages', 'activeUsers']).default('messages'),
    bucket: z.enum(['minute', 'hour']).default('minute'),
    from: isoTime.optional(),
    to: isoTime.optional(),
    channelId: z.uuid().optional(),
  })
  .transform((q, ctx) => {
    const to = q.to ? new Date(q.to) : new Date();
    // Defaults: the last hour by minute, the last day by hour.
    const from = q.from
      ? new Date(q.from)
      : new Date(to.getTime() - (q.bucket === 'minute' ? 59 * MINUTE_MS : 23 * HOUR_MS));
    if (from > to) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'must not be after `to`' });
      return z.NEVER;
    }
    const { points } = seriesRange(from, to, q.bucket);
    if (points > MAX_POINTS) {
      ctx.addIssue({
        code: 'custom',
        path: ['from'],
        message: `the range covers ${points} ${q.bucket}s; at most ${MAX_POINTS} per request`,
      });
      return z.NEVER;
    }
    return { metric: q.metric, bucket: q.bucket, from, to, channelId: q.channelId };
  });

export const topChannelsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

export interface AnalyticsRouteDeps {
  db: Knex;
  accounts: AccountService;
  queries: AnalyticsQueries;
}

export function analyticsRoutes({ db, accounts, queries }: AnalyticsRouteDeps): AnyRouteSpec[] {
  const scopeOf = (caller: Caller): AnalyticsScope =>
    accounts.isAdmin(caller.username) ? { kind: 'all' } : { kind: 'member', userId: caller.userId };

  /** Admins see every channel; others the channels they belong to (private ones stay hidden). */
  const requireChannelVisible = async (caller: Caller, channelId: string) => {
    if (accounts.isAdmin(caller.username)) {
      if (!(await db('channels').where({ id: channelId }).first('id')))
        throw new AppError('NOT_FOUND', 'channel not found');
      return;
    }
    const access = await channelAccess(db, caller.userId, channelId);
    if (!access.role) throw new AppError('FORBIDDEN', 'analytics of a channel are for its members');
  };

  return [
    defineRoute({
      method: 'get',
      path: '/analytics/overview',
      tag: 'analytics',
      summary: 'Totals and last-hour activity (admins: everything; others: their channels)',
      responses: { 200: { description: 'overview', schema: overviewSchema } },
      errors: [401],
      handler: async ({ caller }) => ({
        status: 200,
        body: await queries.overview(scopeOf(caller)),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/analytics/channels/:id',
      tag: 'analytics',
      summary: 'Message, sender and receipt totals of a channel and its last hour',
      params: idParams,
      responses: { 200: { description: 'channel statistics', schema: channelStatsSchema } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params }) => {
        await requireChannelVisible(caller, params.id);
        return { status: 200, body: await queries.channel(params.id) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/analytics/users/:id',
      tag: 'analytics',
      summary: 'Messages sent by a user (the caller, or anyone for admins)',
      params: idParams,
      responses: { 200: { description: 'user statistics', schema: userStatsSchema } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, params }) => {
        if (params.id !== caller.userId) {
          if (!(await db('users').where({ id: params.id }).first('id')))
            throw new AppError('NOT_FOUND', 'user not found');
          if (!accounts.isAdmin(caller.username))
            throw new AppError('FORBIDDEN', 'user analytics are for that user and admins');
        }
        return { status: 200, body: await queries.user(params.id) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/analytics/timeseries',
      tag: 'analytics',
      summary: 'Messages or active users per minute or hour between from and to (zero-filled)',
      query: timeseriesQuery,
      responses: { 200: { description: 'series', schema: seriesSchema } },
      errors: [400, 401, 403, 404],
      handler: async ({ caller, query }) => {
        if (query.channelId) await requireChannelVisible(caller, query.channelId);
        return { status: 200, body: await queries.series(query, scopeOf(caller)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/analytics/top-channels',
      tag: 'analytics',
      summary: 'Channels with the most messages of all time',
      query: topChannelsQuery,
      responses: {
        200: {
          description: 'channels',
          schema: z.object({
            channels: z.array(z.object({ channelId: z.uuid(), messages: count })),
          }),
        },
      },
      errors: [400, 401],
      handler: async ({ caller, query }) => ({
        status: 200,
        body: { channels: await queries.topChannels(query.limit, scopeOf(caller)) },
      }),
    }),
  ];
}
