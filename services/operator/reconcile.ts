// Reconcile: a pure function from a Signalink resource and what the loop observed to the objects
// to apply, the status to write and the events to record. No I/O, no clock (now is given), so
// every step of an upgrade can be tested by feeding it observed states.
//
// Upgrade order for a new version V: the migrations Job for V runs first while every workload
// keeps the image it runs; when the Job succeeds, relay, analytics, notifier (and a separate
// api) move to V; when they are rolled out, gateways move last (maxUnavailable 0). A failed Job
// sets Degraded and leaves every workload on its old version.
import { findCondition, nextConditions, type ConditionUpdate } from './conditions.js';
import {
  isAutoscaled,
  workloadRoles,
  type DesiredContext,
  type KubeObject,
} from './desired/context.js';
import { configMap, referencedSecrets } from './desired/environment.js';
import { autoscalers, podDisruptionBudgets } from './desired/autoscaling.js';
import { kafkaTopics } from './desired/kafka-topics.js';
import { dashboardConfigMap, prometheusRule, serviceMonitor } from './desired/monitoring.js';
import { httpRoute, networkPolicies, services } from './desired/network.js';
import {
  deployment,
  migrationsJob,
  serviceAccounts,
  type WorkloadVersion,
} from './desired/workloads.js';
import { kindOrder } from './kinds.js';
import {
  imageReference,
  migrationsJobName,
  ownerReference,
  versionOf,
  type WorkloadRole,
} from './naming.js';
import type { Observed, ObservedDeployment, OptionalApi } from './observed.js';
import {
  PAUSE_ANNOTATION,
  isPaused,
  parseSignalink,
  signalinkStatusSchema,
  type Condition,
  type SignalinkObject,
  type SignalinkSpec,
  type SignalinkStatus,
  type SpecProblem,
} from './spec.js';

export interface OperatorEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ReconcileResult {
  /** The desired objects, in apply order (empty only when the spec is invalid). */
  objects: KubeObject[];
  /** `Kind/name` of objects to create when absent and never change (the migrations Job). */
  createOnly: string[];
  /**
   * `Kind/name` of owned objects to keep although not desired: the Job of the version that
   * runs, until the new one runs everywhere (going back to it then needs no new migration run).
   */
  retain: string[];
  /** False: apply nothing and prune nothing this round (bad spec, missing Secret, paused). */
  apply: boolean;
  status: SignalinkStatus;
  events: OperatorEvent[];
  /** Look again after this long even if no watch event arrives. */
  requeueAfterMs?: number;
}

export interface ReconcileOptions {
  /** Rendering without a cluster: no uid in ownerReferences. */
  uid?: string;
  /** The namespace for a resource that names none (render of a file). */
  defaultNamespace?: string;
}

export function objectKey(o: { kind: string; metadata: { name: string } }): string {
  return `${o.kind}/${o.metadata.name}`;
}

/** The Deployment controller has finished rolling out its current template. */
export function rolledOut(d: ObservedDeployment): boolean {
  return (
    d.observedGeneration >= d.generation &&
    d.updatedReplicas >= d.specReplicas &&
    d.replicas <= d.updatedReplicas &&
    d.availableReplicas >= d.updatedReplicas
  );
}

const OPTIONAL_API_NAMES: Record<OptionalApi, string> = {
  strimzi: 'Strimzi (kafka.strimzi.io/v1 KafkaTopic)',
  keda: 'KEDA (keda.sh/v1alpha1 ScaledObject)',
  prometheusOperator: 'prometheus-operator (monitoring.coreos.com/v1)',
  gatewayApi: 'the Gateway API (gateway.networking.k8s.io/v1 HTTPRoute)',
};

