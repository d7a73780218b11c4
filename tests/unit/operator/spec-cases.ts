// Valid and invalid Signalink resources, with the field each invalid one must be refused for.
// The unit test checks zod against a model of the API server; the integration test sends the
// same resources to a real one.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { SignalinkObject } from '../../../services/operator/spec.js';

const fixture = (name: string) =>
  parse(
    readFileSync(new URL(`./fixtures/${name}.yaml`, import.meta.url), 'utf8'),
  ) as SignalinkObject;

export const minimal = fixture('minimal');
const production = fixture('production');

type Edit = (r: any) => void;
function variant(edit: Edit, base: SignalinkObject = minimal): SignalinkObject {
  const copy = JSON.parse(JSON.stringify(base));
  edit(copy);
  return copy;
}

export interface SpecCase {
  name: string;
  resource: SignalinkObject;
  /** Absent: valid. */
  field?: string;
  /**
   * Fields of Kubernetes core types (affinity, tolerations, valueFrom, network peers) are open
   * objects in the CRD; the operator checks them and reports Degraded/InvalidSpec instead.
   */
  operatorOnly?: boolean;
}

export const SPEC_CASES: SpecCase[] = [
  { name: 'the minimal resource', resource: minimal },
  { name: 'the production resource', resource: production },
  {
    name: 'a digest without a tag',
    resource: variant((r) => {
      delete r.spec.image.tag;
      r.spec.image.digest = `sha256:${'a'.repeat(64)}`;
    }),
  },
  {
    name: 'redis from a Secret',
    resource: variant((r) => (r.spec.redis = { secretRef: { name: 'redis' } })),
  },
  {
    name: 'fcm pushes',
    resource: variant(
      (r) => (r.spec.notifier = { transport: 'fcm', fcm: { secretRef: { name: 'fcm' } } }),
    ),
  },
  {
    name: 'autoscaling with min equal to max',
    resource: variant(
      (r) => (r.spec.gateway = { autoscaling: { enabled: true, minReplicas: 4, maxReplicas: 4 } }),
    ),
  },
  {
    name: 'integer quantities',
    resource: variant(
      (r) => (r.spec.relay = { resources: { requests: { cpu: 1, memory: '1Gi' } } }),
    ),
  },
  {
    name: 'an env var from a field',
    resource: variant(
      (r) =>
        (r.spec.env = [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]),
    ),
  },
  {
    name: 'keda with a Prometheus address',
    resource: variant((r) => {
      r.spec.gateway = { autoscaling: { enabled: true } };
      r.spec.autoscaling = { engine: 'keda', prometheus: { serverAddress: 'http://prom:9090' } };
    }),
  },
  {
    name: 'keda without Prometheus when gateways do not autoscale',
    resource: variant((r) => {
      r.spec.analytics = { autoscaling: { enabled: true } };
      r.spec.autoscaling = { engine: 'keda' };
    }),
  },
  // ----- refused by both -----
  {
    name: 'no tag and no digest',
    resource: variant((r) => delete r.spec.image.tag),
    field: 'spec.image.tag',
  },
  {
    name: 'a tag with a slash',
    resource: variant((r) => (r.spec.image.tag = 'a/b')),
    field: 'spec.image.tag',
  },
  {
    name: 'a short digest',
    resource: variant((r) => (r.spec.image.digest = 'sha256:abc')),
    field: 'spec.image.digest',
  },
  {
    name: 'a repository with a tag in it',
    resource: variant((r) => (r.spec.image.repository = 'ghcr.io/example/signalink:1.0')),
    field: 'spec.image.repository',
  },
  {
    name: 'an unknown pull policy',
    resource: variant((r) => (r.spec.image.pullPolicy = 'Sometimes')),
    field: 'spec.image.pullPolicy',
  },
  {
    name: 'redis url and secretRef',
    resource: variant((r) => (r.spec.redis.secretRef = { name: 'redis' })),
    field: 'spec.redis.url',
  },
  {
    name: 'redis with neither',
    resource: variant((r) => (r.spec.redis = {})),
    field: 'spec.redis.url',
  },
  {
    name: 'a redis url of another scheme',
    resource: variant((r) => (r.spec.redis.url = 'http://redis:6379')),
    field: 'spec.redis.url',
  },
  {
    name: 'gateway minReplicas above maxReplicas',
    resource: variant(
      (r) => (r.spec.gateway = { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 3 } }),
    ),
    field: 'spec.gateway.autoscaling.minReplicas',
  },
  {
    name: 'analytics minReplicas above the default maxReplicas',
    resource: variant((r) => (r.spec.analytics = { autoscaling: { minReplicas: 9 } })),
    field: 'spec.analytics.autoscaling.minReplicas',
  },
  {
    name: 'negative replicas',
    resource: variant((r) => (r.spec.gateway = { replicas: -1 })),
    field: 'spec.gateway.replicas',
  },
  {
    name: 'fractional replicas',
    resource: variant((r) => (r.spec.relay = { replicas: 1.5 })),
    field: 'spec.relay.replicas',
  },
  {
    name: 'replicas as a string',
    resource: variant((r) => (r.spec.notifier = { replicas: '2' })),
    field: 'spec.notifier.replicas',
  },
  {
    name: 'webhook transport without a webhook',
    resource: variant((r) => (r.spec.notifier = { transport: 'webhook' })),
    field: 'spec.notifier.webhook',
  },
  {
    name: 'fcm transport without credentials',
    resource: variant((r) => (r.spec.notifier = { transport: 'fcm' })),
    field: 'spec.notifier.fcm',
  },
  {
    name: 'an unknown transport',
    resource: variant((r) => (r.spec.notifier = { transport: 'pigeon' })),
    field: 'spec.notifier.transport',
  },
  {
    name: 'email without an SMTP secret',
    resource: variant((r) => (r.spec.notifier = { email: { enabled: true } })),
    field: 'spec.notifier.email.smtpSecretRef',
  },
  {
    name: 'min.insync.replicas above the replicas',
    resource: variant(
      (r) => (r.spec.kafka.strimzi = { clusterName: 'k', replicas: 1, minInSyncReplicas: 2 }),
    ),
    field: 'spec.kafka.strimzi.minInSyncReplicas',
  },
  {
    name: 'a Strimzi cluster name with capitals',
    resource: variant((r) => (r.spec.kafka.strimzi = { clusterName: 'Kafka' })),
    field: 'spec.kafka.strimzi.clusterName',
  },
  {
    name: 'a route without parents',
    resource: variant((r) => (r.spec.route = { enabled: true })),
    field: 'spec.route.parentRefs',
  },
  {
    name: 'KEDA for gateways without Prometheus',
    resource: variant((r) => {
      r.spec.gateway = { autoscaling: { enabled: true } };
      r.spec.autoscaling = { engine: 'keda' };
    }),
    field: 'spec.autoscaling.prometheus',
  },
  {
    name: 'a misspelled field',
    resource: variant((r) => (r.spec.gatway = {})),
    field: 'spec.gatway',
  },
  {
    name: 'a misspelled nested field',
    resource: variant((r) => (r.spec.gateway = { autoscaling: { enable: true } })),
    field: 'spec.gateway.autoscaling.enable',
  },
  { name: 'no database', resource: variant((r) => delete r.spec.database), field: 'spec.database' },
  { name: 'no jwt secret', resource: variant((r) => delete r.spec.jwt), field: 'spec.jwt' },
  {
    name: 'a pod label the operator owns',
    resource: variant((r) => (r.spec.podLabels = { 'app.kubernetes.io/name': 'x' })),
    field: 'spec.podLabels',
  },
  {
    name: 'a role pod label the operator owns',
    resource: variant(
      (r) => (r.spec.gateway = { podLabels: { 'app.kubernetes.io/component': 'x' } }),
    ),
    field: 'spec.gateway.podLabels',
  },
  {
    name: 'ROLES in the extra environment',
    resource: variant((r) => (r.spec.env = [{ name: 'ROLES', value: 'api' }])),
    field: 'spec.env',
  },
  {
    name: 'an env var twice',
    resource: variant(
      (r) =>
        (r.spec.env = [
          { name: 'A', value: '1' },
          { name: 'A', value: '2' },
        ]),
    ),
    field: 'spec.env',
  },
  {
    name: 'an env var with value and valueFrom',
    resource: variant(
      (r) =>
        (r.spec.env = [{ name: 'A', value: '1', valueFrom: { fieldRef: { fieldPath: 'x' } } }]),
    ),
    field: 'spec.env[0]',
  },
  {
    name: 'a quantity that is not one',
    resource: variant((r) => (r.spec.gateway = { resources: { requests: { cpu: 'lots' } } })),
    field: 'spec.gateway.resources.requests.cpu',
  },
  {
    name: 'a name too long for the objects',
    resource: variant((r) => (r.metadata.name = 'a'.repeat(41))),
    field: 'metadata.name',
  },
  {
    name: 'a name with capitals',
    resource: variant((r) => (r.metadata.name = 'Chat')),
    field: 'metadata.name',
  },
  {
    name: 'bootstrap servers without a port',
    resource: variant((r) => (r.spec.kafka.bootstrapServers = 'kafka')),
    field: 'spec.kafka.bootstrapServers',
  },
  {
    name: 'a Secret key with a slash',
    resource: variant((r) => (r.spec.database.secretRef.key = 'a/b')),
    field: 'spec.database.secretRef.key',
  },
  {
    name: 'a hostname with capitals',
    resource: variant((r) => (r.spec.route = { hostnames: ['Chat.example.com'] })),
    field: 'spec.route.hostnames[0]',
  },
  {
    name: 'a duplicate hostname',
    resource: variant((r) => (r.spec.route = { hostnames: ['a.example.com', 'a.example.com'] })),
    field: 'spec.route.hostnames',
  },
  {
    name: 'a duration in words',
    resource: variant((r) => (r.spec.route = { websocketTimeout: '1 hour' })),
    field: 'spec.route.websocketTimeout',
  },
  {
    name: 'a scrape interval in words',
    resource: variant((r) => (r.spec.monitoring = { interval: 'often' })),
    field: 'spec.monitoring.interval',
  },
  {
    name: 'a negative drain timeout',
    resource: variant((r) => (r.spec.drain = { timeoutMs: -1 })),
    field: 'spec.drain.timeoutMs',
  },
  {
    name: 'root pods',
    resource: variant((r) => (r.spec.podSecurity = { runAsUser: 0 })),
    field: 'spec.podSecurity.runAsUser',
  },
  {
    name: 'an unknown log level',
    resource: variant((r) => (r.spec.logLevel = 'loud')),
    field: 'spec.logLevel',
  },
  {
    name: 'a pull secret twice',
    resource: variant((r) => (r.spec.imagePullSecrets = [{ name: 'a' }, { name: 'a' }])),
    field: 'spec.imagePullSecrets',
  },
  // ----- open Kubernetes types: only the operator refuses them (Degraded, InvalidSpec) -----
  {
    name: 'an affinity of the wrong shape',
    resource: variant((r) => (r.spec.affinity = { nodeAffinity: 'yes' })),
    field: 'spec.affinity.nodeAffinity',
    operatorOnly: true,
  },
  {
    name: 'a toleration with an unknown operator',
    resource: variant(
      (r) => (r.spec.gateway = { tolerations: [{ key: 'a', operator: 'Sometimes' }] }),
    ),
    field: 'spec.gateway.tolerations[0].operator',
    operatorOnly: true,
  },
  {
    name: 'an env source of the wrong shape',
    resource: variant(
      (r) => (r.spec.env = [{ name: 'A', valueFrom: { secretKeyRef: { key: 1 } } }]),
    ),
    field: 'spec.env[0].valueFrom.secretKeyRef.key',
    operatorOnly: true,
  },
];
