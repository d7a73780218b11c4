import type { Knex } from 'knex';
import type { AccessTokens } from '../core/auth/access-tokens.js';
import { burnPasswordCheck, hashPassword, verifyPassword } from '../core/auth/passwords.js';
import type { RefreshTokenStore } from '../core/auth/refresh-tokens.js';
import { isPgError, UNIQUE_VIOLATION } from '../core/database.js';
import { AppError } from '../core/errors.js';
import type { RateLimits } from '../core/rate-limits.js';
import { escapeLike } from './channels.js';
import { toPublicUser, type OwnUser, type PublicUser, type UserRow } from './model.js';

export interface Session {
  user: OwnUser;
  accessToken: string;
  refreshToken: string;
}

export interface RegisterInput {
  username: string;
  email: string;
  password: string;
  displayName?: string | undefined;
}

export interface ProfilePatch {
  displayName?: string | undefined;
  avatarUrl?: string | null | undefined;
  statusMessage?: string | null | undefined;
}

export class AccountService {
  constructor(
    private readonly db: Knex,
    private readonly accessTokens: AccessTokens,
    private readonly refreshTokens: RefreshTokenStore,
    private readonly limits: RateLimits,
    private readonly adminUsernames: ReadonlySet<string>,
  ) {}

  isAdmin(username: string): boolean {
    return this.adminUsernames.has(username.toLowerCase());
  }

  private own(row: UserRow): OwnUser {
    return { ...toPublicUser(row), email: row.email, isAdmin: this.isAdmin(row.username) };
  }

  private async startSession(row: UserRow): Promise<Session> {
    const refresh = await this.refreshTokens.issue(row.id);
    const accessToken = await this.accessTokens.issue({
      userId: row.id,
      username: row.username,
      sessionId: refresh.familyId,
    });
    return { user: this.own(row), accessToken, refreshToken: refresh.token };
  }

  async register(input: RegisterInput, ip: string): Promise<Session> {
    await this.limits.consume('register', ip);
    const taken = (await this.db('users')
      .whereRaw('lower(username) = lower(?)', [input.username])
      .orWhereRaw('lower(email) = lower(?)', [input.email])
      .select('username', 'email')) as { username: string; email: string }[];
    if (taken.length > 0) throw conflictFor(input, taken);
    const passwordHash = await hashPassword(input.password);
    try {
      const [row] = (await this.db('users')
        .insert({
          username: input.username,
          email: input.email,
          password_hash: passwordHash,
          display_name: input.displayName ?? input.username,
        })
        .returning('*')) as UserRow[];
      return this.startSession(row!);
    } catch (err) {
      // Lost a race with a concurrent registration of the same name or address.
      if (isPgError(err, UNIQUE_VIOLATION))
        throw new AppError('CONFLICT', 'username or email already taken');
      throw err;
    }
  }

  async login(login: string, password: string, ip: string): Promise<Session> {
    const row = (await this.db('users')
      .whereRaw('lower(username) = lower(?)', [login])
      .orWhereRaw('lower(email) = lower(?)', [login])
      .first()) as UserRow | undefined;
    // Keyed by the account when there is one, so its username and its email share one budget.
    const limitKey = `${ip}:${row ? row.id : login.toLowerCase()}`;
    await this.limits.consume('login', limitKey);
    if (!row) {
      await burnPasswordCheck(password);
      throw new AppError('UNAUTHENTICATED', 'wrong login or password');
    }
    if (!(await verifyPassword(row.password_hash, password)))
      throw new AppError('UNAUTHENTICATED', 'wrong login or password');
    await this.limits.reset('login', limitKey);
    return this.startSession(row);
  }

  async refresh(refreshToken: string): Promise<{ accessToken: string; refreshToken: string }> {
    const { userId, issued } = await this.refreshTokens.rotate(refreshToken);
    const row = (await this.db('users').where({ id: userId }).first('username')) as
      { username: string } | undefined;
    if (!row) throw new AppError('UNAUTHENTICATED', 'user no longer exists');
    const accessToken = await this.accessTokens.issue({
      userId,
      username: row.username,
      sessionId: issued.familyId,
    });
    return { accessToken, refreshToken: issued.token };
  }

  async logout(refreshToken: string): Promise<void> {
    await this.refreshTokens.revokeFamilyOf(refreshToken);
  }

  async me(userId: string): Promise<OwnUser> {
    const row = (await this.db('users').where({ id: userId }).first()) as UserRow | undefined;
    if (!row) throw new AppError('UNAUTHENTICATED', 'user no longer exists');
    return this.own(row);
  }

  async updateMe(userId: string, patch: ProfilePatch): Promise<OwnUser> {
    const changes: Record<string, unknown> = {};
    if (patch.displayName !== undefined) changes.display_name = patch.displayName;
    if (patch.avatarUrl !== undefined) changes.avatar_url = patch.avatarUrl;
    if (patch.statusMessage !== undefined) changes.status_message = patch.statusMessage;
    if (Object.keys(changes).length > 0)
      await this.db('users')
        .where({ id: userId })
        .update({ ...changes, updated_at: this.db.fn.now() });
    return this.me(userId);
  }

  async get(userId: string): Promise<PublicUser> {
    const row = (await this.db('users').where({ id: userId }).first()) as UserRow | undefined;
    if (!row) throw new AppError('NOT_FOUND', 'user not found');
    return toPublicUser(row);
  }

  /** Prefix search on username and display name, exact username matches first. */
  async search(query: string | undefined, limit: number): Promise<PublicUser[]> {
    const q = this.db('users').limit(limit);
    if (query) {
      const prefix = `${escapeLike(query.toLowerCase())}%`;
      q.where((w) =>
        w
          .whereRaw('lower(username) like ?', [prefix])
          .orWhereRaw('lower(display_name) like ?', [prefix]),
      );
      q.orderByRaw('(lower(username) = ?) desc, lower(username) asc', [query.toLowerCase()]);
    } else {
      q.orderByRaw('lower(username) asc');
    }
    return ((await q) as UserRow[]).map(toPublicUser);
  }
}

function conflictFor(input: RegisterInput, taken: { username: string; email: string }[]): AppError {
  const fields: { path: string; message: string }[] = [];
  if (taken.some((t) => t.username.toLowerCase() === input.username.toLowerCase()))
    fields.push({ path: 'username', message: 'already taken' });
  if (taken.some((t) => t.email.toLowerCase() === input.email.toLowerCase()))
    fields.push({ path: 'email', message: 'already registered' });
  return new AppError('CONFLICT', 'username or email already taken', { fields });
}
