import { createHmac, timingSafeEqual } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Signed one-click unsubscribe tokens (`<userId>.<signature>`) for the links in digest emails.
 * They do not expire: a link in an old email must still work (RFC 8058), and all it can do is
 * turn that user's emails off.
 */
export class UnsubscribeTokens {
  private constructor(private readonly key: Buffer) {}

  /**
   * The key is EMAIL_UNSUBSCRIBE_SECRET when set, otherwise derived from the JWT secret, so
   * the notifier (which signs) and the api (which verifies) agree without another secret to
   * distribute, and an unsubscribe token can never pass as an access token.
   */
  static fromSecrets(own: string | undefined, jwtSecret: string): UnsubscribeTokens {
    const key = createHmac('sha256', own ?? jwtSecret)
      .update(own ? 'signalink-email-unsubscribe-v1:own' : 'signalink-email-unsubscribe-v1:jwt')
      .digest();
    return new UnsubscribeTokens(key);
  }

  sign(userId: string): string {
    return `${userId}.${this.signature(userId).toString('base64url')}`;
  }

  /** The user the token was made for, or undefined for anything not signed with this key. */
  verify(token: string): string | undefined {
    const dot = token.indexOf('.');
    if (dot < 0) return undefined;
    const userId = token.slice(0, dot).toLowerCase();
    if (!UUID.test(userId)) return undefined;
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.signature(userId);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return userId;
  }

  private signature(userId: string): Buffer {
    return createHmac('sha256', this.key).update(`unsubscribe:email:${userId}`).digest();
  }
}
