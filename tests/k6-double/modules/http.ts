// 'k6/http' in the double: synchronous requests (the VU blocks, as in k6), http.batch, and
// expectedStatuses for the http_req_failed metric. Bodies are text.
import type { HttpRequest, HttpResult } from '../protocol.js';
import { parseDurationMs } from '../durations.js';
import { runtime } from '../vu-runtime.js';

type Status = number | { min: number; max: number };
class ExpectedStatuses {
  constructor(readonly statuses: Status[]) {}
  matches(status: number): boolean {
    return this.statuses.some((s) =>
      typeof s === 'number' ? s === status : status >= s.min && status <= s.max,
    );
  }
}
const DEFAULT_EXPECTED = new ExpectedStatuses([{ min: 200, max: 399 }]);

interface Params {
  headers?: Record<string, string>;
  tags?: Record<string, string>;
  timeout?: string | number;
  responseCallback?: ExpectedStatuses;
}

export function expectedStatuses(...statuses: Status[]): ExpectedStatuses {
  for (const s of statuses)
    if (!(typeof s === 'number' || (s && typeof s.min === 'number' && typeof s.max === 'number')))
      throw new Error('expectedStatuses takes status codes and {min, max} ranges');
  return new ExpectedStatuses(statuses);
}

const SUPPORTED_PARAMS = new Set(['headers', 'tags', 'timeout', 'responseCallback']);

function toRequest(
  method: string,
  url: string,
  body: unknown,
  params: Params | undefined,
): HttpRequest {
  for (const key of Object.keys(params ?? {}))
    if (!SUPPORTED_PARAMS.has(key))
      throw new Error(`k6 double: http params.${key} is not supported`);
  if (body !== null && body !== undefined && typeof body !== 'string')
    throw new Error('k6 double: only string request bodies are supported');
  return {
    method: method.toUpperCase(),
    url,
    headers: params?.headers ?? {},
    body: (body as string | null | undefined) ?? null,
    timeoutMs:
      params?.timeout === undefined ? 60_000 : parseDurationMs(params.timeout, 'http timeout'),
  };
}

class Response {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly error: string;
  readonly error_code: number;
  readonly url: string;
  readonly timings: { duration: number; waiting: number; sending: number; receiving: number };
  readonly request: { method: string; url: string };
  private parsed: unknown;

  constructor(req: HttpRequest, res: HttpResult) {
    this.status = res.status;
    this.body = res.body;
    this.headers = res.headers;
    this.error = res.error;
    this.error_code = res.errorCode;
    this.url = res.url;
    this.timings = { duration: res.durationMs, waiting: res.durationMs, sending: 0, receiving: 0 };
    this.request = { method: req.method, url: req.url };
  }

  json(selector?: string): unknown {
    if (selector !== undefined) throw new Error('k6 double: json(selector) is not supported');
    if (this.parsed === undefined) this.parsed = JSON.parse(this.body);
    return this.parsed;
  }
}

function record(req: HttpRequest, res: HttpResult, params: Params | undefined): Response {
  const rt = runtime();
  rt.sample('http_reqs', 'counter', 1);
  rt.sample('http_req_duration', 'trend', res.durationMs, true);
  const expected = params?.responseCallback ?? DEFAULT_EXPECTED;
  rt.sample('http_req_failed', 'rate', res.status !== 0 && expected.matches(res.status) ? 0 : 1);
  return new Response(req, res);
}

export function request(method: string, url: string, body?: unknown, params?: Params): Response {
  const req = toRequest(method, url, body, params);
  const [res] = runtime().httpSync([req]);
  return record(req, res!, params);
}

export function get(url: string, params?: Params): Response {
  return request('GET', url, null, params);
}
export function post(url: string, body?: unknown, params?: Params): Response {
  return request('POST', url, body, params);
}
export function put(url: string, body?: unknown, params?: Params): Response {
  return request('PUT', url, body, params);
}
export function del(url: string, body?: unknown, params?: Params): Response {
  return request('DELETE', url, body, params);
}

type BatchItem = { method: string; url: string; body?: unknown; params?: Params };

export function batch(items: BatchItem[]): Response[] {
  if (!Array.isArray(items))
    throw new Error('k6 double: http.batch takes an array of request objects');
  const reqs = items.map((i) => toRequest(i.method, i.url, i.body, i.params));
  const results = runtime().httpSync(reqs);
  return results.map((res, n) => record(reqs[n]!, res, items[n]!.params));
}

export default { request, get, post, put, del, batch, expectedStatuses };
