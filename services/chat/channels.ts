import type { Knex } from 'knex';
import { isPgError, UNIQUE_VIOLATION } from '../core/database.js';
import { AppError } from '../core/errors.js';
import { channelAccess, requireMember } from './access.js';
import type { ChatFanout } from './fanout.js';
import {
  toChannel,
  type Channel,
  type ChannelForMember,
  type ChannelRow,
  type ChannelType,
  type Member,
  type MemberRole,
} from './model.js';
import {
  canAddMember,
  canDeleteChannel,
  canJoin,
  canManageChannel,
  canRemoveMember,
  directKey,
  membershipIsFixed,
  unreadCount,
} from './rules.js';

export interface CreateChannelInput {
  name?: string | undefined;
  type: ChannelType;
  description?: string | undefined;
  memberIds?: string[] | undefined;
}

const isUniqueViolation = (err: unknown) => isPgError(err, UNIQUE_VIOLATION);

export class ChannelService {
  constructor(
    private readonly db: Knex,
    private readonly fanout: ChatFanout,
  ) {}

  private channelQuery(db: Knex = this.db) {
    return db('channels as c').select(
      'c.id',
      'c.type',
      'c.name',
      'c.description',
      'c.created_by',
      'c.created_at',
      'c.last_seq',
      db.raw(
        '(select count(*)::int from channel_members cm where cm.channel_id = c.id) as member_count',
      ),
    );
  }

  /** Everyone in a channel just created joins it at seq 0. */
  private announceNewChannel(channelId: string, userIds: string[]): void {
    for (const userId of userIds)
      this.fanout.membershipChanged({ channelId, userId, joined: true, lastSeq: 0 });
  }

  private async load(id: string, db: Knex = this.db): Promise<Channel> {
    const row = (await this.channelQuery(db).where('c.id', id).first()) as ChannelRow | undefined;
    if (!row) throw new AppError('NOT_FOUND', 'channel not found');
    return toChannel(row);
  }

  private async requireUsersExist(ids: string[], db: Knex = this.db): Promise<void> {
    if (ids.length === 0) return;
    const found = (await db('users').whereIn('id', ids).select('id')) as { id: string }[];
    const known = new Set(found.map((r) => r.id));
    const missing = ids.filter((id) => !known.has(id));
    if (missing.length > 0) throw new AppError('NOT_FOUND', 'user not found', { userIds: missing });
  }

  /** Creates a channel; for direct channels returns the existing one (created=false) when the pair already has one. */
  async create(
    userId: string,
    input: CreateChannelInput,
  ): Promise<{ channel: Channel; created: boolean }> {
    const others = [...new Set(input.memberIds ?? [])].filter((id) => id !== userId);
    if (input.type === 'direct') return this.createDirect(userId, input, others);
    if (!input.name)
      throw new AppError('VALIDATION', 'request failed validation', {
        fields: [{ path: 'name', message: 'required for public and private channels' }],
      });
    await this.requireUsersExist(others);
    const channel = await this.db.transaction(async (trx) => {
      const [row] = (await trx('channels')
        .insert({
          type: input.type,
          name: input.name,
          description: input.description ?? '',
          created_by: userId,
        })
        .returning('id')) as { id: string }[];
      await trx('channel_members').insert([
        { channel_id: row!.id, user_id: userId, role: 'owner' },
        ...others.map((id) => ({ channel_id: row!.id, user_id: id, role: 'member' })),
      ]);
      return this.load(row!.id, trx);
    });
    this.announceNewChannel(channel.id, [userId, ...others]);
    return { channel, created: true };
  }

