// What the charts promise beyond valid output: RBAC that is exactly what the operator does, the
// values that go into the Signalink (and only those), generated Secrets, image references, and
// bad values refused with a message that names the value.
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { ROOT, template, templateResult, type RenderedObject } from '../../support/helm.js';
import { steadyObjects } from '../operator/helpers.js';
import {
  grants,
  leaseNamespaceRules,
  watchedNamespaceRules,
} from '../../../services/operator/rbac.js';
import type { SignalinkObject } from '../../../services/operator/spec.js';

const HELM_TIMEOUT_MS = 120_000;
jest.setTimeout(HELM_TIMEOUT_MS);
const values = (chart: string, name: string) =>
  join(ROOT, 'tests/unit/charts/values', chart, `${name}.yaml`);

function one(objects: RenderedObject[], kind: string, name?: string): any {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  }
  return found[0];
}

describe('signalink-operator', () => {
  test('a ClusterRole granting exactly services/operator/rbac.ts, and the Lease Role in the release namespace', async () => {
    const objects = await template('signalink-operator', { release: 'sl', namespace: 'ops' });
    const clusterRole = one(objects, 'ClusterRole');
    expect(grants(clusterRole.rules)).toEqual(grants(watchedNamespaceRules()));
    const binding = one(objects, 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: clusterRole.metadata.name,
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'sl-signalink-operator', namespace: 'ops' },
    ]);
    const lease = one(objects, 'Role');
    expect(lease.metadata.namespace).toBe('ops');
    expect(grants(lease.rules)).toEqual(grants(leaseNamespaceRules()));
    expect(one(objects, 'RoleBinding').subjects[0].name).toBe('sl-signalink-operator');
    // Least privilege: no wildcard anywhere, nothing deletes a KafkaTopic, Secrets only by name.
    const all = grants([...clusterRole.rules, ...lease.rules]);
    expect(all.filter((g) => g.includes('*'))).toEqual([]);
    expect(all).not.toContain('kafka.strimzi.io/kafkatopics:delete');
    expect(all.filter((g) => g.startsWith('/secrets:'))).toEqual(['/secrets:get']);
  });

  test('watchNamespaces: a Role and RoleBinding in each, nothing cluster-wide, and the env says so', async () => {
    const objects = await template('signalink-operator', {
      release: 'sl',
      namespace: 'ops',
      valuesFiles: [values('signalink-operator', 'namespaced')],
    });
    expect(
      objects.filter((o) => o.kind.startsWith('Cluster') && o.kind !== 'CustomResourceDefinition'),
    ).toEqual([]);
    const roles = objects.filter(
      (o) => o.kind === 'Role' && o.metadata.name === 'sl-signalink-operator',
    );
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['chat', 'chat-staging']);
    for (const r of roles)
      expect(grants((r as any).rules)).toEqual(grants(watchedNamespaceRules()));
    const bindings = objects.filter(
      (o) => o.kind === 'RoleBinding' && o.metadata.name === 'sl-signalink-operator',
    );
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual(['chat', 'chat-staging']);
    const env = envOf(one(objects, 'Deployment'));
    expect(env.WATCH_NAMESPACE).toBe('chat,chat-staging');
  });

  test('two replicas with leader election, non-root, read-only root filesystem, probes, a PDB', async () => {
    const objects = await template('signalink-operator', { release: 'sl', namespace: 'ops' });
    const d = one(objects, 'Deployment');
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.image).toBe('signalink:0.1.0');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    const env = envOf(d);
    expect(env).toMatchObject({
      ROLES: 'operator',
      NODE_ENV: 'production',
      WATCH_NAMESPACE: '',
      OPERATOR_LEASE_NAME: 'sl-signalink-operator',
      OPERATOR_LEASE_NAMESPACE: 'ops',
    });
    expect(env.POD_NAMESPACE).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(c.resources).toEqual({
      requests: { cpu: '100m', memory: '160Mi' },
      limits: { cpu: '500m', memory: '320Mi' },
    });
    expect(one(objects, 'PodDisruptionBudget').spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: d.spec.selector.matchLabels },
    });
    expect(objects.some((o) => o.kind === 'ServiceMonitor')).toBe(false);
    // The helm test pod is not one of the operator's endpoints.
    const test = one(objects, 'Pod');
    const selector = one(objects, 'Service').spec.selector as Record<string, string>;
    expect(Object.entries(selector).every(([k, v]) => test.metadata.labels[k] === v)).toBe(false);
    expect(test.metadata.annotations['helm.sh/hook']).toBe('test');
  });

  test('production values: registry, digest, pull secrets, resources, ServiceMonitor, extra objects', async () => {
    const objects = await template('signalink-operator', {
      release: 'sl',
      namespace: 'ops',
      valuesFiles: [values('signalink-operator', 'production')],
    });
    const pod = one(objects, 'Deployment').spec.template.spec;
    expect(pod.containers[0].image).toBe(
      'registry.example.com/platform/signalink:2.3.1@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    );
    expect(pod.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    expect(pod.containers[0].resources.limits).toEqual({ cpu: '1', memory: '512Mi' });
    expect(pod.containers[0].envFrom).toEqual([{ configMapRef: { name: 'operator-extra' } }]);
    const sm = one(objects, 'ServiceMonitor');
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s' }]);
    expect(one(objects, 'ConfigMap', 'operator-extra').metadata.namespace).toBe('ops');
    expect(one(objects, 'ConfigMap', 'sl-notes').data).toEqual({ owner: 'platform-team' });
  });

  test.each([
    ['replicaCount=0', "at '/replicaCount': minimum: got 0, want 1"],
    ['replicas=2', "additional properties 'replicas' not allowed"],
    ['image.digest=sha256:abc', "at '/image/digest'"],
    ['resourcesPreset=huge', "at '/resourcesPreset'"],
    ['watchNamespaces[0]=Not_A_Namespace', "at '/watchNamespaces/0'"],
    ['logLevel=verbose', "at '/logLevel'"],
    ['leaderElection.leaseDurationSeconds=1', "at '/leaderElection/leaseDurationSeconds'"],
  ])('refuses --set %s, naming the value', async (set, message) => {
    const res = await templateResult('signalink-operator', { set: [set] });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(message);
  });
});

