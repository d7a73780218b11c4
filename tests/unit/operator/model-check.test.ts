// The checks the desired-state tests rely on must catch what they claim to.
import { modelError, unknownFields } from './model-check.js';

const deployment = (
  container: Record<string, unknown>,
  extraSpec: Record<string, unknown> = {},
) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'x', labels: { a: 'b' } },
  spec: {
    selector: { matchLabels: { a: 'b' } },
    template: {
      metadata: { labels: { a: 'b' } },
      spec: { containers: [{ name: 'c', image: 'i', ...container }] },
    },
    ...extraSpec,
  },
});

test('a valid object passes both checks', () => {
  const d = deployment({
    ports: [{ containerPort: 80, name: 'http' }],
    resources: { limits: { cpu: 1 } },
  });
  expect(modelError(d)).toBeUndefined();
  expect(unknownFields(d)).toEqual([]);
});

test('misspelled fields are reported with their path, at any depth', () => {
  expect(unknownFields(deployment({ imag: 'x' }))).toEqual([
    'spec.template.spec.containers[0].imag',
  ]);
  expect(unknownFields(deployment({}, { replica: 2 }))).toEqual(['spec.replica']);
  expect(
    unknownFields(deployment({ readinessProbe: { httpGet: { path: '/', port: 80, hots: 'a' } } })),
  ).toEqual(['spec.template.spec.containers[0].readinessProbe.httpGet.hots']);
});

test('free-form maps (labels, config) are not reported', () => {
  const topic = {
    apiVersion: 'kafka.strimzi.io/v1',
    kind: 'KafkaTopic',
    metadata: { name: 't', labels: { 'strimzi.io/cluster': 'c' } },
    spec: { partitions: 1, config: { 'retention.ms': 1 } },
  };
  expect(unknownFields(topic)).toEqual([]);
  expect(unknownFields({ ...topic, spec: { ...topic.spec, partition: 1 } })).toEqual([
    'spec.partition',
  ]);
});

test('kubernetes-models reports wrong types and values', () => {
  expect(modelError(deployment({ ports: [{ containerPort: 'eighty' }] }))).toMatch(/containerPort/);
  expect(modelError(deployment({ imagePullPolicy: 'Sometimes' }))).toMatch(/imagePullPolicy/);
  expect(
    modelError({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'x' },
      spec: {},
    }),
  ).toMatch(/scaleTargetRef|triggers/);
});
