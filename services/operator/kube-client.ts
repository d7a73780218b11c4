// The operator's only door to the API server: a small REST client over @kubernetes/client-node's
// authentication and transport (kubeconfig or in-cluster credentials, its TLS dispatcher) and
// its Watch. Paths are built from kinds.ts, so no discovery cache can go stale when an optional
// CRD is installed later.
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
  Watch,
} from '@kubernetes/client-node';

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** A network failure or timeout, as opposed to an answer from the API server. */
export function isUnreachable(err: unknown): boolean {
  return !(err instanceof KubeApiError) || err.status >= 500 || err.status === 429;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

export interface ObjectList<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export type Query = Record<string, string | number | boolean | undefined>;

const REQUEST_TIMEOUT_MS = 30_000;

export class KubeClient {
  private readonly http = new IsomorphicFetchHttpLibrary();

  constructor(readonly config: KubeConfig) {}

  /** KUBECONFIG (or ~/.kube/config) when present, else the pod's in-cluster credentials. */
  static fromEnvironment(): KubeClient {
    const kc = new KubeConfig();
    try {
      kc.loadFromDefault();
    } catch (err) {
      throw new Error(
        `KUBECONFIG${process.env.KUBECONFIG ? `=${process.env.KUBECONFIG}` : ''}: ${(err as Error).message}`,
      );
    }
    return new KubeClient(kc);
  }

  /** The namespace of the current context (in a pod: its own namespace). */
  get currentNamespace(): string {
    const ctx = this.config.getContextObject(this.config.getCurrentContext());
    return ctx?.namespace ?? 'default';
  }

  async request<T>(
    method: HttpMethod,
    path: string,
    options: { query?: Query; body?: unknown; contentType?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const ctx = new RequestContext(url.toString(), method);
    ctx.setHeaderParam('Accept', 'application/json');
    if (options.body !== undefined) {
      ctx.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(options.body));
    }
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    ctx.setSignal(options.signal ? AbortSignal.any([options.signal, timeout]) : timeout);
    await this.config.applySecurityAuthentication(ctx);
    const response = await this.http.send(ctx).toPromise();
    const text = await response.body.text();
    if (response.httpStatusCode >= 400) {
      let reason = 'Unknown';
      let message = text.slice(0, 2000);
      try {
        const status = JSON.parse(text) as { reason?: string; message?: string };
        reason = status.reason ?? reason;
        message = status.message ?? message;
      } catch {
        // not a Status object; keep the raw text
      }
      throw new KubeApiError(response.httpStatusCode, reason, `${method} ${path}: ${message}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The object, or undefined when it does not exist. */
  async get<T>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>(HttpMethod.GET, path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every page of a list. */
  async list<T>(path: string, query: Query = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let cont: string | undefined;
    do {
      const page = await this.request<ObjectList<T>>(HttpMethod.GET, path, {
        query: { ...query, limit: 500, continue: cont },
      });
      items.push(...page.items);
      resourceVersion = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, metadata: { resourceVersion } };
  }

  /** Server-side apply: the object as this field manager wants it. */
  apply<T>(path: string, object: unknown, fieldManager: string, force = true): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, path, {
      query: { fieldManager, force },
      body: object,
      contentType: 'application/apply-patch+yaml',
    });
  }

  create<T>(path: string, object: unknown): Promise<T> {
    return this.request<T>(HttpMethod.POST, path, { body: object });
  }

  replace<T>(path: string, object: unknown): Promise<T> {
    return this.request<T>(HttpMethod.PUT, path, { body: object });
  }

  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, path, {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  /** Deletes; true when it was there. Preconditions guard against deleting a newer object. */
  async delete(
    path: string,
    options: { propagationPolicy?: 'Background' | 'Foreground'; uid?: string } = {},
  ): Promise<boolean> {
    try {
      await this.request(HttpMethod.DELETE, path, {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
          ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
        },
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * One watch request; resolves when the server or an error ends it (the caller restarts).
   * `timeoutSeconds` keeps requests shorter than client-node's 30 s inactivity limit, so an
   * idle watch ends cleanly and is resumed from its resourceVersion instead of failing.
   */
  watch<T>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let controller: AbortController | undefined;
      const onAbort = () => controller?.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const finish = (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (err && !signal.aborted) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve();
      };
      new Watch(this.config)
        .watch(
          path,
          query,
          (type, object) => onEvent({ type: type as WatchEvent<T>['type'], object: object as T }),
          finish,
        )
        .then((c) => {
          controller = c;
          if (signal.aborted) c.abort();
        })
        .catch(finish);
    });
  }
}

export { HttpMethod };
