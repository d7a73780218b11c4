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

/**
 * Validates data from outside the process; failures become VALIDATION errors. Strings may not
 * contain U+0000 anywhere, because PostgreSQL text cannot store it and would fail the query.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  data: unknown,
  where?: string,
): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw validationError(result.error, where);
  const nulPaths = pathsWithNulCharacter(result.data, where);
  if (nulPaths.length > 0) {
    throw new AppError('VALIDATION', 'request failed validation', {
      fields: nulPaths.map((path) => ({ path, message: 'must not contain the NUL character' })),
    });
  }
  return result.data;
}

interface WalkNode {
  value: unknown;
  key: string | number | undefined;
  parent: WalkNode | undefined;
}

const MAX_REPORTED_PATHS = 10;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Paths of strings (or object keys) containing U+0000. Iterative with parent links, so schemas
 * that accept arbitrary JSON cannot make it overflow the stack or copy paths at every level.
 */
export function pathsWithNulCharacter(value: unknown, where?: string): string[] {
  const found: string[] = [];
  const pathOf = (node: WalkNode): string => {
    const parts: (string | number)[] = [];
    for (let n: WalkNode | undefined = node; n?.key !== undefined; n = n.parent) parts.push(n.key);
    if (where) parts.push(where);
    return parts.reverse().join('.');
  };
  const stack: WalkNode[] = [{ value, key: undefined, parent: undefined }];
  while (stack.length > 0 && found.length < MAX_REPORTED_PATHS) {
    const node = stack.pop()!;
    const v = node.value;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) found.push(pathOf(node));
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ value: item, key: i, parent: node }));
    } else if (isPlainObject(v)) {
      for (const [k, item] of Object.entries(v)) {
        const child = { value: item, key: k, parent: node };
        if (k.includes('\u0000')) found.push(pathOf(child));
        stack.push(child);
      }
    }
  }
  return found;
}

/** Maps anything thrown to a contract error; unknown errors become INTERNAL without detail. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDependencyDown(err))
    return new AppError('UNAVAILABLE', 'a dependency is unavailable, retry later');
  return new AppError('INTERNAL', 'internal error');
}

const DEPENDENCY_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P03',
  '53300',
]);

function isDependencyDown(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && DEPENDENCY_ERROR_CODES.has(code)) return true;
  const name = (err as { name?: unknown }).name;
  return name === 'KnexTimeoutError' || name === 'MaxRetriesPerRequestError';
}
