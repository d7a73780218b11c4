import cors from 'cors';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import type { AccessTokens } from '../core/auth/access-tokens.js';
import type { RefreshTokenStore } from '../core/auth/refresh-tokens.js';
import { AppError, errorBody, toAppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RateLimits } from '../core/rate-limits.js';
import { buildOpenApi } from './openapi.js';
import { mountRoutes, type AnyRouteSpec, type Caller } from './route-table.js';
import { SessionRevocations } from '../core/auth/session-revocations.js';

export const API_PREFIX = '/api/v1';

export interface RestApiDeps {
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokenStore;
  limits: RateLimits;
  log: Logger;
  corsOrigins: string[];
  bodyLimitBytes: number;
}

export interface RestApi {
  /** Registers route tables; call before mountOn. */
  add(routes: AnyRouteSpec[]): void;
  /** Mounts /api/v1, /api/openapi.json and /api/docs with everything registered so far. */
  mountOn(app: Express): void;
}

/**
 * The REST surface shared by every role that serves HTTP routes: bearer authentication with
 * session revocation, per-user and per-IP rate limits, JSON parsing with a size limit, and
 * the contract's error format for everything that goes wrong.
 */
export function createRestApi(deps: RestApiDeps): RestApi {
  const routes: AnyRouteSpec[] = [];
  const revocations = new SessionRevocations(deps.refreshTokens);

  const authenticate: RequestHandler = async (req, res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const claims = await deps.accessTokens.verify(match?.[1]);
    if (await revocations.isRevoked(claims.sessionId))
      throw new AppError('UNAUTHENTICATED', 'session was revoked');
    await deps.limits.consume('api', `user:${claims.userId}`);
    res.locals.caller = claims satisfies Caller;
    next();
  };
  const limitAnonymous: RequestHandler = async (req, _res, next) => {
    await deps.limits.consume('api', `ip:${req.ip ?? 'unknown'}`);
    next();
  };

  return {
    add: (more) => void routes.push(...more),
    mountOn: (app) => {
      if (routes.length === 0) return;
      const openapi = buildOpenApi(routes, API_PREFIX);
      const api = express.Router();
      api.use(
        cors(
          deps.corsOrigins.length > 0
            ? { origin: deps.corsOrigins, maxAge: 600 }
            : { origin: false },
        ),
      );
      const parseJson = express.json({
        limit: deps.bodyLimitBytes,
        strict: true,
        type: ['application/json', 'application/*+json'],
      });
      api.use((req, res, next) =>
        parseJson(req, res, (err?: unknown) =>
          next(err === undefined ? undefined : bodyError(err)),
        ),
      );
      mountRoutes(api, routes, { authenticate, limitAnonymous });
      api.use((_req, _res, next) => next(new AppError('NOT_FOUND', 'no such endpoint')));
      app.get('/api/openapi.json', (_req, res) => {
        res.json(openapi);
      });
      // The docs UI needs inline scripts and styles of its own; the API keeps helmet's strict defaults.
      app.use(
        '/api/docs',
        helmet({ contentSecurityPolicy: false }),
        swaggerUi.serve,
        swaggerUi.setup(openapi),
      );
      app.use(API_PREFIX, helmet(), api);
      app.use(API_PREFIX, apiErrorHandler(deps.log));
    },
  };
}

function sendError(res: express.Response, err: AppError): void {
  const retryAfterMs = (err.details as { retryAfterMs?: number } | undefined)?.retryAfterMs;
  if (err.code === 'RATE_LIMITED' && retryAfterMs)
    res.set('Retry-After', String(Math.ceil(retryAfterMs / 1000)));
  res.status(err.status).json(errorBody(err));
}

const BODY_PROBLEMS: Record<string, string> = {
  'entity.parse.failed': 'malformed JSON',
  'charset.unsupported': 'unsupported charset',
  'encoding.unsupported': 'unsupported content encoding',
};

/**
 * Whatever goes wrong while reading a request body is the client's doing (bad JSON, a charset
 * or content encoding it cannot be decoded with, a gzip header on plain bytes), except a
 * body over the limit, which has its own code.
 */
export function bodyError(err: unknown): AppError {
  const e = err as { type?: unknown; status?: unknown };
  if (e.type === 'entity.too.large')
    return new AppError('PAYLOAD_TOO_LARGE', 'request body too large');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    const problem =
      (typeof e.type === 'string' && BODY_PROBLEMS[e.type]) || 'the body could not be decoded';
    return new AppError('VALIDATION', `malformed request body: ${problem}`, {
      fields: [{ path: 'body', message: problem }],
    });
  }
  return toAppError(err);
}

export function apiErrorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    let appError = toAppError(err);
    // The router rejects path parameters with broken percent-encoding as a 400 URIError.
    if (appError.code === 'INTERNAL' && err instanceof URIError) {
      appError = new AppError('VALIDATION', 'malformed path parameter', {
        fields: [{ path: 'params', message: 'invalid percent-encoding' }],
      });
    }
    if (appError.code === 'INTERNAL' || appError.code === 'UNAVAILABLE') {
      log.error({ err, method: req.method, path: req.path }, 'request failed');
    }
    sendError(res, appError);
  };
}
