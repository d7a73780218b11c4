import { z } from 'zod';
import {
  AppError,
  ERROR_CODES,
  errorBody,
  errorBodySchema,
  HTTP_STATUS,
  parseInput,
  pathsWithNulCharacter,
  toAppError,
} from '../../../services/core/errors.js';

describe('contract codes', () => {
  test('each code carries the HTTP status of the contract', () => {
    expect(HTTP_STATUS).toEqual({
      VALIDATION: 400,
      UNAUTHENTICATED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      CONFLICT: 409,
      PAYLOAD_TOO_LARGE: 413,
      RATE_LIMITED: 429,
      UNAVAILABLE: 503,
      INTERNAL: 500,
    });
    for (const code of ERROR_CODES) expect(new AppError(code, 'x').status).toBe(HTTP_STATUS[code]);
  });

  test('errorBody has code and message, and details only when there are some', () => {
    expect(errorBody(new AppError('NOT_FOUND', 'no such channel'))).toEqual({
      error: { code: 'NOT_FOUND', message: 'no such channel' },
    });
    const withDetails = errorBody(
      new AppError('RATE_LIMITED', 'slow down', { retryAfterMs: 1500 }),
    );
    expect(withDetails).toEqual({
      error: { code: 'RATE_LIMITED', message: 'slow down', details: { retryAfterMs: 1500 } },
    });
    expect(errorBodySchema.safeParse(withDetails).success).toBe(true);
  });
});

describe('toAppError', () => {
  test('an AppError passes through unchanged', () => {
    const err = new AppError('FORBIDDEN', 'not yours');
    expect(toAppError(err)).toBe(err);
  });

  test.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
    ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    [
      'PostgreSQL shutting down',
      Object.assign(new Error('terminating connection'), { code: '57P01' }),
    ],
    [
      'PostgreSQL out of connections',
      Object.assign(new Error('too many clients'), { code: '53300' }),
    ],
    [
      'a pool timeout',
      Object.assign(new Error('Knex: Timeout acquiring a connection'), {
        name: 'KnexTimeoutError',
      }),
    ],
    [
      'Redis giving up',
      Object.assign(new Error('max retries'), { name: 'MaxRetriesPerRequestError' }),
    ],
  ])('%s is UNAVAILABLE (safe to retry)', (_what, err) => {
    expect(toAppError(err).code).toBe('UNAVAILABLE');
  });

  test.each([
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    [
      'a constraint violation',
      Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), {
        code: '23505',
      }),
    ],
    ['a thrown string', 'boom'],
    ['null', null],
  ])('%s is INTERNAL, without its message', (_what, err) => {
    const mapped = toAppError(err);
    expect(mapped.code).toBe('INTERNAL');
    expect(mapped.message).toBe('internal error');
    expect(mapped.details).toBeUndefined();
  });
});

describe('parseInput', () => {
  const schema = z.strictObject({ name: z.string().min(1), tags: z.array(z.string()).optional() });

  test('returns the parsed value', () => {
    expect(parseInput(schema, { name: 'x', tags: ['a'] }, 'body')).toEqual({
      name: 'x',
      tags: ['a'],
    });
  });

  test('failures are VALIDATION listing every field, prefixed with where it came from', () => {
    try {
      parseInput(schema, { name: '', tags: [1], extra: true }, 'body');
      throw new Error('expected a validation error');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      const e = err as AppError;
      expect(e.code).toBe('VALIDATION');
      const paths = (e.details as { fields: { path: string }[] }).fields.map((f) => f.path).sort();
      expect(paths).toEqual(['body', 'body.name', 'body.tags.0']);
    }
  });

  test('a NUL character anywhere in a string is VALIDATION naming the field', () => {
    expect(() => parseInput(schema, { name: 'a\u0000b' }, 'body')).toThrow(
      expect.objectContaining({
        code: 'VALIDATION',
        details: { fields: [{ path: 'body.name', message: 'must not contain the NUL character' }] },
      }),
    );
    expect(() => parseInput(schema, { name: 'ok', tags: ['fine', '\u0000'] })).toThrow(
      expect.objectContaining({
        details: { fields: [expect.objectContaining({ path: 'tags.1' })] },
      }),
    );
  });
});

describe('pathsWithNulCharacter', () => {
  test('finds strings and keys with NUL, at any depth, and nothing else', () => {
    expect(pathsWithNulCharacter({ a: 'x', b: [1, 'y', { c: 'z' }] })).toEqual([]);
    expect(pathsWithNulCharacter({ a: { ['k\u0000']: 'v' } }, 'body')).toEqual(['body.a.k\u0000']);
    expect(pathsWithNulCharacter(['\u0000'], 'query')).toEqual(['query.0']);
  });

  test('survives nesting far deeper than the call stack', () => {
    let deep: unknown = 'bottom\u0000';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    const found = pathsWithNulCharacter(deep);
    expect(found).toHaveLength(1);
    expect(found[0]!.split('.')).toHaveLength(100_000);
  });

  test('reports at most ten paths', () => {
    expect(pathsWithNulCharacter(Array.from({ length: 50 }, () => '\u0000'))).toHaveLength(10);
  });
});
