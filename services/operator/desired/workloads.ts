// ServiceAccounts, the role Deployments and the migrations Job, with the pod hardening every
// Signalink pod gets: numeric non-root user, read-only root filesystem, no privilege escalation,
// no capabilities, seccomp RuntimeDefault, probes on /readyz and /healthz, and a drain window.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import {
  CONFIG_HASH_ANNOTATION,
  VERSION_ANNOTATION,
  labelsFor,
  migrationsJobName,
  roleObjectName,
  selectorFor,
  type WorkloadRole,
} from '../naming.js';
import type { ResourceRequirements, SignalinkSpec } from '../spec.js';
import {
  CONTAINER_PORT,
  isAutoscaled,
  metadataFor,
  processRoles,
  workloadRoles,
  type DesiredContext,
} from './context.js';
import {
  TMP_DIR,
  configHash,
  configMapName,
  mergeEnv,
  notifierEnvironment,
  secretEnvironment,
} from './environment.js';

export const CONTAINER_NAME = 'signalink';
export const MIGRATIONS_COMPONENT = 'migrations';

type RoleSpec = SignalinkSpec['gateway'] | SignalinkSpec['relay'];

function roleSpec(spec: SignalinkSpec, role: WorkloadRole): RoleSpec {
  return spec[role];
}

export function serviceAccountName(instance: string, component: string): string {
  return roleObjectName(instance, component);
}

export function serviceAccounts(ctx: DesiredContext): IServiceAccount[] {
  const components: { component: string; annotations?: Record<string, string> }[] = [
    ...workloadRoles(ctx.spec).map((role) => ({
      component: role as string,
      annotations: roleSpec(ctx.spec, role).serviceAccountAnnotations,
    })),
    { component: MIGRATIONS_COMPONENT },
  ];
  return components.map(({ component, annotations }) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: metadataFor(ctx, serviceAccountName(ctx.name, component), component, {
      annotations,
    }),
    // Signalink never talks to the Kubernetes API: no token in its pods.
    automountServiceAccountToken: false,
  }));
}

/** Seconds a pod may take to stop: the preStop pause, the drain, and a margin for exit. */
export function terminationGraceSeconds(spec: SignalinkSpec): number {
  return spec.drain.preStopSeconds + Math.ceil(spec.drain.timeoutMs / 1000) + 10;
}

interface PodSettings {
  env?: SignalinkSpec['env'];
  podAnnotations?: Record<string, string>;
  podLabels?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: SignalinkSpec['tolerations'];
  affinity?: SignalinkSpec['affinity'];
  priorityClassName?: string;
}

/** A role's own settings win: maps merge key by key, lists and affinity replace the shared ones. */
function mergedPodSettings(spec: SignalinkSpec, own: PodSettings) {
  const nodeSelector = { ...spec.nodeSelector, ...own.nodeSelector };
  return {
    annotations: { ...spec.podAnnotations, ...own.podAnnotations },
    labels: { ...spec.podLabels, ...own.podLabels },
    nodeSelector: Object.keys(nodeSelector).length > 0 ? nodeSelector : undefined,
    tolerations: own.tolerations ?? spec.tolerations,
    affinity: own.affinity ?? spec.affinity,
    priorityClassName: own.priorityClassName ?? spec.priorityClassName,
    env: mergeEnv(spec.env, own.env),
  };
}

function topologySpread(
  spec: SignalinkSpec,
  selector: Record<string, string>,
): ITopologySpreadConstraint[] | undefined {
  if (!spec.topologySpread.enabled) return undefined;
  return ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey) => ({
    topologyKey,
    maxSkew: spec.topologySpread.maxSkew,
    whenUnsatisfiable: spec.topologySpread.whenUnsatisfiable,
    labelSelector: { matchLabels: selector },
    // Spread each rollout's pods on their own, not old and new together.
    matchLabelKeys: ['pod-template-hash'],
  }));
}

function containerSecurity(): IContainer['securityContext'] {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function basePodSpec(
  ctx: DesiredContext,
  component: string,
  settings: ReturnType<typeof mergedPodSettings>,
  container: IContainer,
): IPodSpec {
  const { spec } = ctx;
  return {
    serviceAccountName: serviceAccountName(ctx.name, component),
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: spec.podSecurity.runAsUser,
      runAsGroup: spec.podSecurity.runAsGroup,
      fsGroup: spec.podSecurity.fsGroup,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(spec.imagePullSecrets?.length ? { imagePullSecrets: spec.imagePullSecrets } : {}),
    ...(settings.nodeSelector ? { nodeSelector: settings.nodeSelector } : {}),
    ...(settings.tolerations?.length ? { tolerations: settings.tolerations } : {}),
    ...(settings.affinity ? { affinity: settings.affinity } : {}),
    ...(settings.priorityClassName ? { priorityClassName: settings.priorityClassName } : {}),
    containers: [container],
    volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }],
  };
}

