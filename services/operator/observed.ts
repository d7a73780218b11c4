// What the control loop saw of a resource's world before reconciling it. Reconcile is a pure
// function of the resource and this; the loop fills it from the API server, `render` from
// assumptions (steady state at the desired version).
import type { WorkloadRole } from './naming.js';

/** APIs outside Kubernetes itself that some owned objects need. */
export const OPTIONAL_APIS = ['strimzi', 'keda', 'prometheusOperator', 'gatewayApi'] as const;
export type OptionalApi = (typeof OPTIONAL_APIS)[number];

export interface ObservedDeployment {
  /** metadata.generation and status.observedGeneration: equal once the controller saw the spec. */
  generation: number;
  observedGeneration: number;
  /** spec.replicas (set by the operator, or by an autoscaler while autoscaling is on). */
  specReplicas: number;
  /** status.replicas, updatedReplicas, readyReplicas, availableReplicas. */
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  /** The pod template's signalink.io/version annotation. */
  version: string | undefined;
  /** The pod template's signalink container image. */
  image: string | undefined;
  /** The Deployment's Progressing condition says ProgressDeadlineExceeded. */
  progressDeadlineExceeded: boolean;
}

export type JobState = 'running' | 'succeeded' | 'failed';

export interface ObservedJob {
  name: string;
  state: JobState;
  /** Why a Job failed, from its Failed condition. */
  message?: string;
}

export interface ObservedSecret {
  /** Keys present in the Secret's data (values are never read into the operator's state). */
  keys: string[];
}

export interface Observed {
  deployments: Partial<Record<WorkloadRole, ObservedDeployment>>;
  /** The migrations Job for the desired version, if it exists. */
  migrations: ObservedJob | undefined;
  apis: Record<OptionalApi, boolean>;
  /** Every Secret the spec refers to: its keys, or null when it does not exist. */
  secrets: Record<string, ObservedSecret | null>;
}

export function allApis(present: boolean): Record<OptionalApi, boolean> {
  return Object.fromEntries(OPTIONAL_APIS.map((a) => [a, present])) as Record<OptionalApi, boolean>;
}
