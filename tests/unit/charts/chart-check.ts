// What every rendered object of a chart must satisfy, shared by the chart tests: its schema
// (kubernetes-models plus unknown fields; a Signalink through the operator's own validation)
// and the label conventions.
import { modelError, unknownFields } from '../../support/model-check.js';
import { sourceOf, type RenderedObject } from '../../support/helm.js';
import { parseSignalink, type SignalinkObject } from '../../../services/operator/spec.js';

export function schemaProblems(o: RenderedObject): string[] {
  const where = `${o.kind}/${o.metadata?.name}`;
  if (o.apiVersion === 'signalink.io/v1alpha1' && o.kind === 'Signalink') {
    const parsed = parseSignalink(o as unknown as SignalinkObject);
    return parsed.ok ? [] : parsed.problems.map((p) => `${where}: ${p.field}: ${p.message}`);
  }
  const problems: string[] = [];
  const error = modelError(o);
  if (error) problems.push(`${where}: ${error}`);
  for (const f of unknownFields(o)) problems.push(`${where}: unknown field ${f}`);
  return problems;
}

/**
 * The chart's own labels on what it creates. The CRD comes from the operator's generator and
 * extraObjects are the user's own, as written.
 */
export function labelProblems(o: RenderedObject, chart: string): string[] {
  if (o.kind === 'CustomResourceDefinition') return [];
  if (sourceOf(o)?.endsWith('/templates/extra-objects.yaml')) return [];
  const labels = o.metadata.labels ?? {};
  const where = `${o.kind}/${o.metadata.name}`;
  const problems: string[] = [];
  const expect = (key: string, value?: string) => {
    if (labels[key] === undefined) problems.push(`${where}: no label ${key}`);
    else if (value !== undefined && labels[key] !== value)
      problems.push(`${where}: ${key}=${labels[key]}, expected ${value}`);
  };
  expect('helm.sh/chart', `${chart}-0.1.0`);
  expect('app.kubernetes.io/name');
  expect('app.kubernetes.io/instance');
  expect('app.kubernetes.io/version');
  expect('app.kubernetes.io/managed-by', 'Helm');
  expect('app.kubernetes.io/part-of', 'signalink');
  return problems;
}
