// Reads channels back through the REST API for the loss verifier: the whole history, paged by
// afterSeq, and the head, until two reads agree (the system is quiet).
import { z } from 'zod';
import type { StoredChannel, StoredMessage } from './check.js';

export class ReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadError';
  }
}

export interface ChannelSource {
  head(channelId: string): Promise<number>;
  readChannel(channelId: string): Promise<StoredChannel>;
}

const PAGE_SIZE = 200;
const MAX_ATTEMPTS = 8;

const channelBody = z.object({ id: z.string(), lastSeq: z.number().int().min(0) });
const pageBody = z.object({
  messages: z.array(
    z.object({
      id: z.string(),
      seq: z.number().int().positive(),
      clientMsgId: z.string(),
      sender: z.object({ id: z.string() }),
    }),
  ),
  hasMore: z.boolean(),
});
const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string().optional(),
    details: z.object({ retryAfterMs: z.number().optional() }).loose().optional(),
  }),
});
const sessionBody = z.object({ accessToken: z.string() });

export interface RestReaderOptions {
  fetch?: typeof fetch;
  /** Waits between retries of unavailable or rate-limited requests, for tests. */
  sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RestChannelReader implements ChannelSource {
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    options: RestReaderOptions = {},
  ) {
    this.fetch = options.fetch ?? fetch;
    this.sleep = options.sleep ?? sleepFor;
  }

  async head(channelId: string): Promise<number> {
    const body = await this.get(`/api/v1/channels/${channelId}`, channelBody, channelId);
    return body.lastSeq;
  }

  async readChannel(channelId: string): Promise<StoredChannel> {
    const head = await this.head(channelId);
    const messages: StoredMessage[] = [];
    let afterSeq = 0;
    for (;;) {
      const page = await this.get(
        `/api/v1/channels/${channelId}/messages?afterSeq=${afterSeq}&limit=${PAGE_SIZE}`,
        pageBody,
        channelId,
      );
      for (const m of page.messages)
        messages.push({ id: m.id, seq: m.seq, clientMsgId: m.clientMsgId, senderId: m.sender.id });
      const last = page.messages.at(-1)?.seq;
      if (!page.hasMore || last === undefined) break;
      if (last <= afterSeq)
        throw new ReadError(`channel ${channelId}: history did not advance past seq ${afterSeq}`);
      afterSeq = last;
    }
    return { channelId, head, messages };
  }

  private async get<T>(path: string, schema: z.ZodType<T>, channelId: string): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      let res: Response;
      try {
        res = await this.fetch(`${this.baseUrl}${path}`, {
          headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' },
        });
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS)
          throw new ReadError(`GET ${path}: ${(err as Error).message} (after ${attempt} attempts)`);
        await this.sleep(backoffMs(attempt));
        continue;
      }
      const text = await res.text();
      if (res.ok) {
        const parsed = schema.safeParse(safeJson(text));
        if (!parsed.success)
          throw new ReadError(`GET ${path}: unexpected response: ${text.slice(0, 200)}`);
        return parsed.data;
      }
      const error = errorBody.safeParse(safeJson(text));
      const code = error.success ? error.data.error.code : `HTTP ${res.status}`;
      if ((res.status === 429 || res.status >= 500) && attempt < MAX_ATTEMPTS) {
        const retryAfter = error.success ? error.data.error.details?.retryAfterMs : undefined;
        await this.sleep(retryAfter ?? backoffMs(attempt));
        continue;
      }
      if (res.status === 401)
        throw new ReadError(`the API refused the token (${code}): pass a fresh --token or --login`);
      if (res.status === 403 || res.status === 404)
        throw new ReadError(
          `channel ${channelId}: ${code}; the verifying user must be a member of every channel in the ledger`,
        );
      throw new ReadError(`GET ${path}: ${code} (HTTP ${res.status})`);
    }
  }
}

/** Logs in and returns an access token, for runs whose ledger names the channels' owner. */
export async function loginForToken(
  baseUrl: string,
  login: string,
  password: string,
  fetchImpl: typeof fetch = fetch,
): Promise<string> {
  let res: Response;
  try {
    res = await fetchImpl(`${baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login, password }),
    });
  } catch (err) {
    throw new ReadError(`cannot reach ${baseUrl}: ${(err as Error).message}`);
  }
  const text = await res.text();
  const session = sessionBody.safeParse(safeJson(text));
  if (!res.ok || !session.success) {
    const error = errorBody.safeParse(safeJson(text));
    throw new ReadError(
      `login as ${login} failed: ${error.success ? error.data.error.code : `HTTP ${res.status}`}`,
    );
  }
  return session.data.accessToken;
}

export interface QuietReadOptions {
  /** Gives up when the heads still move after this long. */
  timeoutMs: number;
  /** Channels read at once. */
  concurrency?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Reads every channel, then checks each head again; a channel whose head moved meanwhile is read
 * once more. A verdict from channels still being written to would count in-flight sends as lost.
 */
export async function readWhenQuiet(
  source: ChannelSource,
  channelIds: string[],
  options: QuietReadOptions,
): Promise<Map<string, StoredChannel>> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepFor;
  const deadline = now() + options.timeoutMs;
  const result = new Map<string, StoredChannel>();
  let pending = [...channelIds];
  for (let round = 0; ; round += 1) {
    const read = await mapLimited(pending, options.concurrency ?? 4, (id) =>
      source.readChannel(id),
    );
    for (const channel of read) result.set(channel.channelId, channel);
    const heads = await mapLimited(channelIds, options.concurrency ?? 4, (id) => source.head(id));
    pending = channelIds.filter((id, i) => heads[i] !== result.get(id)!.head);
    if (pending.length === 0) return result;
    if (now() >= deadline)
      throw new ReadError(
        `not quiet after ${options.timeoutMs} ms: the heads of ${pending.length} channel(s) still move (${pending.slice(0, 3).join(', ')})`,
      );
    await sleep(Math.min(1000, 100 * 2 ** round));
  }
}

async function mapLimited<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function backoffMs(attempt: number): number {
  return Math.min(5000, 200 * 2 ** (attempt - 1));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
