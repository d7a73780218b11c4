import type { Knex } from 'knex';
import { AppError } from '../core/errors.js';

export type DevicePlatform = 'android' | 'ios' | 'web';

export interface Device {
  token: string;
  platform: DevicePlatform;
  createdAt: string;
}

export type EmailLevel = 'off' | 'mentions' | 'all';

export interface NotificationPreferences {
  muteAll: boolean;
  channels: Record<string, 'all' | 'mentions' | 'none'>;
  /** Email digests (an extension): none, only mentions and direct messages, or everything. */
  email: EmailLevel;
}

export class DeviceService {
  constructor(private readonly db: Knex) {}

  /** Registering a token again (or from another account, after a phone changes hands) moves it to the caller. */
  async register(userId: string, token: string, platform: DevicePlatform): Promise<Device> {
    const [row] = (await this.db('devices')
      .insert({ token, user_id: userId, platform })
      .onConflict('token')
      .merge({ user_id: userId, platform, last_seen_at: this.db.fn.now() })
      .returning(['token', 'platform', 'created_at'])) as {
      token: string;
      platform: DevicePlatform;
      created_at: Date;
    }[];
    return { token: row!.token, platform: row!.platform, createdAt: row!.created_at.toISOString() };
  }

  async unregister(userId: string, token: string): Promise<void> {
    const removed = await this.db('devices').where({ token, user_id: userId }).delete();
    if (removed === 0) throw new AppError('NOT_FOUND', 'device not found');
  }

  async list(userId: string): Promise<Device[]> {
    const rows = (await this.db('devices')
      .where({ user_id: userId })
      .orderBy('created_at')
      .select('token', 'platform', 'created_at')) as {
      token: string;
      platform: DevicePlatform;
      created_at: Date;
    }[];
    return rows.map((r) => ({
      token: r.token,
      platform: r.platform,
      createdAt: r.created_at.toISOString(),
    }));
  }

  async preferences(userId: string): Promise<NotificationPreferences> {
    const row = (await this.db('notification_preferences').where({ user_id: userId }).first()) as
      | {
          mute_all: boolean;
          channels: Record<string, 'all' | 'mentions' | 'none'>;
          email: EmailLevel;
        }
      | undefined;
    return {
      muteAll: row?.mute_all ?? false,
      channels: row?.channels ?? {},
      email: row?.email ?? 'all',
    };
  }

  /**
   * Replaces the given fields: `muteAll` and `email` when present, and each listed channel's level
   * (channels not listed keep theirs). Channels must be ones the caller belongs to.
   */
  async updatePreferences(
    userId: string,
    patch: Partial<NotificationPreferences>,
  ): Promise<NotificationPreferences> {
    const channelIds = Object.keys(patch.channels ?? {});
    if (channelIds.length > 0) {
      const rows = (await this.db('channel_members')
        .where({ user_id: userId })
        .whereIn('channel_id', channelIds)
        .select('channel_id')) as { channel_id: string }[];
      const mine = new Set(rows.map((r) => r.channel_id));
      const unknown = channelIds.filter((id) => !mine.has(id));
      if (unknown.length > 0)
        throw new AppError('NOT_FOUND', 'channel not found', { channelIds: unknown });
    }
    await this.db.transaction(async (trx) => {
      const current = (await trx('notification_preferences')
        .where({ user_id: userId })
        .forUpdate()
        .first()) as
        { mute_all: boolean; channels: Record<string, string>; email: EmailLevel } | undefined;
      const next = {
        user_id: userId,
        mute_all: patch.muteAll ?? current?.mute_all ?? false,
        channels: JSON.stringify({ ...(current?.channels ?? {}), ...(patch.channels ?? {}) }),
        email: patch.email ?? current?.email ?? 'all',
        updated_at: trx.fn.now(),
      };
      await trx('notification_preferences').insert(next).onConflict('user_id').merge();
    });
    return this.preferences(userId);
  }

  /** One-click unsubscribe: turns the user's email digests off. False for an unknown user. */
  async turnEmailOff(userId: string): Promise<boolean> {
    const user = await this.db('users').where({ id: userId }).first('id');
    if (!user) return false;
    await this.db('notification_preferences')
      .insert({ user_id: userId, email: 'off', updated_at: this.db.fn.now() })
      .onConflict('user_id')
      .merge(['email', 'updated_at']);
    return true;
  }
}