  private async createDirect(
    userId: string,
    input: CreateChannelInput,
    others: string[],
  ): Promise<{ channel: Channel; created: boolean }> {
    if (others.length !== 1 || (input.memberIds ?? []).length !== 1) {
      throw new AppError('VALIDATION', 'request failed validation', {
        fields: [{ path: 'memberIds', message: 'a direct channel takes exactly one other user' }],
      });
    }
    if (input.name) {
      throw new AppError('VALIDATION', 'request failed validation', {
        fields: [{ path: 'name', message: 'direct channels have no name' }],
      });
    }
    const other = others[0]!;
    await this.requireUsersExist([other]);
    const key = directKey(userId, other);
    const existing = (await this.db('channels').where({ direct_key: key }).first('id')) as
      { id: string } | undefined;
    if (existing) return { channel: await this.load(existing.id), created: false };
    try {
      const channel = await this.db.transaction(async (trx) => {
        const [row] = (await trx('channels')
          .insert({
            type: 'direct',
            name: null,
            description: input.description ?? '',
            direct_key: key,
            created_by: userId,
          })
          .returning('id')) as { id: string }[];
        await trx('channel_members').insert([
          { channel_id: row!.id, user_id: userId, role: 'owner' },
          { channel_id: row!.id, user_id: other, role: 'member' },
        ]);
        return this.load(row!.id, trx);
      });
      this.announceNewChannel(channel.id, [userId, other]);
      return { channel, created: true };
    } catch (err) {
      // Both users opened the conversation at the same moment: the other insert won.
      if (!isUniqueViolation(err)) throw err;
      const winner = (await this.db('channels').where({ direct_key: key }).first('id')) as {
        id: string;
      };
      return { channel: await this.load(winner.id), created: false };
    }
  }

  async listForUser(userId: string): Promise<ChannelForMember[]> {
    const rows = (await this.channelQuery()
      .join('channel_members as me', function () {
        this.on('me.channel_id', '=', 'c.id');
      })
      .where('me.user_id', userId)
      .select('me.role', 'me.last_read_seq')
      .orderBy('c.created_at', 'asc')) as (ChannelRow & {
      role: MemberRole;
      last_read_seq: number;
    })[];
    return rows.map((row) => ({
      ...toChannel(row),
      role: row.role,
      lastReadSeq: Number(row.last_read_seq),
      unreadCount: unreadCount(Number(row.last_seq), Number(row.last_read_seq)),
    }));
  }

  /** Public channels anyone can join, optionally filtered by a name prefix. */
  async listPublic(
    userId: string,
    query: string | undefined,
    limit: number,
  ): Promise<(Channel & { isMember: boolean })[]> {
    const q = this.channelQuery()
      .where('c.type', 'public')
      .select(
        this.db.raw(
          'exists(select 1 from channel_members m where m.channel_id = c.id and m.user_id = ?) as is_member',
          [userId],
        ),
      )
      .orderBy('c.name', 'asc')
      .limit(limit);
    if (query) q.whereRaw('lower(c.name) like ?', [`${escapeLike(query.toLowerCase())}%`]);
    const rows = (await q) as (ChannelRow & { is_member: boolean })[];
    return rows.map((row) => ({ ...toChannel(row), isMember: row.is_member }));
  }

  async get(userId: string, channelId: string): Promise<Channel> {
    await channelAccess(this.db, userId, channelId);
    return this.load(channelId);
  }

