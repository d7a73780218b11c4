import * as z from 'zod/mini';
import { SignalinkError } from './client-error.js';
import {
  messagePageSchema,
  messageSchema,
  wireErrorSchema,
  type Channel,
  type ChannelForMember,
  type Member,
  type Message,
  type PublicUser,
} from './protocol.js';

export interface Tokens {
  accessToken: string;
  refreshToken?: string;
}

/** Where the socket client gets its access token, and a fresh one when the server rejects it. */
export interface TokenSource {
  accessToken(): string | undefined;
  /** Obtains a new access token; rejects with UNAUTHENTICATED when the session is over. */
  refresh(): Promise<string>;
}

/** Keeps tokens across reloads (the web client uses localStorage); every tab or process reads the same. */
export interface TokenStore {
  load(): Tokens | undefined;
  save(tokens: Tokens | undefined): void;
}

export interface OwnUser extends PublicUser {
  email: string;
  isAdmin: boolean;
}
export interface Session {
  user: OwnUser;
  accessToken: string;
  refreshToken: string;
}
export interface PublicChannel extends Channel {
  isMember: boolean;
}
export interface MessagePage {
  messages: Message[];
  hasMore: boolean;
}

export interface SignalinkRestOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:3000` (the `/api/v1` prefix is added). */
  url: string;
  tokens?: Tokens;
  store?: TokenStore;
  /**
   * Serialises refreshes across tabs or processes sharing one store: refresh tokens rotate and a
   * reused one revokes the whole session, so only one holder may refresh at a time.
   */
  refreshLock?: <T>(fn: () => Promise<T>) => Promise<T>;
  fetch?: typeof fetch;
}

const sessionSchema = z.looseObject({
  user: z.looseObject({ id: z.string(), username: z.string() }),
  accessToken: z.string(),
  refreshToken: z.string(),
});
const tokenPairSchema = z.looseObject({ accessToken: z.string(), refreshToken: z.string() });

/**
 * The REST half of the SDK: typed calls for what a chat client needs, bearer tokens with one
 * transparent refresh-and-retry on 401, and the contract's errors as SignalinkError. Messages
 * are schema-checked because their seq drives ordering; other bodies are typed as the contract
 * describes them.
 */
export class SignalinkRest implements TokenSource {
  private tokens: Tokens | undefined;
  private refreshing: Promise<string> | undefined;
  /** The server's base URL, as given. */
  readonly baseUrl: string;
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: SignalinkRestOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.base = `${this.baseUrl}/api/v1`;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.tokens = options.tokens ?? options.store?.load();
  }

  accessToken(): string | undefined {
    return this.tokens?.accessToken;
  }

  get signedIn(): boolean {
    return this.tokens !== undefined;
  }

  async register(input: {
    username: string;
    email: string;
    password: string;
    displayName?: string;
  }): Promise<Session> {
    return this.startSession(await this.call('POST', '/auth/register', input, { auth: false }));
  }

  async login(login: string, password: string): Promise<Session> {
    return this.startSession(
      await this.call('POST', '/auth/login', { login, password }, { auth: false }),
    );
  }

  /** Trades the refresh token for new tokens; concurrent callers share one request. */
  refresh(): Promise<string> {
    this.refreshing ??= (async () => {
      const lock = this.options.refreshLock ?? ((fn) => fn());
      return lock(async () => {
        const used = this.tokens?.refreshToken;
        // Another tab may have refreshed while this one waited for the lock.
        const stored = this.options.store?.load();
        if (stored?.refreshToken && stored.refreshToken !== used) {
          this.setTokens(stored);
          return stored.accessToken;
        }
        if (!used) throw new SignalinkError('UNAUTHENTICATED', 'not signed in', undefined, 401);
        try {
          const pair = tokenPairSchema.parse(
            await this.call('POST', '/auth/refresh', { refreshToken: used }, { auth: false }),
          );
          this.setTokens({ accessToken: pair.accessToken, refreshToken: pair.refreshToken });
          return pair.accessToken;
        } catch (err) {
          if (err instanceof SignalinkError && err.code === 'UNAUTHENTICATED')
            this.setTokens(undefined);
          throw err;
        }
      });
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  async logout(): Promise<void> {
    const refreshToken = this.tokens?.refreshToken;
    this.setTokens(undefined);
    if (refreshToken)
      await this.call('POST', '/auth/logout', { refreshToken }, { auth: false }).catch(() => {});
  }

  me(): Promise<OwnUser> {
    return this.call('GET', '/users/me') as Promise<OwnUser>;
  }
  async searchUsers(q: string, limit = 20): Promise<PublicUser[]> {
    return ((await this.call('GET', `/users${query({ q, limit })}`)) as { users: PublicUser[] })
      .users;
  }
  user(id: string): Promise<PublicUser> {
    return this.call('GET', `/users/${encodeURIComponent(id)}`) as Promise<PublicUser>;
  }

  async channels(): Promise<ChannelForMember[]> {
    return ((await this.call('GET', '/channels')) as { channels: ChannelForMember[] }).channels;
  }
  /** Public channels anyone may join, with `isMember` (a Signalink extension of GET /channels). */
  async publicChannels(q?: string): Promise<PublicChannel[]> {
    return (
      (await this.call('GET', `/channels${query({ scope: 'public', q })}`)) as {
        channels: PublicChannel[];
      }
    ).channels;
  }
  channel(id: string): Promise<Channel> {
    return this.call('GET', `/channels/${encodeURIComponent(id)}`) as Promise<Channel>;
  }
  createChannel(input: {
    name?: string;
    type: Channel['type'];
    description?: string;
    memberIds?: string[];
  }): Promise<Channel> {
    return this.call('POST', '/channels', input) as Promise<Channel>;
  }
  joinChannel(id: string): Promise<Channel> {
    return this.call('POST', `/channels/${encodeURIComponent(id)}/join`) as Promise<Channel>;
  }
  async leaveChannel(id: string): Promise<void> {
    await this.call('POST', `/channels/${encodeURIComponent(id)}/leave`);
  }
  async members(channelId: string): Promise<Member[]> {
    return (
      (await this.call('GET', `/channels/${encodeURIComponent(channelId)}/members`)) as {
        members: Member[];
      }
    ).members;
  }
  addMember(channelId: string, userId: string): Promise<Member> {
    return this.call('POST', `/channels/${encodeURIComponent(channelId)}/members`, {
      userId,
    }) as Promise<Member>;
  }

  /** History, ascending by seq; without bounds the newest page. */
  async history(
    channelId: string,
    range: { beforeSeq?: number; afterSeq?: number; limit?: number } = {},
  ): Promise<MessagePage> {
    return messagePageSchema.parse(
      await this.call('GET', `/channels/${encodeURIComponent(channelId)}/messages${query(range)}`),
    );
  }
  async searchMessages(q: string, channelId?: string, limit = 20): Promise<Message[]> {
    const body = await this.call('GET', `/search${query({ q, channelId, limit })}`);
    return z.looseObject({ messages: z.array(messageSchema) }).parse(body).messages;
  }
  async markRead(channelId: string, seq: number): Promise<void> {
    await this.call('POST', `/channels/${encodeURIComponent(channelId)}/read`, { seq });
  }

  /** Any other endpoint under /api/v1; errors as SignalinkError, refresh-and-retry on 401. */
  async call(method: string, path: string, body?: unknown, { auth = true } = {}): Promise<unknown> {
    const first = await this.send(method, path, body, auth);
    if (first.status === 401 && auth && this.tokens?.refreshToken) {
      await this.refresh();
      return this.parse(await this.send(method, path, body, auth));
    }
    return this.parse(first);
  }

  private send(method: string, path: string, body: unknown, auth: boolean): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth && this.tokens) headers.authorization = `Bearer ${this.tokens.accessToken}`;
    return this.fetchImpl(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((err: unknown) => {
      throw new SignalinkError(
        'UNAVAILABLE',
        `server unreachable: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
  }

  private async parse(res: Response): Promise<unknown> {
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) return json;
    const error = wireErrorSchema.safeParse((json as { error?: unknown } | undefined)?.error);
    if (error.success) throw SignalinkError.from(error.data, res.status);
    throw new SignalinkError(
      res.status >= 500 ? 'UNAVAILABLE' : 'INTERNAL',
      `HTTP ${res.status}`,
      undefined,
      res.status,
    );
  }

  private startSession(body: unknown): Session {
    const session = sessionSchema.parse(body) as unknown as Session;
    this.setTokens({ accessToken: session.accessToken, refreshToken: session.refreshToken });
    return session;
  }

  private setTokens(tokens: Tokens | undefined): void {
    this.tokens = tokens;
    this.options.store?.save(tokens);
  }
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