function missingApis(spec: SignalinkSpec, apis: Observed['apis']): SpecProblem[] {
  const autoscaled = (['gateway', 'analytics', 'notifier'] as const).some((r) =>
    isAutoscaled(spec, r),
  );
  const wants: { field: string; api: OptionalApi; on: boolean; instead: string }[] = [
    {
      field: 'spec.kafka.strimzi',
      api: 'strimzi',
      on: spec.kafka.strimzi !== undefined,
      instead: 'no KafkaTopics are created',
    },
    {
      field: 'spec.monitoring',
      api: 'prometheusOperator',
      on: spec.monitoring.serviceMonitor || spec.monitoring.prometheusRule,
      instead: 'no ServiceMonitor or PrometheusRule is created',
    },
    {
      field: 'spec.route',
      api: 'gatewayApi',
      on: spec.route.enabled,
      instead: 'no HTTPRoute is created',
    },
    {
      field: 'spec.autoscaling.engine',
      api: 'keda',
      on: spec.autoscaling.engine === 'keda' && autoscaled,
      instead: 'HorizontalPodAutoscalers scale instead',
    },
  ];
  return wants
    .filter((w) => w.on && !apis[w.api])
    .map((w) => ({
      field: w.field,
      message: `needs ${OPTIONAL_API_NAMES[w.api]}, which the API server does not serve; ${w.instead}`,
    }));
}

function missingSecrets(spec: SignalinkSpec, observed: Observed): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const ref of referencedSecrets(spec)) {
    if (!(ref.name in observed.secrets)) continue; // not looked up (render)
    const secret = observed.secrets[ref.name];
    if (secret === null) {
      problems.push({ field: ref.field, message: `Secret ${ref.name} does not exist` });
    } else if (secret && !secret.keys.includes(ref.key)) {
      problems.push({ field: ref.field, message: `Secret ${ref.name} has no key "${ref.key}"` });
    }
  }
  return problems;
}

function describe(problems: SpecProblem[]): string {
  const shown = problems.slice(0, 5).map((p) => `${p.field}: ${p.message}`);
  if (problems.length > 5) shown.push(`and ${problems.length - 5} more`);
  return shown.join('; ');
}

function previousStatus(resource: SignalinkObject): SignalinkStatus {
  const parsed = signalinkStatusSchema.safeParse(resource.status ?? {});
  return parsed.success ? parsed.data : {};
}

function roleStatuses(
  roles: readonly WorkloadRole[],
  observed: Observed,
  desiredReplicas: (role: WorkloadRole) => number,
  desiredVersion: string | undefined,
): NonNullable<SignalinkStatus['roles']> {
  const out: NonNullable<SignalinkStatus['roles']> = {};
  for (const role of roles) {
    const d = observed.deployments[role];
    out[role] = {
      desired: desiredReplicas(role),
      ready: d?.readyReplicas ?? 0,
      updated:
        d &&
        desiredVersion !== undefined &&
        d.version === desiredVersion &&
        d.observedGeneration >= d.generation
          ? d.updatedReplicas
          : 0,
    };
  }
  return out;
}

/** Events for the transitions a user wants to hear about. */
function transitionEvents(
  before: readonly Condition[] | undefined,
  after: Condition[],
): OperatorEvent[] {
  const events: OperatorEvent[] = [];
  for (const c of after) {
    const b = before?.find((x) => x.type === c.type);
    const changed = !b || b.status !== c.status || b.reason !== c.reason;
    const reworded = changed || b.message !== c.message;
    if (c.type === 'MigrationsComplete' && changed) {
      const reason = {
        Running: 'MigrationsStarted',
        Succeeded: 'MigrationsSucceeded',
        Failed: 'MigrationsFailed',
      }[c.reason];
      if (reason) {
        events.push({
          type: c.reason === 'Failed' ? 'Warning' : 'Normal',
          reason,
          message: c.message,
        });
      }
    }
    if (c.type === 'Degraded') {
      if (c.status === 'True' && reworded) {
        events.push({ type: 'Warning', reason: c.reason, message: c.message });
      } else if (c.status === 'False' && b?.status === 'True') {
        events.push({
          type: 'Normal',
          reason: 'Recovered',
          message: `no longer degraded (was ${b.reason})`,
        });
      }
    }
    if (c.type === 'Progressing' && c.reason === 'Upgrading' && reworded) {
      events.push({ type: 'Normal', reason: 'Upgrading', message: c.message });
    }
    if (c.type === 'Ready' && changed && c.status === 'True') {
      events.push({ type: 'Normal', reason: 'Ready', message: c.message });
    }
  }
  return events;
}

function keepCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionUpdate['type'],
): ConditionUpdate | undefined {
  const c = findCondition(conditions, type);
  return c ? { type, status: c.status, reason: c.reason, message: c.message } : undefined;
}

