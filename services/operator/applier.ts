// The only code that changes the cluster: server-side apply of the desired objects with one
// field manager (forcing conflicts on the fields it owns), pruning of owned objects that are no
// longer desired (found by label selector and checked by controller ownerReference, only of
// kinds it manages), and the status subresource.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../core/logger.js';
import type { KubeObject } from './desired/context.js';
import { KubeApiError, type KubeClient } from './kube-client.js';
import { MANAGED_KINDS, apiPath, kindOf, type ManagedKind } from './kinds.js';
import type { OperatorMetrics } from './metrics.js';
import { FIELD_MANAGER, ownedSelector } from './naming.js';
import type { OptionalApi } from './observed.js';
import { isControlledBy, type LiveObject } from './observer.js';
import { objectKey, type ReconcileResult } from './reconcile.js';
import { API_VERSION, KIND, PLURAL, type SignalinkObject, type SignalinkStatus } from './spec.js';

/** Takes spec.replicas over from the operator when an autoscaler starts owning it. */
export const HANDOVER_FIELD_MANAGER = 'signalink-operator-handover';

export interface ApplyOutcome {
  created: string[];
  updated: string[];
  pruned: string[];
  /** Desired objects that exist but belong to someone else: left alone. */
  conflicts: string[];
}

export class ApplyError extends Error {
  constructor(readonly failures: { key: string; error: Error }[]) {
    super(failures.map((f) => `${f.key}: ${f.error.message}`).join('; '));
    this.name = 'ApplyError';
  }
}

function pathOf(kind: ManagedKind, o: { metadata: { name: string; namespace?: string } }): string {
  return apiPath(kind.apiVersion, kind.plural, o.metadata.namespace, o.metadata.name);
}

/** The operator's own apply owns spec.replicas (set while autoscaling was off). */
export function ownsReplicas(live: LiveObject): boolean {
  return (live.metadata.managedFields ?? []).some(
    (m) =>
      m.manager === FIELD_MANAGER &&
      m.operation === 'Apply' &&
      (m.fieldsV1?.['f:spec'] as Record<string, unknown> | undefined)?.['f:replicas'] !== undefined,
  );
}

export class Applier {
  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly metrics: OperatorMetrics,
  ) {}

  /** Everything this resource controls, of every managed kind the API server serves. */
  async listOwned(
    resource: SignalinkObject,
    apis: Record<OptionalApi, boolean>,
  ): Promise<Map<string, { kind: ManagedKind; live: LiveObject }>> {
    const ns = resource.metadata.namespace!;
    const kinds = MANAGED_KINDS.filter((k) => !k.optionalApi || apis[k.optionalApi]);
    const lists = await Promise.all(
      kinds.map(async (kind) => {
        const list = await this.client.list<LiveObject>(apiPath(kind.apiVersion, kind.plural, ns), {
          labelSelector: ownedSelector(resource.metadata.name),
        });
        return list.items
          .filter((o) => isControlledBy(o, resource.metadata.uid))
          .map((live) => [`${kind.kind}/${live.metadata.name}`, { kind, live }] as const);
      }),
    );
    return new Map(lists.flat());
  }

  async apply(
    resource: SignalinkObject,
    result: ReconcileResult,
    apis: Record<OptionalApi, boolean>,
  ): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { created: [], updated: [], pruned: [], conflicts: [] };
    const owned = await this.listOwned(resource, apis);
    const failures: { key: string; error: Error }[] = [];
    const desired = new Set<string>();
    for (const object of result.objects) {
      const key = objectKey(object);
      desired.add(key);
      try {
        await this.applyOne(
          resource,
          object,
          owned.get(key)?.live,
          result.createOnly.includes(key),
          outcome,
        );
      } catch (err) {
        failures.push({ key, error: err as Error });
      }
    }
    // Prune only after every apply succeeded: a half-applied round never deletes anything.
    if (failures.length === 0) {
      for (const [key, { kind, live }] of owned) {
        if (desired.has(key) || result.retain.includes(key)) continue;
        if (!kind.prune || live.metadata.deletionTimestamp) continue;
        try {
          const deleted = await this.client.delete(pathOf(kind, live), {
            propagationPolicy: 'Background',
            uid: live.metadata.uid,
          });
          if (deleted) {
            outcome.pruned.push(key);
            this.metrics.objects.inc({ kind: kind.kind, action: 'pruned' });
          }
        } catch (err) {
          failures.push({ key, error: err as Error });
        }
      }
    }
    if (failures.length > 0) throw new ApplyError(failures);
    return outcome;
  }

  private async applyOne(
    resource: SignalinkObject,
    object: KubeObject,
    live: LiveObject | undefined,
    createOnly: boolean,
    outcome: ApplyOutcome,
  ): Promise<void> {
    const kind = kindOf(object.apiVersion, object.kind);
    if (!kind) throw new Error(`the operator does not manage ${object.apiVersion} ${object.kind}`);
    const key = objectKey(object);
    const path = pathOf(kind, object);
    if (live && createOnly) return;
    if (!live) {
      // Not ours by label and owner: if something else already has the name, leave it alone.
      const existing = await this.client.get<LiveObject>(path);
      if (existing && !isControlledBy(existing, resource.metadata.uid)) {
        outcome.conflicts.push(key);
        return;
      }
      if (existing && createOnly) return;
      live = existing;
    }
    if (
      live &&
      kind.kind === 'Deployment' &&
      (object.spec as { replicas?: number }).replicas === undefined &&
      ownsReplicas(live)
    ) {
      // Dropping spec.replicas from our apply would reset it to 1; hand the field to a
      // separate manager at its current value first, so the autoscaler takes it from there.
      await this.client.apply(
        path,
        {
          apiVersion: object.apiVersion,
          kind: object.kind,
          metadata: { name: object.metadata.name, namespace: object.metadata.namespace },
          spec: { replicas: live.spec?.replicas ?? 1 },
        },
        HANDOVER_FIELD_MANAGER,
        true,
      );
      this.log.info({ object: key }, 'handed spec.replicas over to the autoscaler');
    }
    const applied = await this.client.apply<LiveObject>(path, object, FIELD_MANAGER, true);
    if (!live) {
      outcome.created.push(key);
      this.metrics.objects.inc({ kind: kind.kind, action: 'created' });
    } else if (applied.metadata.resourceVersion !== live.metadata.resourceVersion) {
      outcome.updated.push(key);
      this.metrics.objects.inc({ kind: kind.kind, action: 'updated' });
    }
  }

  /** Writes status through the status subresource when it changed; true when written. */
  async writeStatus(resource: SignalinkObject, status: SignalinkStatus): Promise<boolean> {
    const current = JSON.parse(JSON.stringify(resource.status ?? {}));
    const next = JSON.parse(JSON.stringify(status));
    if (isDeepStrictEqual(current, next)) return false;
    const path = `${apiPath(API_VERSION, PLURAL, resource.metadata.namespace, resource.metadata.name)}/status`;
    try {
      await this.client.apply(
        path,
        {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: {
            name: resource.metadata.name,
            namespace: resource.metadata.namespace,
            // A resource deleted and created again under the same name is not this one.
            ...(resource.metadata.uid ? { uid: resource.metadata.uid } : {}),
          },
          status,
        },
        FIELD_MANAGER,
        true,
      );
    } catch (err) {
      // The resource was deleted (or replaced) meanwhile: nothing to report on.
      if (err instanceof KubeApiError && (err.status === 404 || err.status === 409)) return false;
      throw err;
    }
    return true;
  }
}
