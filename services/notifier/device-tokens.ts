import type { Knex } from 'knex';
import type { DeviceTokenStore } from './transports/fcm.js';

/** Push tokens from the devices table (registered through POST /devices). */
export class PgDeviceTokens implements DeviceTokenStore {
  constructor(private readonly db: Knex) {}

  async tokensOf(userId: string): Promise<string[]> {
    const rows = (await this.db('devices')
      .where({ user_id: userId })
      .orderBy('last_seen_at', 'desc')
      .select('token')) as { token: string }[];
    return rows.map((r) => r.token);
  }

  async remove(userId: string, tokens: string[]): Promise<void> {
    await this.db('devices').where({ user_id: userId }).whereIn('token', tokens).delete();
  }
}
