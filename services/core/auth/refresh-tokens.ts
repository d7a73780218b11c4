import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { AppError } from '../errors.js';

export interface RefreshTokenRecord {
  id: string;
  user_id: string;
  family_id: string;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

export type RefreshTokenState = 'valid' | 'reused' | 'revoked' | 'expired';

/** Pure decision: what presenting this stored token means. */
export function classifyRefreshToken(record: RefreshTokenRecord, now: Date): RefreshTokenState {
  if (record.revoked_at) return 'revoked';
  // A token that was already exchanged is being replayed: the family is compromised.
  if (record.rotated_at) return 'reused';
  if (record.expires_at.getTime() <= now.getTime()) return 'expired';
  return 'valid';
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface IssuedRefreshToken {
  token: string;
  familyId: string;
}

type RotationOutcome =
  | { error: string; userId?: never; issued?: never }
  | { error?: undefined; userId: string; issued: IssuedRefreshToken };

export class RefreshTokenStore {
  constructor(
    private readonly db: Knex,
    private readonly ttlSeconds: number,
  ) {}

  async issue(
    userId: string,
    familyId: string = randomUUID(),
    trx: Knex = this.db,
  ): Promise<IssuedRefreshToken> {
    const token = randomBytes(32).toString('base64url');
    await trx('refresh_tokens').insert({
      user_id: userId,
      family_id: familyId,
      token_hash: hashRefreshToken(token),
      expires_at: new Date(Date.now() + this.ttlSeconds * 1000),
    });
    return { token, familyId };
  }

  /**
   * Exchanges a refresh token for a new one in the same family. Presenting an already rotated
   * token revokes the whole family, so a stolen token stops working for thief and owner alike.
   */
  async rotate(token: string): Promise<{ userId: string; issued: IssuedRefreshToken }> {
    const outcome = await this.db.transaction(async (trx): Promise<RotationOutcome> => {
      const record = (await trx('refresh_tokens')
        .where({ token_hash: hashRefreshToken(token) })
        .forUpdate()
        .first()) as RefreshTokenRecord | undefined;
      if (!record) return { error: 'refresh token not recognised' };
      const state = classifyRefreshToken(record, new Date());
      if (state === 'reused') {
        await trx('refresh_tokens')
          .where({ family_id: record.family_id })
          .whereNull('revoked_at')
          .update({ revoked_at: trx.fn.now() });
        return { error: 'refresh token reuse detected; the session was revoked' };
      }
      if (state !== 'valid') return { error: `refresh token ${state}` };
      await trx('refresh_tokens').where({ id: record.id }).update({ rotated_at: trx.fn.now() });
      const issued = await this.issue(record.user_id, record.family_id, trx);
      return { userId: record.user_id, issued };
    });
    // The family revocation above must commit, so the error is raised after the transaction.
    if (outcome.error !== undefined) throw new AppError('UNAUTHENTICATED', outcome.error);
    return { userId: outcome.userId, issued: outcome.issued };
  }

  async revokeFamilyOf(token: string): Promise<void> {
    const record = (await this.db('refresh_tokens')
      .where({ token_hash: hashRefreshToken(token) })
      .first('family_id')) as { family_id: string } | undefined;
    if (!record) return;
    await this.db('refresh_tokens')
      .where({ family_id: record.family_id })
      .whereNull('revoked_at')
      .update({ revoked_at: this.db.fn.now() });
  }

  async isFamilyRevoked(familyId: string): Promise<boolean> {
    const row = await this.db('refresh_tokens')
      .where({ family_id: familyId })
      .whereNotNull('revoked_at')
      .first('id');
    return row !== undefined;
  }
}
