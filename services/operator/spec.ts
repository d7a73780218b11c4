// The Signalink custom resource (signalink.io/v1alpha1): one zod schema is the source of the
// TypeScript types, of the validation `render` and the operator run, and of the CRD's OpenAPI
// schema (crd.ts generates it from this file, defaults and CEL rules included), so the API
// server and the operator cannot disagree about what a valid resource is.
import { z } from 'zod';
import { Affinity, type IAffinity } from 'kubernetes-models/v1/Affinity';
import { EnvVarSource, type IEnvVarSource } from 'kubernetes-models/v1/EnvVarSource';
import { Toleration, type IToleration } from 'kubernetes-models/v1/Toleration';
import {
  NetworkPolicyPeer,
  type INetworkPolicyPeer,
} from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';

export const GROUP = 'signalink.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'Signalink';
export const PLURAL = 'signalinks';
/** Set to "true" on a resource to stop the operator from changing anything it owns. */
export const PAUSE_ANNOTATION = 'signalink.io/paused';
/** Owned object names append a role (`-analytics`, `-migrate-…`): Services allow 63 characters. */
export const MAX_NAME_LENGTH = 40;

/** One cross-field rule, written twice on purpose: as CEL for the API server, as TS for zod. */
export interface CrossFieldRule<T> {
  /** CEL over `self` (the object the rule is attached to), as the API server evaluates it. */
  rule: string;
  message: string;
  /** JSONPath of the offending field relative to `self` (the API server reports it). */
  fieldPath?: string;
  holds(value: T): boolean;
}

export interface CelValidation {
  rule: string;
  message: string;
  fieldPath?: string;
}

function fieldPathToZodPath(fieldPath: string | undefined): string[] {
  return fieldPath ? fieldPath.split('.').filter((p) => p.length > 0) : [];
}

/** Attaches rules to a schema: checked by zod after defaults, emitted as x-kubernetes-validations. */
function withRules<S extends z.ZodType>(
  schema: S,
  description: string,
  rules: CrossFieldRule<z.output<S>>[],
): S {
  const checked = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (!r.holds(value)) {
        ctx.addIssue({ code: 'custom', message: r.message, path: fieldPathToZodPath(r.fieldPath) });
      }
    }
  }) as unknown as S;
  const validations: CelValidation[] = rules.map((r) => ({
    rule: r.rule,
    message: r.message,
    ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
  }));
  return checked.meta({ description, 'x-kubernetes-validations': validations }) as S;
}

