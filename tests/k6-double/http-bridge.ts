// The runner's side of the VUs' synchronous HTTP: performs the requests with fetch and wakes
// the blocked VU.
import type { MessagePort } from 'node:worker_threads';
import type { HttpAnswer, HttpCall, HttpRequest, HttpResult } from './protocol.js';

/** Header names as k6 presents them (Go's canonical form: Content-Type, Retry-After). */
function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

async function perform(req: HttpRequest): Promise<HttpResult> {
  const started = performance.now();
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== null ? { body: req.body } : {}),
      redirect: 'follow',
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    const body = await res.text();
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      headers[canonical(key)] = value;
    });
    return {
      status: res.status,
      body,
      headers,
      error: '',
      errorCode: res.status >= 400 ? 1000 + res.status : 0,
      durationMs: performance.now() - started,
      url: res.url || req.url,
    };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const timedOut = e.name === 'TimeoutError';
    return {
      status: 0,
      body: '',
      headers: {},
      error: timedOut
        ? 'request timeout'
        : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}`,
      errorCode: timedOut ? 1050 : 1000,
      durationMs: performance.now() - started,
      url: req.url,
    };
  }
}

export function serveHttp(port: MessagePort, signal: SharedArrayBuffer): void {
  const flag = new Int32Array(signal);
  port.on('message', (call: HttpCall) => {
    void Promise.all(call.requests.map(perform)).then((results) => {
      const answer: HttpAnswer = { id: call.id, results };
      port.postMessage(answer);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    });
  });
}
