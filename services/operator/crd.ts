// Builds the CustomResourceDefinition from the zod schemas in spec.ts. The committed file under
// charts/signalink-operator/crds/ is this function's output (a unit test fails when they differ,
// and rewrites it with UPDATE_GOLDEN=1), so the CRD can never drift from what the operator checks.
import { z } from 'zod';
import {
  API_VERSION,
  GROUP,
  KIND,
  MAX_NAME_LENGTH,
  PLURAL,
  RESOURCE_NAME_PATTERN,
  VERSION,
  signalinkSpecSchema,
  signalinkStatusSchema,
} from './spec.js';

export type JsonSchema = { [key: string]: unknown };

const SAFE_INTEGER_BOUND = Number.MAX_SAFE_INTEGER;

/**
 * Turns zod's JSON Schema into a Kubernetes structural schema: no `additionalProperties: false`
 * (unknown fields are pruned or, with kubectl's strict validation, refused), int-or-string
 * quantities in the form the API server expects, open objects marked to keep their fields, and no
 * meaningless ±2^53 bounds.
 */
export function toStructural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStructural);
  if (node === null || typeof node !== 'object') return node;
  const input = node as JsonSchema;
  if (input['x-kubernetes-int-or-string'] === true) {
    const branches = (input.anyOf as JsonSchema[] | undefined) ?? [];
    const pattern = branches.find((b) => b.type === 'string')?.pattern;
    const out: JsonSchema = {};
    if (input.description) out.description = input.description;
    if (input.default !== undefined) out.default = input.default;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    if (pattern) out.pattern = pattern;
    out['x-kubernetes-int-or-string'] = true;
    return out;
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === '$schema' || key === 'propertyNames') continue;
    if (key === 'additionalProperties') {
      if (value === false) continue;
      if (input['x-kubernetes-preserve-unknown-fields'] === true) continue;
    }
    if ((key === 'minimum' || key === 'maximum') && Math.abs(value as number) >= SAFE_INTEGER_BOUND)
      continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as JsonSchema).map(([k, v]) => [k, toStructural(v)]),
      );
      continue;
    }
    out[key] = toStructural(value);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Fills in the defaults of the fields a value leaves out, as the API server would. */
function defaulted(schema: JsonSchema, value: unknown): unknown {
  if (!isPlainObject(value) || !isPlainObject(schema.properties)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [key, prop] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
    if (out[key] === undefined && prop.default !== undefined) out[key] = prop.default;
    if (out[key] !== undefined) out[key] = defaulted(prop, out[key]);
  }
  return out;
}

/**
 * The API server checks each default against the schema's rules as written, without filling in
 * the defaults of its fields; so a section defaulted to `{}` carries its fields' defaults itself
 * (which is also what a user reading the CRD wants to see).
 */
export function completeDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(completeDefaults);
  if (!isPlainObject(node)) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && isPlainObject(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, completeDefaults(v)]),
      );
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = completeDefaults(value);
    } else {
      out[key] = value;
    }
  }
  if (isPlainObject(out.default)) out.default = defaulted(out, out.default);
  return out;
}

export function specOpenApiSchema(): JsonSchema {
  return completeDefaults(
    toStructural(z.toJSONSchema(signalinkSpecSchema, { io: 'input', target: 'openapi-3.0' })),
  ) as JsonSchema;
}

export function statusOpenApiSchema(): JsonSchema {
  return toStructural(
    z.toJSONSchema(signalinkStatusSchema, { io: 'input', target: 'openapi-3.0' }),
  ) as JsonSchema;
}

/** The whole resource's schema (what the API server validates a Signalink against). */
export function resourceOpenApiSchema(): JsonSchema {
  return {
    type: 'object',
    description:
      'A Signalink installation: the operator runs its roles, migrations, autoscaling, monitoring and routing from this spec.',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      // The only metadata a CRD may constrain: owned object names append a role to this one.
      metadata: {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: MAX_NAME_LENGTH, pattern: RESOURCE_NAME_PATTERN },
        },
      },
      spec: specOpenApiSchema(),
      status: statusOpenApiSchema(),
    },
  };
}

const READY = '.status.conditions[?(@.type=="Ready")]';

export function signalinkCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: {
        'app.kubernetes.io/name': 'signalink-operator',
        'app.kubernetes.io/part-of': 'signalink',
      },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: KIND.toLowerCase(),
        shortNames: ['sl'],
        categories: ['all', 'signalink'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Version', type: 'string', jsonPath: '.status.version' },
            { name: 'Ready', type: 'string', jsonPath: `${READY}.status` },
            { name: 'Reason', type: 'string', jsonPath: `${READY}.reason` },
            {
              name: 'Gateways',
              type: 'integer',
              jsonPath: '.status.roles.gateway.ready',
              description: 'ready gateway pods',
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            {
              name: 'Message',
              type: 'string',
              jsonPath: `${READY}.message`,
              priority: 1,
            },
          ],
          schema: { openAPIV3Schema: resourceOpenApiSchema() },
        },
      ],
    },
  };
}

export const CRD_API_VERSION = API_VERSION;
