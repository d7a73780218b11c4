// Every kind the operator creates: where it lives in the API, whether it needs an optional API,
// and whether an object of it that is no longer desired is deleted (pruned).
import type { OptionalApi } from './observed.js';

export interface ManagedKind {
  apiVersion: string;
  kind: string;
  /** The REST resource name (GET /apis/<group>/<version>/namespaces/<ns>/<plural>). */
  plural: string;
  optionalApi?: OptionalApi;
  /**
   * KafkaTopics are never pruned: deleting one makes Strimzi delete the topic and its events,
   * external state the operator must not destroy because a spec field went away. They go only
   * with the Signalink itself (ownerReference garbage collection), which a user asks for.
   */
  prune: boolean;
}

export const MANAGED_KINDS: readonly ManagedKind[] = [
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', prune: true },
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', prune: true },
  { apiVersion: 'v1', kind: 'Service', plural: 'services', prune: true },
  { apiVersion: 'batch/v1', kind: 'Job', plural: 'jobs', prune: true },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', prune: true },
  {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    prune: true,
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    prune: true,
  },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    prune: true,
  },
  {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    plural: 'scaledobjects',
    optionalApi: 'keda',
    prune: true,
  },
  {
    apiVersion: 'kafka.strimzi.io/v1',
    kind: 'KafkaTopic',
    plural: 'kafkatopics',
    optionalApi: 'strimzi',
    prune: false,
  },
  {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    plural: 'servicemonitors',
    optionalApi: 'prometheusOperator',
    prune: true,
  },
  {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    plural: 'prometheusrules',
    optionalApi: 'prometheusOperator',
    prune: true,
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    plural: 'httproutes',
    optionalApi: 'gatewayApi',
    prune: true,
  },
];

/** The one resource per optional API whose presence the operator checks (by discovery). */
export const OPTIONAL_API_PROBES: Record<OptionalApi, { apiVersion: string; plural: string }> = {
  strimzi: { apiVersion: 'kafka.strimzi.io/v1', plural: 'kafkatopics' },
  keda: { apiVersion: 'keda.sh/v1alpha1', plural: 'scaledobjects' },
  prometheusOperator: { apiVersion: 'monitoring.coreos.com/v1', plural: 'servicemonitors' },
  gatewayApi: { apiVersion: 'gateway.networking.k8s.io/v1', plural: 'httproutes' },
};

export function kindOf(apiVersion: string, kind: string): ManagedKind | undefined {
  return MANAGED_KINDS.find((k) => k.apiVersion === apiVersion && k.kind === kind);
}

/** Render and apply order: identities and config first, workloads after, routing last. */
export function kindOrder(kind: string): number {
  const i = MANAGED_KINDS.findIndex((k) => k.kind === kind);
  return i < 0 ? MANAGED_KINDS.length : i;
}

export function apiPath(apiVersion: string, plural: string, namespace?: string, name?: string) {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
