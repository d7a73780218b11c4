import { readFileSync, writeFileSync } from 'node:fs';
import { signalinkCrd } from '../../../services/operator/crd.js';
import { toYamlStream } from '../../../services/operator/yaml-stream.js';

const CRD_FILE = new URL(
  '../../../charts/signalink-operator/crds/signalink.io_signalinks.yaml',
  import.meta.url,
);

test('the committed CRD is generated from the spec schema', () => {
  const generated = toYamlStream([signalinkCrd()]);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(CRD_FILE, generated);
  expect(readFileSync(CRD_FILE, 'utf8')).toBe(generated);
});

test('the CRD is a valid CustomResourceDefinition with no unknown fields', async () => {
  const { modelError, unknownFields } = await import('./model-check.js');
  expect(modelError(signalinkCrd())).toBeUndefined();
  expect(unknownFields(signalinkCrd())).toEqual([]);
});

test('the CRD names what PROTOCOL.md fixes', () => {
  const crd = signalinkCrd();
  expect(crd.metadata.name).toBe('signalinks.signalink.io');
  expect(crd.spec.names).toMatchObject({
    kind: 'Signalink',
    plural: 'signalinks',
    shortNames: ['sl'],
  });
  expect(crd.spec.scope).toBe('Namespaced');
  const [version] = crd.spec.versions;
  expect(version).toMatchObject({
    name: 'v1alpha1',
    served: true,
    storage: true,
    subresources: { status: {} },
  });
  const spec = (version!.schema.openAPIV3Schema.properties as any).spec.properties;
  for (const field of [
    'image',
    'database',
    'redis',
    'kafka',
    'jwt',
    'gateway',
    'relay',
    'analytics',
    'notifier',
    'monitoring',
  ]) {
    expect(spec).toHaveProperty(field);
  }
  expect(Object.keys(spec.gateway.properties.autoscaling.properties)).toEqual(
    expect.arrayContaining(['enabled', 'minReplicas', 'maxReplicas', 'targetConnectionsPerPod']),
  );
  expect(Object.keys(spec.monitoring.properties)).toEqual(
    expect.arrayContaining(['serviceMonitor', 'prometheusRule', 'dashboards']),
  );
  const status = (version!.schema.openAPIV3Schema.properties as any).status.properties;
  expect(Object.keys(status)).toEqual(['observedGeneration', 'version', 'conditions', 'roles']);
});
