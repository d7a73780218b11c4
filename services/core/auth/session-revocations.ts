import type { RefreshTokenStore } from './refresh-tokens.js';

const TTL_MS = 5000;
const MAX_ENTRIES = 50_000;

/**
 * Access tokens are stateless JWTs; after logout or refresh-token reuse their session (refresh
 * family) is revoked in PostgreSQL. This cache bounds the cost of checking that to one query
 * per session every few seconds, so a revoked session stops working within TTL_MS.
 */
export class SessionRevocations {
  private readonly cache = new Map<string, { revoked: boolean; at: number }>();
  constructor(private readonly store: RefreshTokenStore) {}

  async isRevoked(sessionId: string): Promise<boolean> {
    const now = Date.now();
    const hit = this.cache.get(sessionId);
    if (hit && now - hit.at < TTL_MS) return hit.revoked;
    const revoked = await this.store.isFamilyRevoked(sessionId);
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(sessionId, { revoked, at: now });
    return revoked;
  }
}