function container(
  ctx: DesiredContext,
  image: string,
  env: IContainer['env'],
  resources: ResourceRequirements,
  extra: Partial<IContainer> = {},
): IContainer {
  return {
    name: CONTAINER_NAME,
    image,
    imagePullPolicy: ctx.spec.image.pullPolicy,
    ...(extra.command ? { command: extra.command, args: extra.args } : {}),
    ...(extra.ports ? { ports: extra.ports } : {}),
    envFrom: [{ configMapRef: { name: configMapName(ctx.name) } }],
    env,
    resources,
    ...(extra.startupProbe ? { startupProbe: extra.startupProbe } : {}),
    ...(extra.livenessProbe ? { livenessProbe: extra.livenessProbe } : {}),
    ...(extra.readinessProbe ? { readinessProbe: extra.readinessProbe } : {}),
    ...(extra.lifecycle ? { lifecycle: extra.lifecycle } : {}),
    securityContext: containerSecurity(),
    volumeMounts: [{ name: 'tmp', mountPath: TMP_DIR }],
  };
}

/** What version and image a Deployment runs: the desired ones, or those it runs now (held). */
export interface WorkloadVersion {
  image: string;
  version: string;
}

export function deployment(
  ctx: DesiredContext,
  role: WorkloadRole,
  target: WorkloadVersion,
): IDeployment & { metadata: { name: string } } {
  const { spec } = ctx;
  const own = roleSpec(spec, role);
  const settings = mergedPodSettings(spec, own);
  const selector = selectorFor(ctx.name, role);
  const c = container(
    ctx,
    target.image,
    mergeEnv(
      [{ name: 'ROLES', value: processRoles(spec, role) }],
      secretEnvironment(spec),
      role === 'notifier' ? notifierEnvironment(spec) : [],
      settings.env,
    ),
    own.resources,
    {
      ports: [{ name: 'http', containerPort: CONTAINER_PORT, protocol: 'TCP' }],
      startupProbe: {
        httpGet: { path: '/healthz', port: 'http' },
        periodSeconds: 2,
        failureThreshold: 60,
        timeoutSeconds: 2,
      },
      livenessProbe: {
        httpGet: { path: '/healthz', port: 'http' },
        periodSeconds: 10,
        failureThreshold: 3,
        timeoutSeconds: 3,
      },
      // /readyz turns 503 as soon as a drain starts, so endpoints drop the pod before it closes.
      readinessProbe: {
        httpGet: { path: '/readyz', port: 'http' },
        periodSeconds: 5,
        failureThreshold: 2,
        successThreshold: 1,
        timeoutSeconds: 3,
      },
      ...(spec.drain.preStopSeconds > 0
        ? { lifecycle: { preStop: { sleep: { seconds: spec.drain.preStopSeconds } } } }
        : {}),
    },
  );
  const spread = topologySpread(spec, selector);
  const template: IPodTemplateSpec = {
    metadata: {
      labels: { ...settings.labels, ...labelsFor(ctx.name, role) },
      annotations: {
        ...settings.annotations,
        [VERSION_ANNOTATION]: target.version,
        [CONFIG_HASH_ANNOTATION]: configHash(spec),
      },
    },
    spec: {
      ...basePodSpec(ctx, role, settings, c),
      terminationGracePeriodSeconds: terminationGraceSeconds(spec),
      ...(spread ? { topologySpreadConstraints: spread } : {}),
    },
  };
  // Serving roles never drop below their replicas during a rollout; gateways above all, since
  // each pod holds long-lived sockets.
  const serving = role === 'gateway' || role === 'api';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadataFor(ctx, roleObjectName(ctx.name, role), role),
    spec: {
      // While an autoscaler owns the replica count, the operator leaves it alone (PROTOCOL).
      ...(isAutoscaled(spec, role) ? {} : { replicas: own.replicas }),
      revisionHistoryLimit: 5,
      progressDeadlineSeconds: 600,
      minReadySeconds: serving ? 5 : 0,
      selector: { matchLabels: selector },
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: serving
          ? { maxUnavailable: 0, maxSurge: 1 }
          : { maxUnavailable: '25%', maxSurge: '25%' },
      },
      template,
    },
  };
}

export function migrationsJob(
  ctx: DesiredContext,
  target: WorkloadVersion,
): IJob & { metadata: { name: string } } {
  const { spec } = ctx;
  const settings = mergedPodSettings(spec, {});
  const c = container(
    ctx,
    target.image,
    mergeEnv(secretEnvironment(spec), settings.env),
    spec.migrations.resources,
    { command: ['node'], args: ['dist/main.js', 'migrate'] },
  );
  const name = migrationsJobName(ctx.name, target.version);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadataFor(ctx, name, MIGRATIONS_COMPONENT, {
      annotations: { [VERSION_ANNOTATION]: target.version },
    }),
    spec: {
      backoffLimit: spec.migrations.backoffLimit,
      activeDeadlineSeconds: spec.migrations.activeDeadlineSeconds,
      template: {
        metadata: {
          labels: { ...settings.labels, ...labelsFor(ctx.name, MIGRATIONS_COMPONENT) },
          annotations: { ...settings.annotations, [VERSION_ANNOTATION]: target.version },
        },
        spec: {
          ...basePodSpec(ctx, MIGRATIONS_COMPONENT, settings, c),
          restartPolicy: 'Never',
        },
      },
    },
  };
}