// ----- building blocks -----

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const RESOURCE_NAME_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
const QUANTITY =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const IMAGE_REPOSITORY =
  /^([a-zA-Z0-9][a-zA-Z0-9.-]*(:[0-9]+)?\/)?[a-z0-9]+([._-]+[a-z0-9]+)*(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/;
const IMAGE_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const IMAGE_DIGEST = /^sha256:[a-f0-9]{64}$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const GATEWAY_API_DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const PROMETHEUS_DURATION =
  /^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$/;
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const objectName = (what: string) =>
  z.string().min(1).max(253).regex(DNS_SUBDOMAIN).describe(`name of the ${what}`);

const quantity = z
  .union([z.int().min(0), z.string().regex(QUANTITY)])
  .meta({ 'x-kubernetes-int-or-string': true, description: 'a Kubernetes quantity' });

/** A map whose size is bounded (the API server's CEL cost estimates need maxProperties). */
function boundedMap<V extends z.ZodType>(value: V, maxProperties: number, description: string) {
  return z
    .record(z.string().min(1).max(317), value)
    .refine((m) => Object.keys(m).length <= maxProperties, {
      message: `at most ${maxProperties} entries`,
    })
    .meta({ maxProperties, description });
}

const stringMap = (maxProperties: number, description: string) =>
  boundedMap(z.string().max(4096), maxProperties, description);

/**
 * A field of a Kubernetes core type (affinity, tolerations, ...): the CRD keeps it as an open
 * object (like most operators, to stay small and version-independent) and the operator checks it
 * against the Kubernetes schema from kubernetes-models, reporting the exact field.
 */
function kubernetesTyped<T>(
  description: string,
  validate: (value: unknown) => void,
): z.ZodType<T, Record<string, unknown>> {
  return z
    .record(z.string(), z.unknown())
    .superRefine((value, ctx) => {
      try {
        validate(value);
      } catch (err) {
        const details = (err as { errors?: { instancePath?: string; message?: string }[] }).errors;
        for (const d of details ?? [{ message: (err as Error).message }]) {
          ctx.addIssue({
            code: 'custom',
            message: d.message ?? 'invalid',
            path: (d.instancePath ?? '').split('/').filter((p) => p.length > 0),
          });
        }
      }
    })
    .meta({
      description,
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    }) as unknown as z.ZodType<T, Record<string, unknown>>;
}

const secretKeySelector = (secretOf: string, defaultKey: string) =>
  z
    .strictObject({
      name: objectName('Secret'),
      key: z
        .string()
        .min(1)
        .max(253)
        .regex(SECRET_KEY)
        .default(defaultKey)
        .describe(`key in the Secret (default "${defaultKey}")`),
    })
    .describe(`Secret holding ${secretOf}`);

const resources = (defaults: ResourceRequirements) =>
  z
    .strictObject({
      requests: boundedMap(quantity, 16, 'minimum resources (cpu, memory, ...)').optional(),
      limits: boundedMap(quantity, 16, 'maximum resources (cpu, memory, ...)').optional(),
    })
    .default(defaults)
    .describe('container resources; when set, replaces the default as a whole');

export interface ResourceRequirements {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
}

function uniqueBy<T>(key: (item: T) => string) {
  return (items: T[]) => new Set(items.map(key)).size === items.length;
}

/** A list the API server merges by a key (x-kubernetes-list-type: map): keys are unique. */
function keyedList<S extends z.ZodType<{ name: string }>>(item: S, maxItems: number) {
  return z
    .array(item)
    .max(maxItems)
    .refine(
      uniqueBy((e: { name: string }) => e.name),
      { message: 'names must be unique' },
    )
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] });
}

/** A list of unique strings (x-kubernetes-list-type: set). */
function stringSet(item: z.ZodString, maxItems: number) {
  return z
    .array(item)
    .max(maxItems)
    .refine(
      uniqueBy((e: string) => e),
      { message: 'entries must be unique' },
    )
    .meta({ 'x-kubernetes-list-type': 'set' });
}

const envVar = withRules(
  z.strictObject({
    name: z.string().min(1).max(253).regex(ENV_NAME),
    value: z.string().max(32_768).optional(),
    valueFrom: kubernetesTyped<IEnvVarSource>('a Kubernetes EnvVarSource', (v) =>
      new EnvVarSource(v as IEnvVarSource).validate(),
    ).optional(),
  }),
  'an environment variable, as in a Pod',
  [
    {
      rule: '!(has(self.value) && has(self.valueFrom))',
      message: 'set value or valueFrom, not both',
      holds: (e) => !(e.value !== undefined && e.valueFrom !== undefined),
    },
  ],
);

/** Set by the operator for every process; a user value would break what it manages. */
export const RESERVED_ENV = ['ROLES', 'PORT', 'HOST'] as const;

const envList = withRules(
  keyedList(envVar, 128),
  'extra environment variables; a role’s own list wins over the shared one',
  [
    {
      rule: `self.all(e, !(e.name in [${RESERVED_ENV.map((n) => `'${n}'`).join(', ')}]))`,
      message: `${RESERVED_ENV.join(', ')} are set by the operator`,
      holds: (list) => list.every((e) => !(RESERVED_ENV as readonly string[]).includes(e.name)),
    },
  ],
);

