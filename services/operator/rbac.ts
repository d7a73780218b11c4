// What the operator is allowed to do, derived from what it does: the kinds it manages (kinds.ts)
// and the few things it reads or writes besides them. charts/signalink-operator grants exactly
// these rules (a unit test compares the rendered ClusterRole and Role with this file), and the
// integration test runs the operator with nothing more, so a missing verb fails there first.
import { MANAGED_KINDS } from './kinds.js';
import { GROUP, PLURAL } from './spec.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const VERB_ORDER = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

function verbsOfManagedKind(kind: (typeof MANAGED_KINDS)[number]): string[] {
  // get: before creating, to leave an object of the same name that is not ours alone;
  // list: to find owned objects to prune; create and patch: server-side apply.
  const verbs = ['get', 'list', 'create', 'patch'];
  // Kinds of optional APIs are not watched: the Signalink watch's resync covers them.
  if (!kind.optionalApi) verbs.push('watch');
  if (kind.prune) verbs.push('delete');
  return verbs;
}

/** One rule per API group and verb set, in a stable order (the chart lists them the same way). */
function merged(entries: { group: string; resource: string; verbs: string[] }[]): PolicyRule[] {
  const byKey = new Map<string, PolicyRule>();
  for (const e of entries) {
    const verbs = [...new Set(e.verbs)].sort(
      (a, b) => VERB_ORDER.indexOf(a) - VERB_ORDER.indexOf(b),
    );
    const key = `${e.group}|${verbs.join(',')}`;
    const rule = byKey.get(key) ?? { apiGroups: [e.group], resources: [], verbs };
    if (!rule.resources.includes(e.resource)) rule.resources.push(e.resource);
    byKey.set(key, rule);
  }
  return [...byKey.values()]
    .map((r) => ({ ...r, resources: [...r.resources].sort() }))
    .sort(
      (a, b) =>
        a.apiGroups[0]!.localeCompare(b.apiGroups[0]!) ||
        a.resources[0]!.localeCompare(b.resources[0]!),
    );
}

/**
 * Rules in every namespace the operator watches: a ClusterRole when it watches all of them,
 * else a Role per watched namespace with the same rules.
 */
export function watchedNamespaceRules(): PolicyRule[] {
  return merged([
    { group: GROUP, resource: PLURAL, verbs: ['get', 'list', 'watch'] },
    // Status is written through the status subresource only, by server-side apply.
    { group: GROUP, resource: `${PLURAL}/status`, verbs: ['patch'] },
    // Owned objects carry blockOwnerDeletion; clusters with the
    // OwnerReferencesPermissionEnforcement admission plugin (OpenShift) require this for it.
    { group: GROUP, resource: `${PLURAL}/finalizers`, verbs: ['update'] },
    ...MANAGED_KINDS.map((k) => ({
      group: groupOf(k.apiVersion),
      resource: k.plural,
      verbs: verbsOfManagedKind(k),
    })),
    // Which keys the referenced Secrets hold (a missing key is a condition, not a crash loop);
    // get by name only, never list or watch.
    { group: '', resource: 'secrets', verbs: ['get'] },
    // Events on Signalinks; repeats update the count of the Event already written.
    { group: '', resource: 'events', verbs: ['create', 'patch'] },
  ]);
}

/** Rules in the operator's own namespace: the leader-election Lease. */
export function leaseNamespaceRules(): PolicyRule[] {
  return merged([
    { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update'] },
  ]);
}

/** Every (group, resource, verb) a set of rules grants, for comparing rule sets. */
export function grants(rules: PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules)
    for (const g of r.apiGroups)
      for (const res of r.resources) for (const v of r.verbs) out.add(`${g}/${res}:${v}`);
  return [...out].sort();
}
