// The CRD (what the API server enforces) and the zod schema (what `render` and the operator
// enforce) must agree: on a table of valid and invalid resources, both accept or both refuse,
// naming the same field, and both fill in the same defaults.
import { resourceOpenApiSchema } from '../../../services/operator/crd.js';
import { parseSignalink } from '../../../services/operator/spec.js';
import { admit } from './crd-validator.js';
import { SPEC_CASES, minimal } from './spec-cases.js';

const schema = resourceOpenApiSchema();

describe.each(SPEC_CASES)('$name', ({ resource, field, operatorOnly }) => {
  const fromCrd = admit(schema, resource as unknown as Record<string, unknown>);
  const fromZod = parseSignalink(resource);

  if (field === undefined) {
    test('both accept it, with the same defaults', () => {
      if (!fromZod.ok) throw new Error(`zod refused: ${JSON.stringify(fromZod.problems)}`);
      if (!fromCrd.ok) throw new Error(`the CRD refused: ${JSON.stringify(fromCrd.errors)}`);
      expect(fromCrd.object.spec).toEqual(JSON.parse(JSON.stringify(fromZod.spec)));
    });
  } else if (operatorOnly) {
    test('the CRD keeps it, the operator refuses it naming the field', () => {
      expect(fromCrd.ok).toBe(true);
      expect(fromZod.ok).toBe(false);
      if (!fromZod.ok) expect(fromZod.problems.map((p) => p.field)).toContain(field);
    });
  } else {
    test(`both refuse it, naming ${field}`, () => {
      expect(fromZod.ok).toBe(false);
      expect(fromCrd.ok).toBe(false);
      if (!fromZod.ok) expect(fromZod.problems.map((p) => p.field)).toContain(field);
      if (!fromCrd.ok) expect(fromCrd.errors.map((e) => e.field)).toContain(field);
    });
  }
});

test('every optional field of the spec has a default in the CRD or is truly optional', () => {
  // The defaulted minimal resource carries every defaulted section, so a user reading it back
  // from the API server sees the values the operator uses.
  const admitted = admit(schema, minimal as unknown as Record<string, unknown>);
  if (!admitted.ok) throw new Error('minimal refused');
  const spec = admitted.object.spec as Record<string, any>;
  expect(spec.gateway.replicas).toBe(2);
  expect(spec.gateway.autoscaling).toEqual({
    enabled: false,
    minReplicas: 2,
    maxReplicas: 10,
    targetConnectionsPerPod: 2000,
    scaleDownStabilizationSeconds: 600,
  });
  expect(spec.database.secretRef.key).toBe('uri');
  expect(spec.jwt.secretRef.key).toBe('secret');
  expect(spec.notifier.transport).toBe('log');
  expect(spec.networkPolicy.enabled).toBe(true);
  expect(spec.drain).toEqual({ timeoutMs: 20000, preStopSeconds: 5 });
});
