import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { KubeObject } from '../../../services/operator/desired/context.js';
import { allApis, type Observed, type OptionalApi } from '../../../services/operator/observed.js';
import { reconcile, type ReconcileResult } from '../../../services/operator/reconcile.js';
import { steadyState } from '../../../services/operator/render.js';
import { parseSignalink, type SignalinkObject } from '../../../services/operator/spec.js';

export function fixture(name: string): SignalinkObject {
  return parse(
    readFileSync(new URL(`./fixtures/${name}.yaml`, import.meta.url), 'utf8'),
  ) as SignalinkObject;
}

/** A copy of a fixture changed by `edit` (which may mutate it freely). */
export function variant(edit: (r: any) => void, base = 'minimal'): SignalinkObject {
  const copy = JSON.parse(JSON.stringify(fixture(base)));
  edit(copy);
  return copy;
}

export const NOW = new Date('2030-01-01T00:00:00Z');

/** What the operator applies once the resource runs at its version, with these APIs served. */
export function steadyObjects(
  resource: SignalinkObject,
  without: OptionalApi[] = [],
): ReconcileResult & { observed: Observed } {
  const parsed = parseSignalink(resource);
  if (!parsed.ok) throw new Error(`invalid fixture: ${JSON.stringify(parsed.problems)}`);
  const apis = allApis(true);
  for (const a of without) apis[a] = false;
  const observed = steadyState(resource.metadata.name, parsed.spec, apis);
  return { ...reconcile(resource, observed, NOW, { uid: 'uid-1' }), observed };
}

export function find(objects: KubeObject[], kind: string, name: string): any {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) {
    throw new Error(
      `no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`,
    );
  }
  return o;
}

export function ofKind(objects: KubeObject[], kind: string): any[] {
  return objects.filter((o) => o.kind === kind);
}

export function envOf(deployment: any): Record<string, any> {
  const c = deployment.spec.template.spec.containers[0];
  return Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
}