const tolerations = z
  .array(
    kubernetesTyped<IToleration>('a Kubernetes Toleration', (v) =>
      new Toleration(v as IToleration).validate(),
    ),
  )
  .max(64);

const podLabels = withRules(
  stringMap(64, 'labels added to the pods (app.kubernetes.io/* are the operator’s)'),
  'labels added to the pods (app.kubernetes.io/* are the operator’s)',
  [
    {
      rule: "self.all(k, !k.startsWith('app.kubernetes.io/'))",
      message: 'app.kubernetes.io/ labels are set by the operator',
      holds: (m) => Object.keys(m).every((k) => !k.startsWith('app.kubernetes.io/')),
    },
  ],
);

/** Scheduling and pod settings, shared at the top of the spec and overridable per role. */
const podSettings = {
  env: envList.optional(),
  podAnnotations: stringMap(64, 'annotations added to the pods').optional(),
  podLabels: podLabels.optional(),
  nodeSelector: stringMap(32, 'node labels the pods require').optional(),
  tolerations: tolerations.optional(),
  affinity: kubernetesTyped<IAffinity>('a Kubernetes Affinity', (v) =>
    new Affinity(v as IAffinity).validate(),
  ).optional(),
  priorityClassName: z.string().min(1).max(253).regex(DNS_SUBDOMAIN).optional(),
};

const roleCommon = (replicas: number, defaults: ResourceRequirements) => ({
  replicas: z.int().min(0).max(1000).default(replicas).describe('pods (ignored while autoscaled)'),
  resources: resources(defaults),
  serviceAccountAnnotations: stringMap(
    32,
    'annotations on the role’s ServiceAccount (cloud workload identity)',
  ).optional(),
  ...podSettings,
});

function minMaxRule<T extends { minReplicas: number; maxReplicas: number }>(): CrossFieldRule<T> {
  return {
    rule: 'self.minReplicas <= self.maxReplicas',
    message: 'minReplicas must not exceed maxReplicas',
    fieldPath: '.minReplicas',
    holds: (a) => a.minReplicas <= a.maxReplicas,
  };
}

const gatewayAutoscaling = withRules(
  z.strictObject({
    enabled: z.boolean().default(false),
    minReplicas: z.int().min(1).max(1000).default(2),
    maxReplicas: z.int().min(1).max(1000).default(10),
    targetConnectionsPerPod: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(2000)
      .describe('average signalink_gateway_connections per pod to scale at'),
    scaleDownStabilizationSeconds: z
      .int()
      .min(0)
      .max(3600)
      .default(600)
      .describe('how long the autoscaler waits before removing gateways (sockets are long-lived)'),
  }),
  'gateway autoscaling on signalink_gateway_connections; while enabled the operator never sets the Deployment’s replicas',
  [minMaxRule()],
).prefault({});

const lagAutoscaling = (maxReplicas: number) =>
  withRules(
    z.strictObject({
      enabled: z.boolean().default(false),
      minReplicas: z.int().min(1).max(1000).default(1),
      maxReplicas: z.int().min(1).max(1000).default(maxReplicas),
      lagThreshold: z
        .int()
        .min(1)
        .max(100_000_000)
        .default(1000)
        .describe('consumer lag (events) per pod to scale at'),
      scaleDownStabilizationSeconds: z.int().min(0).max(3600).default(300),
    }),
    'autoscaling on the consumer group’s lag; replicas above the partition count stay idle',
    [minMaxRule()],
  ).prefault({});

