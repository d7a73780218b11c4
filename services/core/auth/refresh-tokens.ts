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
  | { error: string; revokedFamilyId?: string; userId?: never; issued?: never }
  | { error?: undefined; userId: string; issued: IssuedRefreshToken };

/** Told the id of every family (login session) revoked here, once the revocation committed. */
export type FamilyRevokedListener = (familyId: string) => void;

export class RefreshTokenStore {
  private readonly revokedListeners = new Set<FamilyRevokedListener>();

  constructor(
    private readonly db: Knex,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Calls `listener` after each logout or reuse detection revoked a family (the realtime layer
   * closes that session's sockets). Returns the function that removes it.
   */
  onFamilyRevoked(listener: FamilyRevokedListener): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  private announceRevoked(familyId: string): void {
    for (const listener of this.revokedListeners) listener(familyId);
  }

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
        return {
          error: 'refresh token reuse detected; the session was revoked',
          revokedFamilyId: record.family_id,
        };
      }
      if (state !== 'valid') return { error: `refresh token ${state}` };
      await trx('refresh_tokens').where({ id: record.id }).update({ rotated_at: trx.fn.now() });
      const issued = await this.issue(record.user_id, record.family_id, trx);
      return { userId: record.user_id, issued };
    });
    // The family revocation above must commit, so the error is raised after the transaction.
    if (outcome.error !== undefined) {
      if (outcome.revokedFamilyId) this.announceRevoked(outcome.revokedFamilyId);
      throw new AppError('UNAUTHENTICATED', outcome.error);
    }
    return { userId: outcome.userId, issued: outcome.issued };
  }

  /** Ends the session the token belongs to (logout); returns its family id if it was known. */
  async revokeFamilyOf(token: string): Promise<string | undefined> {
    const record = (await this.db('refresh_tokens')
      .where({ token_hash: hashRefreshToken(token) })
      .first('family_id')) as { family_id: string } | undefined;
    if (!record) return undefined;
    await this.db('refresh_tokens')
      .where({ family_id: record.family_id })
      .whereNull('revoked_at')
      .update({ revoked_at: this.db.fn.now() });
    // Announced even when it was revoked before: a repeated logout also closes sockets that an
    // earlier, lost announcement left open.
    this.announceRevoked(record.family_id);
    return record.family_id;
  }

  async isFamilyRevoked(familyId: string): Promise<boolean> {
    return (await this.revokedAmong([familyId])).size > 0;
  }

  /** Which of these families (sessions) are revoked: one query for the whole list. */
  async revokedAmong(familyIds: readonly string[]): Promise<Set<string>> {
    if (familyIds.length === 0) return new Set();
    const rows = (await this.db('refresh_tokens')
      .whereIn('family_id', familyIds)
      .whereNotNull('revoked_at')
      .distinct('family_id')) as { family_id: string }[];
    return new Set(rows.map((r) => r.family_id));
  }
}
