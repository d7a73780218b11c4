const TTL_MS = 5000;
const MAX_ENTRIES = 50_000;

/** Where revocations are stored (RefreshTokenStore). */
export interface RevocationSource {
  isFamilyRevoked(familyId: string): Promise<boolean>;
}

/**
 * Access tokens are stateless JWTs; after logout or refresh-token reuse their session (refresh
 * family) is revoked in PostgreSQL. This cache bounds the cost of checking that to one query
 * per session every few seconds, so a revoked session stops working within TTL_MS. A session
 * this process learned was revoked (markRevoked) is refused at once, and for good: a revoked
 * family never comes back.
 */
export class SessionRevocations {
  private readonly cache = new Map<string, { revoked: boolean; at: number }>();
  constructor(
    private readonly store: RevocationSource,
    private readonly now: () => number = Date.now,
  ) {}

  async isRevoked(sessionId: string): Promise<boolean> {
    const now = this.now();
    const hit = this.cache.get(sessionId);
    if (hit && (hit.revoked || now - hit.at < TTL_MS)) return hit.revoked;
    const revoked = await this.store.isFamilyRevoked(sessionId);
    this.remember(sessionId, revoked, now);
    return revoked;
  }

  /** What this process already knows, without asking the store (false: not known revoked). */
  knownRevoked(sessionId: string): boolean {
    return this.cache.get(sessionId)?.revoked === true;
  }

  /** Records a revocation announced by whoever made it, ahead of the store being asked again. */
  markRevoked(sessionId: string): void {
    this.remember(sessionId, true, this.now());
  }

  private remember(sessionId: string, revoked: boolean, at: number): void {
    if (this.cache.size >= MAX_ENTRIES && !this.cache.has(sessionId)) this.cache.clear();
    this.cache.set(sessionId, { revoked, at });
  }
}
