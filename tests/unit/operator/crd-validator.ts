// A model of what the API server does with a custom resource and its CRD schema: apply the
// schema's defaults top-down (a defaulted parent gets its children's defaults), check the
// structural schema (types, enums, patterns, bounds, required), then evaluate every
// x-kubernetes-validations CEL rule with @bufbuild/cel. Unknown fields count as errors, as with
// kubectl's strict field validation. Used to prove the CRD and the zod schema agree.
import { run, isCelError } from '@bufbuild/cel';

type Schema = Record<string, any>;

export interface CrdError {
  /** The field as the API server names it: spec.gateway.autoscaling.minReplicas */
  field: string;
  message: string;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function applyDefaults(schema: Schema, value: unknown): unknown {
  if (Array.isArray(value)) {
    return schema.items ? value.map((v) => applyDefaults(schema.items, v)) : value;
  }
  if (value === null || typeof value !== 'object') return value;
  const obj = { ...(value as Record<string, unknown>) };
  if (schema.properties) {
    for (const [key, prop] of Object.entries(schema.properties as Record<string, Schema>)) {
      if (obj[key] === undefined && prop.default !== undefined) obj[key] = clone(prop.default);
      if (obj[key] !== undefined) obj[key] = applyDefaults(prop, obj[key]);
    }
  } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    for (const key of Object.keys(obj))
      obj[key] = applyDefaults(schema.additionalProperties, obj[key]);
  }
  return obj;
}

const join = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      throw new Error(`schema type ${type} not modelled`);
  }
}

export function structuralErrors(schema: Schema, value: unknown, path: string): CrdError[] {
  const errors: CrdError[] = [];
  const err = (message: string, at = path) => errors.push({ field: at, message });
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) err('must be an integer or a string');
    } else if (typeof value === 'string') {
      if (schema.pattern && !new RegExp(schema.pattern).test(value))
        err(`must match ${schema.pattern}`);
    } else err('must be an integer or a string');
    return errors;
  }
  if (schema.type && !typeOk(schema.type, value)) {
    err(`must be of type ${schema.type}`);
    return errors;
  }
  if (schema.enum && !schema.enum.includes(value)) err(`must be one of ${schema.enum.join(', ')}`);
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength)
      err(`must have at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && length > schema.maxLength)
      err(`must have at most ${schema.maxLength} characters`);
    if (schema.pattern && !new RegExp(schema.pattern).test(value))
      err(`must match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) err(`must be >= ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) err(`must be <= ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      err(`must have at most ${schema.maxItems} items`);
    if (schema.minItems !== undefined && value.length < schema.minItems)
      err(`must have at least ${schema.minItems} items`);
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set' && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) {
      err('duplicate entries');
    }
    if (listType === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] as string[];
      const seen = new Set(value.map((v) => JSON.stringify(keys.map((k) => (v as any)?.[k]))));
      if (seen.size !== value.length) err(`duplicate entries for key ${keys.join(',')}`);
    }
    value.forEach((v, i) => errors.push(...structuralErrors(schema.items ?? {}, v, join(path, i))));
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (schema.maxProperties !== undefined && Object.keys(obj).length > schema.maxProperties) {
      err(`must have at most ${schema.maxProperties} properties`);
    }
    for (const key of schema.required ?? []) {
      if (obj[key] === undefined) err('Required value', join(path, key));
    }
    if (schema.properties) {
      for (const [key, v] of Object.entries(obj)) {
        const prop = schema.properties[key];
        // metadata is the API server's; a CRD only constrains its name.
        if (!prop) {
          if (path !== 'metadata') err('unknown field', join(path, key));
        } else errors.push(...structuralErrors(prop, v, join(path, key)));
      }
    } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      for (const [key, v] of Object.entries(obj)) {
        errors.push(...structuralErrors(schema.additionalProperties, v, join(path, key)));
      }
    } else if (
      !schema['x-kubernetes-preserve-unknown-fields'] &&
      schema.type === 'object' &&
      Object.keys(obj).length > 0 &&
      path !== 'metadata'
    ) {
      err('object without properties in the schema');
    }
  }
  return errors;
}

/** JSON → CEL values as the API server types them: integers per the schema, objects as maps. */
function toCel(schema: Schema, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => toCel(schema.items ?? {}, v));
  if (value !== null && typeof value === 'object') {
    return new Map(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        toCel(
          schema.properties?.[k] ??
            (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : {}),
          v,
        ),
      ]),
    );
  }
  if (
    typeof value === 'number' &&
    (schema.type === 'integer' || schema['x-kubernetes-int-or-string'])
  ) {
    return BigInt(value);
  }
  return value;
}

export function celErrors(schema: Schema, value: unknown, path: string): CrdError[] {
  const errors: CrdError[] = [];
  if (value === undefined) return errors;
  for (const v of (schema['x-kubernetes-validations'] ?? []) as {
    rule: string;
    message: string;
    fieldPath?: string;
  }[]) {
    const result = run(v.rule, { self: toCel(schema, value) as never });
    if (isCelError(result))
      throw new Error(`CEL rule at ${path} failed to evaluate: ${v.rule}: ${String(result)}`);
    if (result !== true) {
      errors.push({
        field: (v.fieldPath ? path + v.fieldPath : path).replace(/^\./, ''),
        message: v.message,
      });
    }
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => errors.push(...celErrors(schema.items ?? {}, item, join(path, i))));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const prop =
        schema.properties?.[key] ??
        (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (prop) errors.push(...celErrors(prop, item, join(path, key)));
    }
  }
  return errors;
}

/** What the API server would answer to creating this object: its defaulted form, or errors. */
export function admit(
  rootSchema: Schema,
  object: Record<string, unknown>,
): { ok: true; object: Record<string, unknown> } | { ok: false; errors: CrdError[] } {
  const defaulted = applyDefaults(rootSchema, object) as Record<string, unknown>;
  const structural = structuralErrors(rootSchema, defaulted, '');
  if (structural.length > 0) return { ok: false, errors: structural };
  // The API server skips CEL rules of objects that failed structural validation; with none
  // failing, every rule runs.
  const cel = celErrors(rootSchema, defaulted, '');
  return cel.length > 0 ? { ok: false, errors: cel } : { ok: true, object: defaulted };
}
