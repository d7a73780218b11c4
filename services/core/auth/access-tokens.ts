import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../errors.js';

export interface AccessClaims {
  userId: string;
  username: string;
  /** Refresh-token family (the login session) this access token was issued for. */
  sessionId: string;
}

const ISSUER = 'signalink';
const AUDIENCE = 'signalink';

export class AccessTokens {
  private readonly key: Uint8Array;
  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(claims: AccessClaims): Promise<string> {
    return new SignJWT({ username: claims.username, sid: claims.sessionId, typ: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** Throws UNAUTHENTICATED for anything but a valid, unexpired access token. */
  async verify(token: unknown): Promise<AccessClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      throw new AppError('UNAUTHENTICATED', 'missing or malformed access token');
    }
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
      });
      if (
        payload.typ !== 'access' ||
        typeof payload.sub !== 'string' ||
        typeof payload.username !== 'string' ||
        typeof payload.sid !== 'string'
      ) {
        throw new AppError('UNAUTHENTICATED', 'not an access token');
      }
      return { userId: payload.sub, username: payload.username, sessionId: payload.sid };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof joseErrors.JWTExpired)
        throw new AppError('UNAUTHENTICATED', 'access token expired');
      throw new AppError('UNAUTHENTICATED', 'invalid access token');
    }
  }
}
