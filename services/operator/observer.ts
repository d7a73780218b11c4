// Reads what reconcile needs to know about one Signalink from the API server: its Deployments,
// the migrations Job of the desired version, which optional APIs are served, and which keys its
// Secrets hold (never their values).
import { HttpMethod, isNotFound, type KubeClient } from './kube-client.js';
import { CONTAINER_NAME } from './desired/workloads.js';
import { referencedSecrets } from './desired/environment.js';
import { OPTIONAL_API_PROBES, apiPath } from './kinds.js';
import {
  LABEL_COMPONENT,
  VERSION_ANNOTATION,
  WORKLOAD_ROLES,
  migrationsJobName,
  ownedSelector,
  versionOf,
  type WorkloadRole,
} from './naming.js';
import {
  OPTIONAL_APIS,
  type JobState,
  type Observed,
  type ObservedDeployment,
  type ObservedJob,
  type OptionalApi,
} from './observed.js';
import type { SignalinkObject, SignalinkSpec } from './spec.js';

export interface OwnerRef {
  kind?: string;
  uid?: string;
  controller?: boolean;
  name?: string;
  apiVersion?: string;
}

export interface LiveObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerRef[];
    deletionTimestamp?: string;
    managedFields?: { manager?: string; operation?: string; fieldsV1?: Record<string, unknown> }[];
  };
  /** The fields the operator reads (Deployment- and Job-shaped; others are only listed). */
  spec?: {
    replicas?: number;
    template?: {
      metadata?: { annotations?: Record<string, string> };
      spec?: { containers?: { name?: string; image?: string }[] };
    };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: LiveCondition[];
  };
}

export function isControlledBy(o: LiveObject, uid: string | undefined): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);
}

interface LiveCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export function observeDeployment(d: LiveObject): ObservedDeployment {
  const s = d.status ?? {};
  const container = (d.spec?.template?.spec?.containers ?? []).find(
    (c) => c.name === CONTAINER_NAME,
  );
  const conditions = s.conditions ?? [];
  return {
    generation: d.metadata.generation ?? 0,
    observedGeneration: s.observedGeneration ?? 0,
    specReplicas: d.spec?.replicas ?? 1,
    replicas: s.replicas ?? 0,
    updatedReplicas: s.updatedReplicas ?? 0,
    readyReplicas: s.readyReplicas ?? 0,
    availableReplicas: s.availableReplicas ?? 0,
    version: d.spec?.template?.metadata?.annotations?.[VERSION_ANNOTATION],
    image: container?.image,
    progressDeadlineExceeded: conditions.some(
      (c) =>
        c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded',
    ),
  };
}

export function observeJob(job: LiveObject): ObservedJob {
  const conditions = job.status?.conditions ?? [];
  const holds = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
  const failed = holds('Failed');
  let state: JobState = 'running';
  if (holds('Complete')) state = 'succeeded';
  else if (failed) state = 'failed';
  return {
    name: job.metadata.name,
    state,
    ...(failed ? { message: [failed.reason, failed.message].filter(Boolean).join(': ') } : {}),
  };
}

/** Which optional APIs the API server serves, by discovery, cached for a short while. */
export class ApiDiscovery {
  private cache: { at: number; apis: Record<OptionalApi, boolean> } | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly ttlMs = 30_000,
  ) {}

  async apis(): Promise<Record<OptionalApi, boolean>> {
    if (this.cache && Date.now() - this.cache.at < this.ttlMs) return this.cache.apis;
    const entries = await Promise.all(
      OPTIONAL_APIS.map(async (api) => {
        const probe = OPTIONAL_API_PROBES[api];
        try {
          const list = await this.client.request<{ resources?: { name: string }[] }>(
            HttpMethod.GET,
            `/apis/${probe.apiVersion}`,
          );
          return [api, (list.resources ?? []).some((r) => r.name === probe.plural)] as const;
        } catch (err) {
          if (isNotFound(err)) return [api, false] as const;
          throw err;
        }
      }),
    );
    const apis = Object.fromEntries(entries) as Record<OptionalApi, boolean>;
    this.cache = { at: Date.now(), apis };
    return apis;
  }

  invalidate(): void {
    this.cache = undefined;
  }
}

export async function observe(
  client: KubeClient,
  discovery: ApiDiscovery,
  resource: SignalinkObject,
  spec: SignalinkSpec | undefined,
): Promise<Observed> {
  const ns = resource.metadata.namespace!;
  const name = resource.metadata.name;
  const uid = resource.metadata.uid;
  const [apis, deployments, job, secrets] = await Promise.all([
    discovery.apis(),
    client.list<LiveObject>(apiPath('apps/v1', 'deployments', ns), {
      labelSelector: ownedSelector(name),
    }),
    spec
      ? client.get<LiveObject>(
          apiPath('batch/v1', 'jobs', ns, migrationsJobName(name, versionOf(spec.image))),
        )
      : Promise.resolve(undefined),
    spec ? observeSecrets(client, ns, spec) : Promise.resolve({}),
  ]);
  const byRole: Observed['deployments'] = {};
  for (const d of deployments.items) {
    if (!isControlledBy(d, uid)) continue;
    const role = d.metadata.labels?.[LABEL_COMPONENT] as WorkloadRole | undefined;
    if (role && (WORKLOAD_ROLES as readonly string[]).includes(role))
      byRole[role] = observeDeployment(d);
  }
  return {
    deployments: byRole,
    migrations: job && isControlledBy(job, uid) ? observeJob(job) : undefined,
    apis,
    secrets,
  };
}

async function observeSecrets(
  client: KubeClient,
  namespace: string,
  spec: SignalinkSpec,
): Promise<Observed['secrets']> {
  const names = [...new Set(referencedSecrets(spec).map((r) => r.name))];
  const found = await Promise.all(
    names.map(async (n) => {
      const secret = await client.get<{
        data?: Record<string, string>;
        stringData?: Record<string, string>;
      }>(apiPath('v1', 'secrets', namespace, n));
      return [
        n,
        secret ? { keys: Object.keys({ ...secret.data, ...secret.stringData }) } : null,
      ] as const;
    }),
  );
  return Object.fromEntries(found);
}
