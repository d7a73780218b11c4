import type { Knex } from 'knex';
import { AppError } from '../core/errors.js';
import type { ChannelType, MemberRole } from './model.js';

export interface ChannelAccess {
  channelId: string;
  type: ChannelType;
  role: MemberRole | undefined;
}

export interface MemberAccess extends ChannelAccess {
  role: MemberRole;
  /** The member's names, as a message they send will show them. */
  username: string;
  displayName: string;
}

/**
 * Who the caller is in a channel. Private and direct channels the caller does not belong to are
 * reported as not found, so their existence does not leak; public channels are visible to all.
 */
export async function channelAccess(
  db: Knex,
  userId: string,
  channelId: string,
): Promise<ChannelAccess & Partial<MemberAccess>> {
  const row = (await db('channels as c')
    .leftJoin('channel_members as m', function () {
      this.on('m.channel_id', '=', 'c.id').andOn('m.user_id', '=', db.raw('?', [userId]));
    })
    .leftJoin('users as u', 'u.id', 'm.user_id')
    .where('c.id', channelId)
    .first('c.type', 'm.role', 'u.username', 'u.display_name')) as
    | {
        type: ChannelType;
        role: MemberRole | null;
        username: string | null;
        display_name: string | null;
      }
    | undefined;
  if (!row || (row.type !== 'public' && !row.role))
    throw new AppError('NOT_FOUND', 'channel not found');
  if (!row.role) return { channelId, type: row.type, role: undefined };
  return {
    channelId,
    type: row.type,
    role: row.role,
    username: row.username!,
    displayName: row.display_name!,
  };
}

export async function requireMember(
  db: Knex,
  userId: string,
  channelId: string,
): Promise<MemberAccess> {
  const access = await channelAccess(db, userId, channelId);
  if (!access.role) throw new AppError('FORBIDDEN', 'join the channel first');
  return access as MemberAccess;
}

/** The channels a user belongs to with their current heads (what a connecting socket joins). */
export async function channelHeadsOf(
  db: Knex,
  userId: string,
): Promise<{ channelId: string; lastSeq: number }[]> {
  const rows = (await db('channel_members as m')
    .join('channels as c', 'c.id', 'm.channel_id')
    .where('m.user_id', userId)
    .select('m.channel_id', 'c.last_seq')) as { channel_id: string; last_seq: number }[];
  return rows.map((r) => ({ channelId: r.channel_id, lastSeq: Number(r.last_seq) }));
}

/** Ids of the channels a user belongs to (the rooms a socket joins). */
export async function channelIdsOf(db: Knex, userId: string): Promise<string[]> {
  const rows = (await db('channel_members').where({ user_id: userId }).select('channel_id')) as {
    channel_id: string;
  }[];
  return rows.map((r) => r.channel_id);
}

/** Whether two users share at least one channel (gate for presence and call signalling). */
export async function shareAChannel(db: Knex, a: string, b: string): Promise<boolean> {
  const row = await db('channel_members as x')
    .join('channel_members as y', 'x.channel_id', 'y.channel_id')
    .where('x.user_id', a)
    .andWhere('y.user_id', b)
    .first(db.raw('1 as one'));
  return row !== undefined;
}

/** Those of `userIds` who share at least one channel with `userId` (themselves excluded). */
export async function usersSharingAChannel(
  db: Knex,
  userId: string,
  userIds: string[],
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = (await db('channel_members as them')
    .join('channel_members as me', 'me.channel_id', 'them.channel_id')
    .where('me.user_id', userId)
    .whereIn('them.user_id', userIds)
    .whereNot('them.user_id', userId)
    .distinct('them.user_id')) as { user_id: string }[];
  return rows.map((r) => r.user_id);
}
