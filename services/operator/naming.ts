// Names, labels and references shared by every object the operator owns (PROTOCOL.md,
// "Kubernetes": the four app.kubernetes.io labels and a controller ownerReference on each).
import { createHash } from 'node:crypto';
import type { IOwnerReference } from '@kubernetes-models/apimachinery/apis/meta/v1/OwnerReference';
import { API_VERSION, KIND, type SignalinkSpec } from './spec.js';

/** Roles that run as Deployments; `api` only when spec.api.separate (else it is in gateway pods). */
export const WORKLOAD_ROLES = ['api', 'relay', 'analytics', 'notifier', 'gateway'] as const;
export type WorkloadRole = (typeof WORKLOAD_ROLES)[number];

export const MANAGED_BY = 'signalink-operator';
export const FIELD_MANAGER = 'signalink-operator';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** Pod template annotations: the version a workload runs, and a hash of its configuration. */
export const VERSION_ANNOTATION = 'signalink.io/version';
export const CONFIG_HASH_ANNOTATION = 'signalink.io/config-hash';

export function labelsFor(instance: string, component: string): Record<string, string> {
  return {
    [LABEL_NAME]: 'signalink',
    [LABEL_INSTANCE]: instance,
    [LABEL_COMPONENT]: component,
    [LABEL_MANAGED_BY]: MANAGED_BY,
  };
}

/** What Deployments, Services and policies select pods by (immutable once a Deployment exists). */
export function selectorFor(instance: string, component: string): Record<string, string> {
  return { [LABEL_NAME]: 'signalink', [LABEL_INSTANCE]: instance, [LABEL_COMPONENT]: component };
}

/** The label selector that finds everything one resource owns (checked against ownerReferences). */
export function ownedSelector(instance: string): string {
  return `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_INSTANCE}=${instance}`;
}

export function roleObjectName(instance: string, role: string): string {
  return `${instance}-${role}`;
}

export function ownerReference(name: string, uid: string | undefined): IOwnerReference {
  // Rendering without a cluster has no uid; the API server requires one, so only `render`
  // output lacks it (PROTOCOL: fields only a cluster knows are left out).
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name,
    ...(uid ? { uid } : {}),
    controller: true,
    blockOwnerDeletion: true,
  } as IOwnerReference;
}

export function imageReference(image: SignalinkSpec['image']): string {
  let ref = image.repository;
  if (image.tag) ref += `:${image.tag}`;
  if (image.digest) ref += `@${image.digest}`;
  return ref;
}

/** The version is the image tag; a digest-only image is its digest. */
export function versionOf(image: SignalinkSpec['image']): string {
  return image.tag ?? image.digest ?? 'unknown';
}

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * The migrations Job for a version: `<name>-migrate-<version>`, readable when the tag is a valid
 * name as it is, with a hash suffix when it had to be changed or shortened (so two versions
 * never share a Job). Job names end up in a pod label, so they stay within 63 characters.
 */
export function migrationsJobName(instance: string, version: string): string {
  const prefix = `${instance}-migrate-`;
  const digest = /^sha256:([a-f0-9]{12})/.exec(version);
  if (digest) return prefix + digest[1];
  const cleaned = version
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/[^a-z0-9]+$/, '');
  const room = 63 - prefix.length;
  if (cleaned === version && cleaned.length > 0 && cleaned.length <= room) return prefix + cleaned;
  const suffix = shortHash(version);
  const kept = cleaned.slice(0, Math.max(0, room - suffix.length - 1)).replace(/[^a-z0-9]+$/, '');
  return prefix + (kept ? `${kept}-${suffix}` : suffix);
}