export const signalinkSpecSchema = withRules(
  z.strictObject({
    image: withRules(
      z.strictObject({
        repository: z.string().min(1).max(255).regex(IMAGE_REPOSITORY),
        tag: z.string().regex(IMAGE_TAG).optional(),
        digest: z.string().regex(IMAGE_DIGEST).optional(),
        pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      }),
      'the Signalink image; the tag (or, without one, the digest) is the version',
      [
        {
          rule: 'has(self.tag) || has(self.digest)',
          message: 'set tag, digest or both',
          fieldPath: '.tag',
          holds: (i) => i.tag !== undefined || i.digest !== undefined,
        },
      ],
    ),
    imagePullSecrets: keyedList(z.strictObject({ name: objectName('Secret') }), 16).optional(),
    database: z
      .strictObject({
        secretRef: secretKeySelector('the PostgreSQL connection URI (DATABASE_URL)', 'uri'),
        poolMax: z.int().min(1).max(1000).default(10).describe('connections per pod'),
      })
      .describe(
        'PostgreSQL 13+; the key defaults to "uri", so CloudNativePG’s <cluster>-app works',
      ),
    redis: withRules(
      z.strictObject({
        url: z
          .string()
          .max(2048)
          .regex(/^rediss?:\/\/\S+$/)
          .optional(),
        secretRef: secretKeySelector('the Redis URL (REDIS_URL)', 'url').optional(),
        keyPrefix: z.string().max(100).default('signalink:'),
      }),
      'Redis 6.2+ for fan-out, presence and rate limits',
      [
        {
          rule: 'has(self.url) != has(self.secretRef)',
          message: 'set exactly one of url and secretRef',
          fieldPath: '.url',
          holds: (r) => (r.url !== undefined) !== (r.secretRef !== undefined),
        },
      ],
    ),
    kafka: z.strictObject({
      bootstrapServers: z
        .string()
        .max(4096)
        .regex(/^[^\s,]+:[0-9]+(,[^\s,]+:[0-9]+)*$/)
        .describe('comma list of host:port'),
      topicPrefix: z
        .string()
        .max(100)
        .regex(/^[A-Za-z0-9._-]*$/)
        .default('')
        .describe('prefixed to every topic and consumer group name'),
      strimzi: withRules(
        z.strictObject({
          clusterName: z.string().min(1).max(63).regex(DNS_LABEL),
          partitions: z.int().min(1).max(10_000).default(12),
          replicas: z.int().min(1).max(32).default(3),
          minInSyncReplicas: z.int().min(1).max(32).default(2),
          retentionHours: z.int().min(1).max(87_600).default(168),
        }),
        'manage the four topics as Strimzi KafkaTopics in this namespace (label strimzi.io/cluster); they are never pruned',
        [
          {
            rule: 'self.minInSyncReplicas <= self.replicas',
            message: 'minInSyncReplicas must not exceed replicas',
            fieldPath: '.minInSyncReplicas',
            holds: (s) => s.minInSyncReplicas <= s.replicas,
          },
        ],
      ).optional(),
    }),
    jwt: z.strictObject({
      secretRef: secretKeySelector('the HS256 key for access tokens (JWT_SECRET)', 'secret'),
    }),
    api: z
      .strictObject({
        separate: z
          .boolean()
          .default(false)
          .describe('run the REST API in its own pods instead of in the gateway pods'),
        ...roleCommon(2, {
          requests: { cpu: '250m', memory: '256Mi' },
          limits: { cpu: '1', memory: '768Mi' },
        }),
      })
      .prefault({}),
    gateway: z
      .strictObject({
        ...roleCommon(2, {
          requests: { cpu: '250m', memory: '384Mi' },
          limits: { cpu: '1', memory: '1Gi' },
        }),
        autoscaling: gatewayAutoscaling,
        service: z
          .strictObject({
            type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
            port: z.int().min(1).max(65535).default(80),
            annotations: stringMap(32, 'annotations on the gateway Service').optional(),
          })
          .prefault({}),
      })
      .prefault({}),
    relay: z
      .strictObject(
        roleCommon(2, {
          requests: { cpu: '100m', memory: '192Mi' },
          limits: { cpu: '500m', memory: '512Mi' },
        }),
      )
      .describe('outbox → Kafka; extra replicas stand by on a PostgreSQL lease')
      .prefault({}),
    analytics: z
      .strictObject({
        ...roleCommon(1, {
          requests: { cpu: '100m', memory: '256Mi' },
          limits: { cpu: '1', memory: '768Mi' },
        }),
        autoscaling: lagAutoscaling(6),
      })
      .prefault({}),
    notifier: withRules(
      z.strictObject({
        ...roleCommon(1, {
          requests: { cpu: '100m', memory: '256Mi' },
          limits: { cpu: '1', memory: '768Mi' },
        }),
        autoscaling: lagAutoscaling(6),
        transport: z.enum(['log', 'fcm', 'webhook']).default('log').describe('push transport'),
        webhook: z
          .strictObject({
            url: z
              .string()
              .max(2048)
              .regex(/^https?:\/\/\S+$/),
            secretRef: secretKeySelector('the webhook HMAC-SHA256 key', 'secret'),
            timeoutMs: z.int().min(100).max(600_000).default(5000),
          })
          .optional(),
        fcm: z
          .strictObject({
            secretRef: secretKeySelector('the FCM service account JSON', 'service-account.json'),
          })
          .optional(),
        email: withRules(
          z.strictObject({
            enabled: z.boolean().default(false),
            smtpSecretRef: secretKeySelector('the SMTP URL (SMTP_URL)', 'url').optional(),
            from: z
              .string()
              .max(320)
              .regex(/^[^\r\n]*@[^\r\n]+$/)
              .optional(),
            digestWindowSeconds: z.int().min(1).max(86_400).optional(),
          }),
          'email digests for offline members',
          [
            {
              rule: '!self.enabled || has(self.smtpSecretRef)',
              message: 'smtpSecretRef is required when email is enabled',
              fieldPath: '.smtpSecretRef',
              holds: (e) => !e.enabled || e.smtpSecretRef !== undefined,
            },
          ],
        ).prefault({}),
      }),
      'push notifications for offline members',
      [
        {
          rule: "self.transport != 'webhook' || has(self.webhook)",
          message: 'webhook (url and secretRef) is required when transport is webhook',
          fieldPath: '.webhook',
          holds: (n) => n.transport !== 'webhook' || n.webhook !== undefined,
        },
        {
          rule: "self.transport != 'fcm' || has(self.fcm)",
          message: 'fcm.secretRef is required when transport is fcm',
          fieldPath: '.fcm',
          holds: (n) => n.transport !== 'fcm' || n.fcm !== undefined,
        },
      ],
    ).prefault({}),
    autoscaling: z
      .strictObject({
        engine: z
          .enum(['auto', 'keda', 'hpa'])
          .default('auto')
          .describe('auto: KEDA ScaledObjects when KEDA is installed, else autoscaling/v2 HPAs'),
        prometheus: z
          .strictObject({
            serverAddress: z
              .string()
              .max(2048)
              .regex(/^https?:\/\/\S+$/),
          })
          .describe('where KEDA queries signalink_gateway_connections')
          .optional(),
      })
      .prefault({}),
    monitoring: z
      .strictObject({
        serviceMonitor: z.boolean().default(false),
        prometheusRule: z.boolean().default(false),
        dashboards: z.boolean().default(false),
        interval: z.string().regex(PROMETHEUS_DURATION).default('30s'),
        labels: stringMap(
          16,
          'labels on the ServiceMonitor and PrometheusRule (for Prometheus’ selectors)',
        ).optional(),
        dashboardLabels: stringMap(16, 'labels the Grafana sidecar selects dashboards by').default({
          grafana_dashboard: '1',
        }),
      })
      .prefault({}),
    route: withRules(
      z.strictObject({
        enabled: z.boolean().default(false),
        parentRefs: z
          .array(
            z.strictObject({
              name: z.string().min(1).max(253),
              namespace: z.string().min(1).max(63).regex(DNS_LABEL).optional(),
              sectionName: z.string().min(1).max(253).regex(DNS_SUBDOMAIN).optional(),
              port: z.int().min(1).max(65535).optional(),
            }),
          )
          .max(8)
          .default([]),
        hostnames: stringSet(z.string().min(1).max(253).regex(HOSTNAME), 16).default([]),
        websocketTimeout: z
          .string()
          .regex(GATEWAY_API_DURATION)
          .default('0s')
          .describe('request timeout of /socket.io (0s: none, so WebSockets stay open)'),
        requestTimeout: z.string().regex(GATEWAY_API_DURATION).default('60s'),
      }),
      'a Gateway API HTTPRoute: /socket.io to gateways, /api/v1/analytics to analytics, the rest to the API',
      [
        {
          rule: '!self.enabled || size(self.parentRefs) > 0',
          message: 'parentRefs must name at least one Gateway when the route is enabled',
          fieldPath: '.parentRefs',
          holds: (r) => !r.enabled || r.parentRefs.length > 0,
        },
      ],
    ).prefault({}),
    networkPolicy: z
      .strictObject({
        enabled: z.boolean().default(true),
        ingressFrom: z
          .array(
            kubernetesTyped<INetworkPolicyPeer>('a NetworkPolicyPeer', (v) =>
              new NetworkPolicyPeer(v as INetworkPolicyPeer).validate(),
            ),
          )
          .max(16)
          .optional()
          .describe('who may reach the API, gateways and analytics (default: anyone)'),
        metricsFrom: z
          .array(
            kubernetesTyped<INetworkPolicyPeer>('a NetworkPolicyPeer', (v) =>
              new NetworkPolicyPeer(v as INetworkPolicyPeer).validate(),
            ),
          )
          .max(16)
          .optional()
          .describe('who may scrape relay and notifier (default: anyone, on the http port only)'),
      })
      .prefault({}),
    podDisruptionBudget: z
      .strictObject({
        enabled: z.boolean().default(true),
        maxUnavailable: z.int().min(1).max(1000).default(1),
      })
      .prefault({}),
    topologySpread: z
      .strictObject({
        enabled: z.boolean().default(true),
        maxSkew: z.int().min(1).max(100).default(1),
        whenUnsatisfiable: z.enum(['ScheduleAnyway', 'DoNotSchedule']).default('ScheduleAnyway'),
      })
      .describe('spread each role over nodes and zones')
      .prefault({}),
    drain: z
      .strictObject({
        timeoutMs: z
          .int()
          .min(0)
          .max(3_600_000)
          .default(20_000)
          .describe('DRAIN_TIMEOUT_MS: how long in-flight work and sockets get on shutdown'),
        preStopSeconds: z
          .int()
          .min(0)
          .max(300)
          .default(5)
          .describe('pause before SIGTERM so endpoints stop sending traffic first'),
      })
      .prefault({}),
    migrations: z
      .strictObject({
        backoffLimit: z.int().min(0).max(20).default(2),
        activeDeadlineSeconds: z.int().min(30).max(86_400).default(900),
        resources: resources({
          requests: { cpu: '100m', memory: '256Mi' },
          limits: { cpu: '1', memory: '512Mi' },
        }),
      })
      .prefault({}),
    podSecurity: z
      .strictObject({
        runAsUser: z.int().min(1).max(2_147_483_647).default(1000),
        runAsGroup: z.int().min(1).max(2_147_483_647).default(1000),
        fsGroup: z.int().min(1).max(2_147_483_647).default(1000),
      })
      .describe('numeric non-root identity of every pod (the image’s node user is 1000)')
      .prefault({}),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    publicUrl: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/\S+$/)
      .optional()
      .describe('where users reach this installation (PUBLIC_URL, used in email links)'),
    adminUsernames: stringSet(z.string().min(1).max(64), 100).optional(),
    corsOrigins: stringSet(
      z
        .string()
        .max(2048)
        .regex(/^https?:\/\/\S+$/),
      100,
    ).optional(),
    ...podSettings,
  }),
  'the desired Signalink deployment',
  [
    {
      rule: "!self.gateway.autoscaling.enabled || self.autoscaling.engine != 'keda' || has(self.autoscaling.prometheus)",
      message: 'autoscaling.prometheus.serverAddress is required for KEDA to scale gateways',
      fieldPath: '.autoscaling.prometheus',
      holds: (s) =>
        !s.gateway.autoscaling.enabled ||
        s.autoscaling.engine !== 'keda' ||
        s.autoscaling.prometheus !== undefined,
    },
  ],
);

