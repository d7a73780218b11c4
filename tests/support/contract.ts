// The wire contract's shapes (PROTOCOL.md), written independently of services/api/schemas.ts
// so that a change to the implementation's schemas cannot silently change what tests accept.
import { z } from 'zod';
import { CONDITION_TIMEOUT_MS } from './deadlines.js';
import type { HttpResult } from './http-client.js';

const uuid = z.uuid();
const iso = z.iso.datetime();

/** Someone else's profile: exactly these fields, so an email or hash can never slip through. */
export const publicUser = z.strictObject({
  id: uuid,
  username: z.string(),
  displayName: z.string(),
  avatarUrl: z.string().nullable(),
  statusMessage: z.string().nullable(),
  createdAt: iso,
});

/** The caller's own profile may add private fields, but never a password hash. */
export const ownUser = publicUser.extend({ email: z.string() }).passthrough();

export const session = z.strictObject({
  user: ownUser,
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
});
export const tokenPair = z.strictObject({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
});

export const channel = z.looseObject({
  id: uuid,
  name: z.string().nullable(),
  type: z.enum(['public', 'private', 'direct']),
  description: z.string(),
  createdBy: uuid,
  createdAt: iso,
  lastSeq: z.number().int().min(0),
  memberCount: z.number().int().min(1),
});
export const listedChannel = channel.extend({ unreadCount: z.number().int().min(0) });

export const member = z.looseObject({
  userId: uuid,
  username: z.string(),
  displayName: z.string(),
  role: z.enum(['owner', 'admin', 'member']),
  joinedAt: iso,
});

export const message = z.looseObject({
  id: uuid,
  channelId: uuid,
  seq: z.number().int().positive(),
  sender: z.strictObject({ id: uuid, username: z.string(), displayName: z.string() }),
  content: z.string(),
  clientMsgId: z.string(),
  replyTo: uuid.nullable(),
  createdAt: iso,
  editedAt: iso.nullable(),
  deletedAt: iso.nullable(),
});
export const messagePage = z.looseObject({ messages: z.array(message), hasMore: z.boolean() });

export const device = z.looseObject({
  token: z.string(),
  platform: z.enum(['android', 'ios', 'web']),
});
export const preferences = z.looseObject({
  muteAll: z.boolean(),
  channels: z.record(z.string(), z.enum(['all', 'mentions', 'none'])),
});

export const ERROR_STATUS = {
  VALIDATION: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export const errorBody = z.strictObject({
  error: z.strictObject({
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
    message: z.string().min(1),
    details: z.unknown().optional(),
  }),
});

const validationDetails = z.looseObject({
  fields: z.array(z.looseObject({ path: z.string(), message: z.string() })).min(1),
});

/** Parses `value` with `schema`, failing the test with zod's explanation when it does not fit. */
export function expectShape<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new Error(
      `response does not match the contract: ${z.prettifyError(result.error)}\n${JSON.stringify(value, null, 2).slice(0, 2000)}`,
    );
  }
  return result.data;
}

/** Asserts a success status, reporting the error body when it is not. */
export function expectStatus(res: HttpResult, status: number): void {
  if (res.status !== status) {
    throw new Error(
      `expected HTTP ${status}, got ${res.status}: ${JSON.stringify(res.body).slice(0, 1000)}`,
    );
  }
}

/**
 * Asserts a contract error: the HTTP status that goes with `code`, the error body shape, and for
 * VALIDATION the list of offending fields (optionally that one of them is `field`).
 */
export function expectError(
  res: HttpResult,
  code: ErrorCode,
  field?: string,
): z.output<typeof errorBody> {
  if (
    res.status !== ERROR_STATUS[code] ||
    (res.body as { error?: { code?: string } })?.error?.code !== code
  ) {
    throw new Error(
      `expected ${code} (${ERROR_STATUS[code]}), got ${res.status}: ${JSON.stringify(res.body).slice(0, 1000)}`,
    );
  }
  const body = expectShape(errorBody, res.body);
  if (code === 'VALIDATION') {
    const details = expectShape(validationDetails, body.error.details);
    if (field !== undefined && !details.fields.some((f) => f.path === field)) {
      throw new Error(
        `expected a validation error on ${field}, got ${JSON.stringify(details.fields)}`,
      );
    }
  }
  if (code === 'RATE_LIMITED') {
    expectShape(z.looseObject({ retryAfterMs: z.number().int().positive() }), body.error.details);
  }
  return body;
}

/** Fails when a password hash (or a field named like one) appears anywhere in a response. */
export function expectNoSecrets(value: unknown): void {
  const text = JSON.stringify(value) ?? '';
  expect(text).not.toMatch(/\$argon2|password|hash/i);
}

/** Polls `probe` until it returns true or the deadline passes (for eventually-consistent effects). */
export async function eventually(
  probe: () => Promise<boolean>,
  timeoutMs = CONDITION_TIMEOUT_MS,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
