import { z } from 'zod';
import { ERROR_CODES, errorBodySchema, HTTP_STATUS, type ErrorCode } from '../core/errors.js';
import type { AnyRouteSpec } from './route-table.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  if (io === 'input') forbidNulCharacter(out);
  return out;
}

const NESTED_SCHEMAS = ['items', 'additionalProperties', 'propertyNames'] as const;
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const;

/**
 * parseInput refuses U+0000 in every string it is given (PostgreSQL text cannot hold it), so
 * every free-form input string says so; formats and enums cannot contain it anyway.
 */
function forbidNulCharacter(schema: JsonSchema): void {
  const type = schema.type;
  const isString = type === 'string' || (Array.isArray(type) && type.includes('string'));
  if (isString && !('enum' in schema) && !('const' in schema) && !('format' in schema))
    schema.not = { pattern: '\\u0000' };
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  for (const child of Object.values(props ?? {})) forbidNulCharacter(child);
  for (const key of NESTED_SCHEMAS) {
    const child = schema[key];
    if (child && typeof child === 'object') forbidNulCharacter(child as JsonSchema);
  }
  for (const key of SCHEMA_LISTS) {
    for (const child of (schema[key] as JsonSchema[] | undefined) ?? []) forbidNulCharacter(child);
  }
}

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input') as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(js.properties ?? {}).map(([name, prop]) => ({
    name,
    in: location,
    required: location === 'path' || (js.required ?? []).includes(name),
    schema: prop,
  }));
}

const CODE_BY_STATUS = Object.fromEntries(
  Object.entries(HTTP_STATUS).map(([code, status]) => [status, code]),
) as Record<number, ErrorCode>;

/** `NOT_FOUND` → `NotFoundError`: the component that pins an error response's code. */
const errorComponent = (code: ErrorCode) =>
  code
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('') + 'Error';

/** Every error body is the contract's envelope, and its code is the one its status stands for. */
function errorComponents(): Record<string, JsonSchema> {
  const components: Record<string, JsonSchema> = { Error: jsonSchema(errorBodySchema, 'output') };
  for (const code of ERROR_CODES) {
    components[errorComponent(code)] = {
      allOf: [
        { $ref: '#/components/schemas/Error' },
        {
          type: 'object',
          properties: { error: { type: 'object', properties: { code: { const: code } } } },
        },
      ],
    };
  }
  return components;
}

/**
 * Answers every operation can give besides its own: the per-user or per-address rate limit,
 * a dependency being down, a bug; and with a request body, a body over the size limit.
 */
const ALWAYS_POSSIBLE = [429, 503, 500];
const WITH_A_BODY = [413];

function errorResponse(status: number): JsonSchema {
  const code = CODE_BY_STATUS[status];
  if (!code) throw new Error(`no contract error code answers with HTTP ${status}`);
  return {
    description: code,
    ...(code === 'RATE_LIMITED'
      ? {
          headers: {
            'Retry-After': {
              description: 'seconds until a retry can succeed',
              schema: { type: 'integer', minimum: 1 },
            },
          },
        }
      : {}),
    content: {
      'application/json': { schema: { $ref: `#/components/schemas/${errorComponent(code)}` } },
    },
  };
}

/** The OpenAPI 3.1 document, built from the same route table and zod schemas that serve requests. */
export function buildOpenApi(routes: AnyRouteSpec[], prefix: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = prefix + route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(route.responses)) {
      responses[status] = r.html
        ? { description: r.description, content: { 'text/html': { schema: { type: 'string' } } } }
        : r.schema
          ? {
              description: r.description,
              content: { 'application/json': { schema: jsonSchema(r.schema, 'output') } },
            }
          : { description: r.description };
    }
    const statuses = new Set([
      ...route.errors,
      ...(route.body ? WITH_A_BODY : []),
      ...ALWAYS_POSSIBLE,
    ]);
    for (const status of [...statuses].sort((a, b) => a - b))
      responses[String(status)] = errorResponse(status);
    (paths[path] ??= {})[route.method] = {
      tags: [route.tag],
      summary: route.summary,
      ...(route.auth === false ? { security: [] } : {}),
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Signalink API',
      version: '1',
      description:
        'REST half of the Signalink wire contract. Realtime events travel over Socket.IO (see PROTOCOL.md).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: errorComponents(),
    },
    paths,
  };
}
