// Both charts, offline with the real helm: `helm lint --strict` and `helm template` over the
// values matrix, every rendered object checked against its schema with unknown fields flagged,
// the label conventions, and the Signalink each signalink-chart render describes taken one step
// further, through the operator's reconcile, so the objects it would create are checked too.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, helm, template, type RenderedObject } from '../../support/helm.js';
import { labelProblems, schemaProblems } from './chart-check.js';
import { steadyObjects } from '../operator/helpers.js';
import { modelError, unknownFields } from '../../support/model-check.js';
import type { SignalinkObject } from '../../../services/operator/spec.js';

const HELM_TIMEOUT_MS = 120_000;

function matrix(chart: string): [string, string[]][] {
  const dir = join(ROOT, 'tests/unit/charts/values', chart);
  const cases: [string, string[]][] = [['defaults', []]];
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.yaml'))
    .sort()) {
    cases.push([f.replace(/\.yaml$/, ''), [join(dir, f)]]);
  }
  cases.push(['ci/kind-values', [join(ROOT, 'charts', chart, 'ci/kind-values.yaml')]]);
  return cases;
}

describe.each(['signalink-operator', 'signalink'])('chart %s', (chart) => {
  describe.each(matrix(chart))('values: %s', (_name, valuesFiles) => {
    let objects: RenderedObject[];

    beforeAll(async () => {
      objects = await template(chart, { release: 'chat', namespace: 'messaging', valuesFiles });
    }, HELM_TIMEOUT_MS);

    test(
      'helm lint --strict passes',
      async () => {
        const args = ['lint', '--strict', join(ROOT, 'charts', chart), '--namespace', 'messaging'];
        for (const f of valuesFiles) args.push('-f', f);
        const res = await helm(args);
        expect({ code: res.code, out: res.stdout + res.stderr }).toEqual({
          code: 0,
          out: expect.stringContaining('0 chart(s) failed'),
        });
      },
      HELM_TIMEOUT_MS,
    );

    test('every object validates against its schema, with no unknown fields', () => {
      expect(objects.length).toBeGreaterThan(0);
      expect(objects.flatMap(schemaProblems)).toEqual([]);
    });

    test('every object carries the chart labels and lives in the release namespace', () => {
      expect(objects.flatMap((o) => labelProblems(o, chart))).toEqual([]);
      const clusterScoped = ['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'];
      for (const o of objects) {
        if (clusterScoped.includes(o.kind)) expect(o.metadata.namespace).toBeUndefined();
        else if (o.kind === 'Role' || o.kind === 'RoleBinding')
          expect(o.metadata.namespace).toBeTruthy();
        else
          expect(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`).toBe(
            `${o.kind}/${o.metadata.name} in messaging`,
          );
      }
    });

    test('no two objects share a kind and name in a namespace', () => {
      const keys = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
      expect(keys.length).toBe(new Set(keys).size);
    });

    if (chart === 'signalink') {
      test('the Signalink reconciles into objects that validate too', () => {
        const resources = objects.filter((o) => o.kind === 'Signalink');
        expect(resources).toHaveLength(1);
        const { objects: desired } = steadyObjects(resources[0] as unknown as SignalinkObject);
        const problems = desired.flatMap((o) => [
          ...(modelError(o) ? [`${o.kind}/${o.metadata.name}: ${modelError(o)}`] : []),
          ...unknownFields(o).map((f) => `${o.kind}/${o.metadata.name}: unknown field ${f}`),
        ]);
        expect(problems).toEqual([]);
        expect(desired.filter((o) => o.kind === 'Deployment').length).toBeGreaterThanOrEqual(4);
      });
    }
  });
});
