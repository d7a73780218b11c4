import type { IOwnerReference } from '@kubernetes-models/apimachinery/apis/meta/v1/OwnerReference';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { labelsFor, type WorkloadRole } from '../naming.js';
import type { OptionalApi } from '../observed.js';
import type { SignalinkSpec } from '../spec.js';

/** Everything the object builders need: one validated resource and what the cluster offers. */
export interface DesiredContext {
  name: string;
  namespace: string;
  spec: SignalinkSpec;
  owner: IOwnerReference;
  apis: Record<OptionalApi, boolean>;
}

/** An object as the operator applies it (and `render` prints it). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: IOwnerReference[];
  };
  [field: string]: unknown;
}

export function metadataFor(
  ctx: DesiredContext,
  name: string,
  component: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): IObjectMeta & { name: string; namespace: string } {
  return {
    name,
    namespace: ctx.namespace,
    labels: { ...extra.labels, ...labelsFor(ctx.name, component) },
    ...(extra.annotations && Object.keys(extra.annotations).length > 0
      ? { annotations: extra.annotations }
      : {}),
    ownerReferences: [ctx.owner],
  };
}

/** Roles that run as their own Deployment for this spec. */
export function workloadRoles(spec: SignalinkSpec): WorkloadRole[] {
  return spec.api.separate
    ? ['api', 'relay', 'analytics', 'notifier', 'gateway']
    : ['relay', 'analytics', 'notifier', 'gateway'];
}

/** The processes' ROLES for each Deployment: without a separate api, gateways serve it too. */
export function processRoles(spec: SignalinkSpec, role: WorkloadRole): string {
  return role === 'gateway' && !spec.api.separate ? 'api,gateway' : role;
}

export function isAutoscaled(spec: SignalinkSpec, role: WorkloadRole): boolean {
  if (role === 'gateway') return spec.gateway.autoscaling.enabled;
  if (role === 'analytics') return spec.analytics.autoscaling.enabled;
  if (role === 'notifier') return spec.notifier.autoscaling.enabled;
  return false;
}

/** The HTTP port every Signalink process listens on (PORT), named `http` everywhere. */
export const CONTAINER_PORT = 3000;
export const SERVICE_PORT = 80;
