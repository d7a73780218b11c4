import { z } from 'zod';

export const ERROR_CODES = [
  'VALIDATION',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** An error whose code and message are safe to show to the caller. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
  get status(): number {
    return HTTP_STATUS[this.code];
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function errorBody(err: AppError): ErrorBody {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details === undefined ? {} : { details: err.details }),
    },
  };
}

export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export function validationError(error: z.ZodError, where?: string): AppError {
  const fields = error.issues.map((issue) => ({
    path: [...(where ? [where] : []), ...issue.path].join('.'),
    message: issue.message,
  }));
  return new AppError('VALIDATION', 'request failed validation', { fields });
}

/** Validates data from outside the process; failures become VALIDATION errors. */
export function parseInput<S extends z.ZodType>(schema: S, data: unknown, where?: string): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}

/** Maps anything thrown to a contract error; unknown errors become INTERNAL without detail. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDependencyDown(err)) return new AppError('UNAVAILABLE', 'a dependency is unavailable, retry later');
  return new AppError('INTERNAL', 'internal error');
}

const DEPENDENCY_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03', '53300']);

function isDependencyDown(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && DEPENDENCY_ERROR_CODES.has(code)) return true;
  const name = (err as { name?: unknown }).name;
  return name === 'KnexTimeoutError' || name === 'MaxRetriesPerRequestError';
}
