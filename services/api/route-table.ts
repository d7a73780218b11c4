import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { parseInput } from '../core/errors.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Caller {
  userId: string;
  username: string;
  sessionId: string;
}

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  caller: Caller;
  ip: string;
  res: Response;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  /** A page for people (answered as text/html instead of JSON). */
  html?: string;
}

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
> {
  method: HttpMethod;
  /** Express path under the API prefix, e.g. `/channels/:id`. */
  path: string;
  tag: string;
  summary: string;
  /** Routes are authenticated unless they say otherwise. */
  auth?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** Response schemas by status, for the OpenAPI document. */
  responses: Record<number, { description: string; schema?: Schema; html?: boolean }>;
  /** Contract error codes this route may answer, for the OpenAPI document. */
  errors: number[];
  handler: (ctx: RouteContext<Out<P>, Out<Q>, Out<B>>) => Promise<RouteResult>;
}

// Type-erased form stored in the table.
export type AnyRouteSpec = RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>;

/** Declares a route once: the same zod schemas validate requests and describe the API. */
export function defineRoute<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): AnyRouteSpec {
  return spec as unknown as AnyRouteSpec;
}

export interface Mounting {
  authenticate: RequestHandler;
  limitAnonymous: RequestHandler;
}

export function mountRoutes(router: Router, routes: AnyRouteSpec[], mounting: Mounting): void {
  for (const spec of routes) {
    const guards = spec.auth === false ? [mounting.limitAnonymous] : [mounting.authenticate];
    const handler = async (req: Request, res: Response, _next: NextFunction) => {
      const ctx = {
        params: spec.params ? parseInput(spec.params, req.params, 'params') : undefined,
        query: spec.query ? parseInput(spec.query, req.query, 'query') : undefined,
        body: spec.body ? parseInput(spec.body, req.body, 'body') : undefined,
        caller: res.locals.caller as Caller,
        ip: req.ip ?? 'unknown',
        res,
      };
      const result = await spec.handler(ctx as never);
      if (result.html !== undefined) res.status(result.status).type('html').send(result.html);
      else if (result.body === undefined) res.status(result.status).end();
      else res.status(result.status).json(result.body);
    };
    router[spec.method](spec.path, ...guards, handler);
  }
}
