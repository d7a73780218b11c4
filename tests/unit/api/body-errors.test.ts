import { bodyError } from '../../../services/api/app.js';

// Shaped like the errors body-parser raises: http-errors with a status, usually a type.
function createError(status: number, cause: string | Error, props: { type?: string } = {}): Error {
  const err = typeof cause === 'string' ? new Error(cause) : cause;
  return Object.assign(err, { status, statusCode: status, expose: status < 500 }, props);
}

test.each([
  [
    'malformed JSON',
    createError(400, 'Unexpected token', { type: 'entity.parse.failed' }),
    'VALIDATION',
  ],
  [
    'an unsupported charset',
    createError(415, 'unsupported charset "LATIN1"', { type: 'charset.unsupported' }),
    'VALIDATION',
  ],
  [
    'an unsupported content encoding',
    createError(415, 'unsupported content encoding "x"', { type: 'encoding.unsupported' }),
    'VALIDATION',
  ],
  [
    'gzip that does not inflate (no type)',
    createError(400, Object.assign(new Error('incorrect header check'), { code: 'Z_DATA_ERROR' })),
    'VALIDATION',
  ],
  [
    'a body over the limit',
    createError(413, 'request entity too large', { type: 'entity.too.large' }),
    'PAYLOAD_TOO_LARGE',
  ],
  [
    'a client that went away',
    createError(400, 'request aborted', { type: 'request.aborted' }),
    'VALIDATION',
  ],
])('%s is %s', (_what, err, code) => {
  const mapped = bodyError(err);
  expect(mapped.code).toBe(code);
  if (code === 'VALIDATION')
    expect(mapped.details).toEqual({ fields: [expect.objectContaining({ path: 'body' })] });
});

test('anything else is not blamed on the client', () => {
  expect(bodyError(new Error('disk on fire')).code).toBe('INTERNAL');
  expect(bodyError(Object.assign(new Error('down'), { code: 'ECONNRESET' })).code).toBe(
    'UNAVAILABLE',
  );
});