describe('signalink', () => {
  test('defaults: the kind platform names, a generated JWT key, and nothing the user left unset', async () => {
    const objects = await template('signalink', { release: 'chat', namespace: 'signalink' });
    const sl = one(objects, 'Signalink');
    expect(sl.metadata.name).toBe('chat');
    expect(sl.spec).toEqual({
      image: { repository: 'signalink', tag: '0.1.0' },
      database: { secretRef: { name: 'signalink-pg-app', key: 'uri' } },
      redis: { secretRef: { name: 'signalink-redis', key: 'url' } },
      kafka: {
        bootstrapServers: 'signalink-kafka-kafka-bootstrap:9092',
        strimzi: { clusterName: 'signalink-kafka' },
      },
      jwt: { secretRef: { name: 'chat-secrets', key: 'jwt-secret' } },
      gateway: { autoscaling: { enabled: false } },
      analytics: { autoscaling: { enabled: false } },
      notifier: { autoscaling: { enabled: false } },
      monitoring: { serviceMonitor: false, prometheusRule: false, dashboards: false },
      route: { enabled: false },
    });
    const secret = one(objects, 'Secret', 'chat-secrets');
    expect(Object.keys(secret.data)).toEqual(['jwt-secret']);
    const key = Buffer.from(secret.data['jwt-secret'], 'base64').toString();
    expect(key).toMatch(/^[A-Za-z0-9]{64}$/);
  });

  test('Strimzi topics: the operator runs every role with KAFKA_CREATE_TOPICS=false and manages four KafkaTopics', async () => {
    const objects = await template('signalink', { release: 'chat', namespace: 'signalink' });
    const { objects: desired } = steadyObjects(one(objects, 'Signalink') as SignalinkObject);
    const config = desired.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'chat-config',
    ) as any;
    expect(config.data.KAFKA_CREATE_TOPICS).toBe('false');
    const deployments = desired.filter((o) => o.kind === 'Deployment') as any[];
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      expect(c.envFrom).toEqual(
        expect.arrayContaining([{ configMapRef: { name: 'chat-config' } }]),
      );
      expect((c.env ?? []).find((e: any) => e.name === 'KAFKA_CREATE_TOPICS')).toBeUndefined();
    }
    expect(desired.filter((o) => o.kind === 'KafkaTopic')).toHaveLength(4);

    const plain = await template('signalink', {
      release: 'chat',
      valuesFiles: [values('signalink', 'minimal')],
    });
    const { objects: without } = steadyObjects(one(plain, 'Signalink') as SignalinkObject);
    expect((without.find((o) => o.kind === 'ConfigMap') as any).data.KAFKA_CREATE_TOPICS).toBe(
      'true',
    );
    expect(without.filter((o) => o.kind === 'KafkaTopic')).toEqual([]);
  });

  test('existing Secrets everywhere: the chart generates none', async () => {
    const objects = await template('signalink', { valuesFiles: [values('signalink', 'minimal')] });
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(one(objects, 'Signalink').spec.jwt).toEqual({
      secretRef: { name: 'chat-jwt', key: 'secret' },
    });
  });

  test('email: SMTP_URL from its Secret for the notifier, EMAIL_UNSUBSCRIBE_SECRET generated for every process', async () => {
    const objects = await template('signalink', {
      release: 'chat',
      set: [
        'email.enabled=true',
        'email.existingSecret=chat-smtp',
        'email.from=Chat <no-reply@example.com>',
        'publicUrl=https://chat.example.com',
      ],
    });
    const secret = one(objects, 'Secret', 'chat-secrets');
    expect(Object.keys(secret.data).sort()).toEqual(['email-unsubscribe-secret', 'jwt-secret']);
    expect(secret.data['email-unsubscribe-secret']).not.toBe(secret.data['jwt-secret']);
    const sl = one(objects, 'Signalink');
    expect(sl.spec.env).toEqual([
      {
        name: 'EMAIL_UNSUBSCRIBE_SECRET',
        valueFrom: { secretKeyRef: { name: 'chat-secrets', key: 'email-unsubscribe-secret' } },
      },
    ]);
    const { objects: desired } = steadyObjects(sl as SignalinkObject);
    const notifier = desired.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'chat-notifier',
    ) as any;
    const env = Object.fromEntries(
      notifier.spec.template.spec.containers[0].env.map((e: any) => [
        e.name,
        e.value ?? e.valueFrom,
      ]),
    );
    expect(env.SMTP_URL).toEqual({ secretKeyRef: { name: 'chat-smtp', key: 'url' } });
    expect(env.NOTIFIER_TRANSPORT).toBe('log,email');
    expect(env.EMAIL_UNSUBSCRIBE_SECRET).toEqual({
      secretKeyRef: { name: 'chat-secrets', key: 'email-unsubscribe-secret' },
    });
    const gateway = desired.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'chat-gateway',
    ) as any;
    expect(gateway.spec.template.spec.containers[0].env.map((e: any) => e.name)).toContain(
      'EMAIL_UNSUBSCRIBE_SECRET',
    );
    const config = desired.find((o) => o.kind === 'ConfigMap') as any;
    expect(config.data.PUBLIC_URL).toBe('https://chat.example.com');
  });

  test('production values reach the spec field by field', async () => {
    const objects = await template('signalink', {
      release: 'prod',
      namespace: 'messaging',
      valuesFiles: [values('signalink', 'production')],
    });
    const sl = one(objects, 'Signalink');
    expect(sl.metadata.name).toBe('chat');
    expect(sl.metadata.annotations).toEqual({ 'signalink.io/owner': 'platform-team' });
    expect(sl.spec.image).toEqual({
      repository: 'registry.example.com/platform/signalink',
      tag: '2.3.1',
      digest: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      pullPolicy: 'IfNotPresent',
    });
    expect(sl.spec.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    expect(sl.spec.api).toEqual({
      separate: true,
      replicas: 3,
      resources: {
        requests: { cpu: '500m', memory: '512Mi' },
        limits: { cpu: '2', memory: '1Gi' },
      },
    });
    expect(sl.spec.gateway.autoscaling).toEqual({
      enabled: true,
      minReplicas: 3,
      maxReplicas: 30,
      targetConnectionsPerPod: 5000,
    });
    expect(sl.spec.notifier.webhook).toEqual({
      url: 'https://push.example.com/signalink',
      secretRef: { name: 'chat-webhook', key: 'secret' },
    });
    expect(sl.spec.autoscaling).toEqual({
      engine: 'keda',
      prometheus: { serverAddress: 'http://prometheus-operated.monitoring.svc:9090' },
    });
    expect(sl.spec.route.parentRefs).toEqual([
      { name: 'public', namespace: 'gateways', sectionName: 'https' },
    ]);
    // The user's own unsubscribe key is absent, so the chart generates that one only.
    expect(Object.keys(one(objects, 'Secret', 'chat-secrets').data)).toEqual([
      'email-unsubscribe-secret',
    ]);
    // The test pod reaches the API through its own Service when the API runs apart.
    const testPod = one(objects, 'Pod');
    expect(testPod.spec.containers[0].args).toEqual([
      'dist/main.js',
      'smoke',
      '--url',
      'http://chat-gateway.messaging.svc:80',
      '--api-url',
      'http://chat-api.messaging.svc:80',
      '--timeout-ms',
      '120000',
    ]);
    expect(testPod.spec.containers[0].image).toBe(
      sl.spec.image.repository + ':2.3.1@' + sl.spec.image.digest,
    );
    expect(one(objects, 'ConfigMap', 'prod-runbook-links').metadata.namespace).toBe('messaging');
  });

  test('autoscaling on: the operator writes no gateway replicas and creates HPAs', async () => {
    const objects = await template('signalink', {
      release: 'chat',
      valuesFiles: [values('signalink', 'autoscaling-on')],
    });
    const { objects: desired } = steadyObjects(one(objects, 'Signalink') as SignalinkObject, [
      'keda',
    ]);
    const gateway = desired.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'chat-gateway',
    ) as any;
    expect(gateway.spec.replicas).toBeUndefined();
    const hpas = desired.filter((o) => o.kind === 'HorizontalPodAutoscaler') as any[];
    expect(hpas.map((h) => h.metadata.name).sort()).toEqual([
      'chat-analytics',
      'chat-gateway',
      'chat-notifier',
    ]);
  });

  test('monitoring on: the operator brings the ServiceMonitor, PrometheusRule and dashboard (one source)', async () => {
    const on = await template('signalink', {
      release: 'chat',
      valuesFiles: [values('signalink', 'monitoring-on')],
    });
    expect(
      on.filter((o) => ['ServiceMonitor', 'PrometheusRule', 'ConfigMap'].includes(o.kind)),
    ).toEqual([]);
    const { objects: desired } = steadyObjects(one(on, 'Signalink') as SignalinkObject);
    expect(desired.filter((o) => o.kind === 'ServiceMonitor')).toHaveLength(1);
    expect(desired.filter((o) => o.kind === 'PrometheusRule')).toHaveLength(1);
    expect(
      desired.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1'),
    ).toHaveLength(1);
    const off = await template('signalink', {
      release: 'chat',
      valuesFiles: [values('signalink', 'monitoring-off')],
    });
    const { objects: none } = steadyObjects(one(off, 'Signalink') as SignalinkObject);
    expect(none.filter((o) => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind))).toEqual([]);
  });

  test.each([
    [['gateway.replicas=-1'], "at '/gateway/replicas': minimum: got -1, want 0"],
    [['gateway.replicaz=3'], "at '/gateway': additional properties 'replicaz' not allowed"],
    [['database.existingSecret='], "at '/database/existingSecret': minLength: got 0, want 1"],
    [['kafka.bootstrapServers=kafka'], "at '/kafka/bootstrapServers'"],
    [['redis.url=http://redis:6379'], "at '/redis/url'"],
    [['image.tag=has space'], "at '/image/tag'"],
    [['notifier.transport=webhook'], "at '/notifier/webhook/url': minLength: got 0, want 1"],
    [['email.enabled=true'], "at '/email/existingSecret': minLength: got 0, want 1"],
    [['gateway.resourcesPreset=huge'], "at '/gateway/resourcesPreset'"],
    [['nameOverride=Chat'], "at '/nameOverride'"],
    [['podSecurity.runAsUser=0'], "at '/podSecurity/runAsUser': minimum: got 0, want 1"],
    [['redis.url=redis://r:6379'], 'redis: set url or existingSecret, not both'],
    [
      ['gateway.autoscaling.minReplicas=9', 'gateway.autoscaling.maxReplicas=3'],
      'gateway.autoscaling: minReplicas (9) must not exceed maxReplicas (3)',
    ],
  ])('refuses --set %j, naming the value', async (set, message) => {
    const res = await templateResult('signalink', { set });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(message);
  });

  test('a release name that cannot name a Signalink is refused with the way out', async () => {
    const res = await templateResult('signalink', {
      release: 'a-release-name-that-is-much-longer-than-forty',
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('is longer than 40 characters');
    expect(res.stderr).toContain('set nameOverride');
    const ok = await template('signalink', {
      release: 'a-release-name-that-is-much-longer-than-forty',
      set: ['nameOverride=chat'],
    });
    expect(one(ok, 'Signalink').metadata.name).toBe('chat');
  });
});

function envOf(deployment: any): Record<string, any> {
  const c = deployment.spec.template.spec.containers[0];
  return Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
}