function requeueFor(reason: string): number | undefined {
  switch (reason) {
    case 'MigrationsRunning':
      return 10_000;
    case 'MissingSecret':
      return 30_000;
    case 'MissingAPI':
      return 60_000;
    case 'Upgrading':
    case 'RollingOut':
      return 15_000;
    default:
      return undefined;
  }
}

export function reconcile(
  resource: SignalinkObject,
  observed: Observed,
  now: Date,
  options: ReconcileOptions = {},
): ReconcileResult {
  const generation = resource.metadata.generation ?? 0;
  const before = previousStatus(resource);
  const parsed = parseSignalink(resource);

  if (!parsed.ok) {
    // Nothing is changed or deleted: what runs keeps running until the spec is fixed.
    const message = describe(parsed.problems);
    const updates: ConditionUpdate[] = [
      { type: 'Ready', status: 'False', reason: 'InvalidSpec', message },
      {
        type: 'Progressing',
        status: 'False',
        reason: 'InvalidSpec',
        message: 'waiting for a valid spec',
      },
      { type: 'Degraded', status: 'True', reason: 'InvalidSpec', message },
      keepCondition(before.conditions, 'MigrationsComplete') ?? {
        type: 'MigrationsComplete',
        status: 'Unknown',
        reason: 'InvalidSpec',
        message: 'waiting for a valid spec',
      },
    ];
    const conditions = nextConditions(before.conditions, updates, now, generation);
    const observedRoles = Object.keys(observed.deployments) as WorkloadRole[];
    return {
      objects: [],
      createOnly: [],
      retain: [],
      apply: false,
      status: {
        observedGeneration: generation,
        ...(before.version ? { version: before.version } : {}),
        conditions,
        roles: roleStatuses(
          observedRoles,
          observed,
          (r) => observed.deployments[r]?.specReplicas ?? 0,
          undefined,
        ),
      },
      events: transitionEvents(before.conditions, conditions),
    };
  }

  const spec = parsed.spec;
  const name = resource.metadata.name;
  const ctx: DesiredContext = {
    name,
    namespace: resource.metadata.namespace ?? options.defaultNamespace ?? 'default',
    spec,
    owner: ownerReference(name, options.uid ?? resource.metadata.uid),
    apis: observed.apis,
  };
  const desiredVersion = versionOf(spec.image);
  const desiredImage = imageReference(spec.image);
  const desired: WorkloadVersion = { image: desiredImage, version: desiredVersion };
  const roles = workloadRoles(spec);
  const job =
    observed.migrations?.name === migrationsJobName(name, desiredVersion)
      ? observed.migrations
      : undefined;
  const migrationsDone = job?.state === 'succeeded';

  const atDesired = (role: WorkloadRole) => {
    const d = observed.deployments[role];
    return (
      d !== undefined && d.version === desiredVersion && d.image === desiredImage && rolledOut(d)
    );
  };
  const othersAtDesired = roles.filter((r) => r !== 'gateway').every(atDesired);

  // Which version each Deployment gets this round (undefined: not created yet).
  const targets = new Map<WorkloadRole, WorkloadVersion>();
  for (const role of roles) {
    const d = observed.deployments[role];
    const current = d?.image && d.version ? { image: d.image, version: d.version } : undefined;
    let target: WorkloadVersion | undefined;
    if (!migrationsDone) target = current;
    else if (role !== 'gateway' || !d || othersAtDesired) target = desired;
    else target = current ?? desired;
    if (target) targets.set(role, target);
  }

  const objects: KubeObject[] = [
    ...serviceAccounts(ctx),
    configMap(ctx),
    ...services(ctx),
    migrationsJob(ctx, desired),
    ...roles.flatMap((role) => {
      const t = targets.get(role);
      return t ? [deployment(ctx, role, t)] : [];
    }),
    ...podDisruptionBudgets(ctx),
    ...networkPolicies(ctx),
    ...autoscalers(ctx),
    ...(ctx.apis.strimzi ? kafkaTopics(ctx) : []),
    ...(spec.monitoring.serviceMonitor && ctx.apis.prometheusOperator ? [serviceMonitor(ctx)] : []),
    ...(spec.monitoring.prometheusRule && ctx.apis.prometheusOperator ? [prometheusRule(ctx)] : []),
    ...(spec.monitoring.dashboards ? [dashboardConfigMap(ctx)] : []),
    ...(spec.route.enabled && ctx.apis.gatewayApi ? [httpRoute(ctx)] : []),
  ].map((o) => o as unknown as KubeObject);
  objects.sort((a, b) => kindOrder(a.kind) - kindOrder(b.kind));
  const jobName = migrationsJobName(name, desiredVersion);

  // ----- status -----
  const secretsMissing = missingSecrets(spec, observed);
  const apisMissing = missingApis(spec, observed.apis);
  const paused = isPaused(resource);
  const deadline = roles.filter((r) => observed.deployments[r]?.progressDeadlineExceeded);
  const desiredReplicas = (role: WorkloadRole) => {
    if (isAutoscaled(spec, role)) {
      const min =
        role === 'gateway'
          ? spec.gateway.autoscaling.minReplicas
          : spec[role as 'analytics' | 'notifier'].autoscaling.minReplicas;
      return observed.deployments[role]?.specReplicas ?? min;
    }
    return spec[role].replicas;
  };
  const roleStatus = roleStatuses(roles, observed, desiredReplicas, desiredVersion);
  const notReady = roles.filter((r) => roleStatus[r]!.ready < roleStatus[r]!.desired);
  const allAtDesired = roles.every(atDesired);

  const migrations: ConditionUpdate = !job
    ? {
        type: 'MigrationsComplete',
        status: 'False',
        reason: 'Pending',
        message: `migrations for ${desiredVersion} wait to run (Job ${jobName})`,
      }
    : job.state === 'running'
      ? {
          type: 'MigrationsComplete',
          status: 'False',
          reason: 'Running',
          message: `running migrations for ${desiredVersion} (Job ${job.name})`,
        }
      : job.state === 'failed'
        ? {
            type: 'MigrationsComplete',
            status: 'False',
            reason: 'Failed',
            message: `migrations for ${desiredVersion} failed (Job ${job.name}): ${job.message ?? 'see the Job’s pods'}; workloads stay on ${before.version ?? 'their current version'}; delete the Job to retry`,
          }
        : {
            type: 'MigrationsComplete',
            status: 'True',
            reason: 'Succeeded',
            message: `migrations for ${desiredVersion} completed (Job ${job.name})`,
          };

  const degradedCauses: { reason: string; message: string }[] = [];
  if (secretsMissing.length)
    degradedCauses.push({ reason: 'MissingSecret', message: describe(secretsMissing) });
  if (job?.state === 'failed')
    degradedCauses.push({ reason: 'MigrationsFailed', message: migrations.message });
  if (deadline.length) {
    degradedCauses.push({
      reason: 'ProgressDeadlineExceeded',
      message: `${deadline.join(', ')} did not roll out within its progress deadline`,
    });
  }
  if (apisMissing.length)
    degradedCauses.push({ reason: 'MissingAPI', message: describe(apisMissing) });
  const degraded: ConditionUpdate = degradedCauses.length
    ? {
        type: 'Degraded',
        status: 'True',
        reason: degradedCauses[0]!.reason,
        message: degradedCauses.map((c) => c.message).join('; '),
      }
    : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'nothing is wrong' };

  const upgradingRoles = roles.filter((r) => {
    const d = observed.deployments[r];
    return d !== undefined && (d.version !== desiredVersion || d.image !== desiredImage);
  });
  const rolling = roles.filter((r) => {
    const d = observed.deployments[r];
    return !d || !rolledOut(d);
  });
  const apply = !paused && secretsMissing.length === 0;
  let progressing: ConditionUpdate;
  if (paused) {
    progressing = {
      type: 'Progressing',
      status: 'False',
      reason: 'Paused',
      message: `${PAUSE_ANNOTATION} is "true": nothing is changed`,
    };
  } else if (secretsMissing.length) {
    progressing = {
      type: 'Progressing',
      status: 'False',
      reason: 'MissingSecret',
      message: 'waiting for the Secrets the spec names',
    };
  } else if (job?.state === 'failed') {
    progressing = {
      type: 'Progressing',
      status: 'False',
      reason: 'MigrationsFailed',
      message: migrations.message,
    };
  } else if (deadline.length) {
    progressing = {
      type: 'Progressing',
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: degraded.message,
    };
  } else if (!migrationsDone) {
    progressing = {
      type: 'Progressing',
      status: 'True',
      reason: 'MigrationsRunning',
      message: `running migrations for ${desiredVersion} before any workload changes (Job ${jobName})`,
    };
  } else if (upgradingRoles.length) {
    const behind = roles.filter((r) => r !== 'gateway' && !atDesired(r));
    progressing = {
      type: 'Progressing',
      status: 'True',
      reason: 'Upgrading',
      message: othersAtDesired
        ? `rolling gateway to ${desiredVersion}`
        : `rolling ${behind.join(', ')} to ${desiredVersion}; gateways follow`,
    };
  } else if (rolling.length) {
    progressing = {
      type: 'Progressing',
      status: 'True',
      reason: 'RollingOut',
      message: `waiting for ${rolling.join(', ')} to roll out`,
    };
  } else {
    progressing = {
      type: 'Progressing',
      status: 'False',
      reason: 'Complete',
      message: `${desiredVersion} runs in every role`,
    };
  }

  const gatewayServing =
    (roleStatus.gateway?.ready ?? 0) > 0 || (roleStatus.gateway?.desired ?? 0) === 0;
  let ready: ConditionUpdate;
  if (secretsMissing.length) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'MissingSecret',
      message: describe(secretsMissing),
    };
  } else if (job?.state === 'failed') {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'MigrationsFailed',
      message: migrations.message,
    };
  } else if (!migrationsDone) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'MigrationsPending',
      message: progressing.message,
    };
  } else if (!allAtDesired) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: upgradingRoles.length ? 'Upgrading' : 'RollingOut',
      message: progressing.message,
    };
  } else if (notReady.length || !gatewayServing) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'ReplicasNotReady',
      message: notReady
        .map((r) => `${r} ${roleStatus[r]!.ready}/${roleStatus[r]!.desired} ready`)
        .join(', '),
    };
  } else {
    ready = {
      type: 'Ready',
      status: 'True',
      reason: 'AllReplicasReady',
      message: `${desiredVersion} runs with every replica ready`,
    };
  }

  const conditions = nextConditions(
    before.conditions,
    [ready, progressing, degraded, migrations],
    now,
    generation,
  );
  const runningVersion = allAtDesired
    ? desiredVersion
    : (before.version ?? observed.deployments.gateway?.version);
  const status: SignalinkStatus = {
    observedGeneration: generation,
    ...(runningVersion ? { version: runningVersion } : {}),
    conditions,
    roles: roleStatus,
  };
  const requeues = [progressing.reason, degraded.reason]
    .map(requeueFor)
    .filter((n): n is number => n !== undefined);
  return {
    objects,
    createOnly: [objectKey({ kind: 'Job', metadata: { name: jobName } })],
    retain:
      runningVersion && runningVersion !== desiredVersion
        ? [objectKey({ kind: 'Job', metadata: { name: migrationsJobName(name, runningVersion) } })]
        : [],
    apply,
    status,
    events: transitionEvents(before.conditions, conditions),
    ...(requeues.length ? { requeueAfterMs: Math.min(...requeues) } : {}),
  };
}

/**
 * The status after the loop itself hit a problem reconcile could not foresee (an apply the API
 * server refused, an object of the same name owned by someone else): Degraded says so.
 */
export function withLoopProblem(
  status: SignalinkStatus,
  previous: unknown,
  reason: string,
  message: string,
  now: Date,
): SignalinkStatus {
  const before = signalinkStatusSchema.safeParse(previous ?? {});
  const prior = before.success ? findCondition(before.data.conditions, 'Degraded') : undefined;
  const conditions = (status.conditions ?? []).map((c) => {
    if (c.type !== 'Degraded') return c;
    const own = c.status === 'True';
    return {
      ...c,
      status: 'True' as const,
      reason: own ? c.reason : reason,
      message: own ? `${c.message}; ${message}` : message,
      // Unchanged while it stays degraded, so a retry that fails the same way writes nothing.
      lastTransitionTime: own
        ? c.lastTransitionTime
        : prior?.status === 'True'
          ? prior.lastTransitionTime
          : now.toISOString(),
    };
  });
  return { ...status, conditions };
}