export type SignalinkSpec = z.output<typeof signalinkSpecSchema>;
export type SignalinkSpecInput = z.input<typeof signalinkSpecSchema>;

// ----- status -----

export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded', 'MigrationsComplete'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export const conditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().min(1).max(1024),
  message: z.string().max(32_768),
  lastTransitionTime: z.string(),
  observedGeneration: z.int().min(0).optional(),
});
export type Condition = z.output<typeof conditionSchema>;

export const roleStatusSchema = z.object({
  desired: z.int().min(0),
  ready: z.int().min(0),
  updated: z.int().min(0),
});

export const signalinkStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional(),
  version: z.string().optional().describe('the version (image tag) that runs everywhere'),
  conditions: z
    .array(conditionSchema)
    .max(16)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
    .optional(),
  roles: z.record(z.string(), roleStatusSchema).optional(),
});
export type SignalinkStatus = z.output<typeof signalinkStatusSchema>;

// ----- the resource -----

export interface ResourceMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  deletionTimestamp?: string;
  resourceVersion?: string;
}

/** A resource as read from a file or the API server, before its spec is validated. */
export interface SignalinkObject {
  apiVersion: string;
  kind: string;
  metadata: ResourceMetadata;
  spec?: unknown;
  status?: unknown;
}