  async update(
    userId: string,
    channelId: string,
    patch: { name?: string | undefined; description?: string | undefined },
  ): Promise<Channel> {
    const access = await requireMember(this.db, userId, channelId);
    if (!canManageChannel(access.role))
      throw new AppError('FORBIDDEN', 'only the owner or an admin may change the channel');
    if (access.type === 'direct' && patch.name !== undefined)
      throw new AppError('FORBIDDEN', 'direct channels have no name');
    const changes: Record<string, unknown> = {};
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.description !== undefined) changes.description = patch.description;
    if (Object.keys(changes).length > 0)
      await this.db('channels')
        .where({ id: channelId })
        .update({ ...changes, updated_at: this.db.fn.now() });
    return this.load(channelId);
  }

  async remove(userId: string, channelId: string): Promise<void> {
    const access = await requireMember(this.db, userId, channelId);
    if (!canDeleteChannel(access.role))
      throw new AppError('FORBIDDEN', 'only the owner may delete the channel');
    const members = (await this.db('channel_members')
      .where({ channel_id: channelId })
      .select('user_id')) as { user_id: string }[];
    await this.db('channels').where({ id: channelId }).delete();
    for (const m of members)
      this.fanout.membershipChanged({ channelId, userId: m.user_id, joined: false });
  }

  /** Joining a public channel is idempotent: a member who joins again gets the channel back. */
  async join(userId: string, channelId: string): Promise<Channel> {
    const access = await channelAccess(this.db, userId, channelId);
    if (!canJoin(access.type))
      throw new AppError('FORBIDDEN', 'only public channels can be joined');
    if (!access.role) {
      const inserted = await this.db('channel_members')
        .insert({ channel_id: channelId, user_id: userId, role: 'member' })
        .onConflict(['channel_id', 'user_id'])
        .ignore()
        .returning('user_id');
      const channel = await this.load(channelId);
      if (inserted.length > 0)
        this.fanout.membershipChanged({
          channelId,
          userId,
          joined: true,
          lastSeq: channel.lastSeq,
        });
      return channel;
    }
    return this.load(channelId);
  }

  async leave(userId: string, channelId: string): Promise<void> {
    const access = await requireMember(this.db, userId, channelId);
    await this.removeMember(userId, channelId, userId, access.role, access.type);
  }

  async members(userId: string, channelId: string): Promise<Member[]> {
    const access = await channelAccess(this.db, userId, channelId);
    if (access.type !== 'public' && !access.role)
      throw new AppError('NOT_FOUND', 'channel not found');
    const rows = (await this.db('channel_members as m')
      .join('users as u', 'u.id', 'm.user_id')
      .where('m.channel_id', channelId)
      .orderBy('m.joined_at', 'asc')
      .select('m.user_id', 'u.username', 'u.display_name', 'm.role', 'm.joined_at')) as {
      user_id: string;
      username: string;
      display_name: string;
      role: MemberRole;
      joined_at: Date;
    }[];
    return rows.map(toMember);
  }

  async addMember(
    userId: string,
    channelId: string,
    targetId: string,
    role: MemberRole,
  ): Promise<Member> {
    const access = await requireMember(this.db, userId, channelId);
    if (membershipIsFixed(access.type))
      throw new AppError('FORBIDDEN', 'direct channels have fixed members');
    if (!canAddMember(access.role, role))
      throw new AppError('FORBIDDEN', `a ${access.role} may not add a ${role}`);
    await this.requireUsersExist([targetId]);
    try {
      await this.db('channel_members').insert({ channel_id: channelId, user_id: targetId, role });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'already a member');
      throw err;
    }
    const head = (await this.db('channels').where({ id: channelId }).first('last_seq')) as
      { last_seq: number } | undefined;
    this.fanout.membershipChanged({
      channelId,
      userId: targetId,
      joined: true,
      lastSeq: Number(head?.last_seq ?? 0),
    });
    const row = await this.db('channel_members as m')
      .join('users as u', 'u.id', 'm.user_id')
      .where({ 'm.channel_id': channelId, 'm.user_id': targetId })
      .first('m.user_id', 'u.username', 'u.display_name', 'm.role', 'm.joined_at');
    return toMember(row);
  }

  async removeMemberAs(userId: string, channelId: string, targetId: string): Promise<void> {
    const access = await requireMember(this.db, userId, channelId);
    await this.removeMember(userId, channelId, targetId, access.role, access.type);
  }

  private async removeMember(
    actorId: string,
    channelId: string,
    targetId: string,
    actorRole: MemberRole,
    type: ChannelType,
  ): Promise<void> {
    if (membershipIsFixed(type))
      throw new AppError('FORBIDDEN', 'direct channels have fixed members');
    const target = (await this.db('channel_members')
      .where({ channel_id: channelId, user_id: targetId })
      .first('role')) as { role: MemberRole } | undefined;
    if (!target) throw new AppError('NOT_FOUND', 'not a member of this channel');
    const self = actorId === targetId;
    if (!canRemoveMember(actorRole, target.role, self)) {
      throw new AppError(
        'FORBIDDEN',
        self
          ? 'the owner cannot leave; delete the channel instead'
          : 'not allowed to remove this member',
      );
    }
    const removed = await this.db('channel_members')
      .where({ channel_id: channelId, user_id: targetId })
      .delete();
    if (removed > 0) this.fanout.membershipChanged({ channelId, userId: targetId, joined: false });
  }
}

function toMember(row: {
  user_id: string;
  username: string;
  display_name: string;
  role: MemberRole;
  joined_at: Date;
}): Member {
  return {
    userId: row.user_id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    joinedAt: new Date(row.joined_at).toISOString(),
  };
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
