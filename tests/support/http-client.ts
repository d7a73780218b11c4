export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A small JSON client for the REST API under test. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    public token?: string,
  ) {}

  withToken(token: string): ApiClient {
    return new ApiClient(this.baseUrl, token);
  }

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    init: { raw?: string; headers?: Record<string, string> } = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (body !== undefined || init.raw !== undefined)
      headers['content-type'] ??= 'application/json';
    if (this.token) headers.authorization ??= `Bearer ${this.token}`;
    const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers,
      body: init.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // non-JSON bodies are returned as text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = any>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body);
  }
  patch<T = any>(path: string, body?: unknown) {
    return this.request<T>('PATCH', path, body);
  }
  put<T = any>(path: string, body?: unknown) {
    return this.request<T>('PUT', path, body);
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }
}

export interface TestUser {
  id: string;
  username: string;
  accessToken: string;
  refreshToken: string;
  api: ApiClient;
}

let counter = 0;

/** Registers a new user with a unique name and returns an authenticated client for them. */
export async function registerUser(anonymous: ApiClient, prefix = 'user'): Promise<TestUser> {
  counter += 1;
  const username = `${prefix}${counter}_${Math.random().toString(36).slice(2, 8)}`;
  const res = await anonymous.post('/auth/register', {
    username,
    email: `${username}@example.test`,
    password: 'correct horse battery',
  });
  if (res.status !== 201)
    throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    id: res.body.user.id,
    username,
    accessToken: res.body.accessToken,
    refreshToken: res.body.refreshToken,
    api: anonymous.withToken(res.body.accessToken),
  };
}