const NAME_MESSAGES = {
  length: `must be at most ${MAX_NAME_LENGTH} characters (owned objects append a role to it)`,
  pattern: 'must be a DNS-1035 label (lower case letters, digits and -, starting with a letter)',
};

export interface SpecProblem {
  /** The field, as a user would write it: `spec.gateway.autoscaling.minReplicas`. */
  field: string;
  message: string;
}

export type ParsedResource =
  { ok: true; spec: SignalinkSpec } | { ok: false; problems: SpecProblem[] };

function fieldOf(path: PropertyKey[], root: string): string {
  let out = root;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

/** Validates a resource the way the API server would (defaults applied), naming every bad field. */
export function parseSignalink(resource: SignalinkObject): ParsedResource {
  const problems: SpecProblem[] = [];
  const name = resource.metadata?.name;
  if (typeof name !== 'string' || name.length === 0) {
    problems.push({ field: 'metadata.name', message: 'is required' });
  } else if (name.length > MAX_NAME_LENGTH) {
    problems.push({ field: 'metadata.name', message: NAME_MESSAGES.length });
  } else if (!new RegExp(RESOURCE_NAME_PATTERN).test(name)) {
    problems.push({ field: 'metadata.name', message: NAME_MESSAGES.pattern });
  }
  if (resource.spec === undefined || resource.spec === null) {
    problems.push({ field: 'spec', message: 'is required' });
    return { ok: false, problems };
  }
  const parsed = signalinkSpecSchema.safeParse(resource.spec);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
      if (unknownKeys) {
        for (const key of unknownKeys) {
          problems.push({ field: fieldOf([...issue.path, key], 'spec'), message: 'unknown field' });
        }
      } else {
        problems.push({ field: fieldOf(issue.path, 'spec'), message: issue.message });
      }
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, spec: parsed.data };
}

export function isPaused(resource: SignalinkObject): boolean {
  return resource.metadata.annotations?.[PAUSE_ANNOTATION] === 'true';
}
