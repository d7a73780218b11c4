// Desired state for every spec option: what the operator applies once a resource runs at its
// version. Each rendered object is checked against its Kubernetes/Strimzi/KEDA/
// prometheus-operator/Gateway API model, for unknown fields, and for the PROTOCOL labels and
// controller ownerReference.
import { configMapName } from '../../../services/operator/desired/environment.js';
import {
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_NAME,
} from '../../../services/operator/naming.js';
import { envOf, find, fixture, ofKind, steadyObjects, variant } from './helpers.js';
import { modelError, unknownFields } from './model-check.js';

const variants: Record<string, ReturnType<typeof fixture>> = {
  minimal: fixture('minimal'),
  production: fixture('production'),
  'everything off': variant((r) => {
    r.spec.networkPolicy = { enabled: false };
    r.spec.podDisruptionBudget = { enabled: false };
    r.spec.topologySpread = { enabled: false };
    r.spec.drain = { preStopSeconds: 0 };
  }),
  'hpa autoscaling': variant((r) => {
    r.spec.gateway = { autoscaling: { enabled: true } };
    r.spec.analytics = { autoscaling: { enabled: true } };
    r.spec.notifier = { autoscaling: { enabled: true } };
    r.spec.autoscaling = { engine: 'hpa' };
  }),
  'fcm and email': variant((r) => {
    r.spec.notifier = {
      transport: 'fcm',
      fcm: { secretRef: { name: 'fcm' } },
      email: { enabled: true, smtpSecretRef: { name: 'smtp' }, digestWindowSeconds: 300 },
    };
  }),
};

describe.each(Object.entries(variants))('the %s resource', (_name, resource) => {
  const { objects, apply } = steadyObjects(resource);

  test('renders and applies', () => {
    expect(apply).toBe(true);
    expect(objects.length).toBeGreaterThan(10);
  });

  test.each(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))(
    '%s is valid for its schema and has no unknown fields',
    (_key, o) => {
      expect(modelError(o)).toBeUndefined();
      expect(unknownFields(o)).toEqual([]);
    },
  );

  test('every object carries the PROTOCOL labels and a controller ownerReference', () => {
    for (const o of objects) {
      expect(o.metadata.namespace).toBe(resource.metadata.namespace);
      expect(o.metadata.labels).toMatchObject({
        [LABEL_NAME]: 'signalink',
        [LABEL_INSTANCE]: resource.metadata.name,
        [LABEL_MANAGED_BY]: 'signalink-operator',
      });
      expect(o.metadata.labels?.[LABEL_COMPONENT]).toEqual(expect.any(String));
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'signalink.io/v1alpha1',
          kind: 'Signalink',
          name: resource.metadata.name,
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  test('every pod is hardened, sized and drains', () => {
    const templates = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'Job')].map(
      (o) => o.spec.template,
    );
    expect(templates.length).toBeGreaterThanOrEqual(5);
    for (const t of templates) {
      const pod = t.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: expect.any(Number),
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      const c = pod.containers[0];
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.resources.requests).toEqual(
        expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
      );
      expect(c.resources.limits.memory).toBeDefined();
      expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } });
      expect(t.metadata.labels[LABEL_MANAGED_BY]).toBe('signalink-operator');
    }
    for (const d of ofKind(objects, 'Deployment')) {
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      const config = find(objects, 'ConfigMap', configMapName(resource.metadata.name));
      const drainSeconds = Number(config.data.DRAIN_TIMEOUT_MS) / 1000;
      const pause = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pause + drainSeconds);
    }
  });
});

describe('roles and processes', () => {
  test('without a separate api, gateways serve it (api,gateway share pods and port)', () => {
    const { objects } = steadyObjects(fixture('minimal'));
    expect(ofKind(objects, 'Deployment').map((d) => d.metadata.name)).toEqual([
      'chat-relay',
      'chat-analytics',
      'chat-notifier',
      'chat-gateway',
    ]);
    expect(envOf(find(objects, 'Deployment', 'chat-gateway')).ROLES).toBe('api,gateway');
    for (const role of ['relay', 'analytics', 'notifier']) {
      expect(envOf(find(objects, 'Deployment', `chat-${role}`)).ROLES).toBe(role);
    }
  });

  test('with a separate api, it gets its own Deployment, Service, PDB and policy', () => {
    const { objects } = steadyObjects(
      variant((r) => (r.spec.api = { separate: true, replicas: 3 })),
    );
    const api = find(objects, 'Deployment', 'chat-api');
    expect(api.spec.replicas).toBe(3);
    expect(envOf(api).ROLES).toBe('api');
    expect(envOf(find(objects, 'Deployment', 'chat-gateway')).ROLES).toBe('gateway');
    for (const kind of ['Service', 'PodDisruptionBudget', 'NetworkPolicy', 'ServiceAccount']) {
      expect(find(objects, kind, 'chat-api')).toBeDefined();
    }
  });

  test.each([
    ['gateway', 5],
    ['relay', 3],
    ['analytics', 2],
    ['notifier', 4],
  ])('%s replicas come from the spec', (role, replicas) => {
    const { objects } = steadyObjects(variant((r) => (r.spec[role] = { replicas })));
    expect(find(objects, 'Deployment', `chat-${role}`).spec.replicas).toBe(replicas);
  });

  test('serving roles roll with maxUnavailable 0, the pipeline with the default budget', () => {
    const { objects } = steadyObjects(variant((r) => (r.spec.api = { separate: true })));
    for (const role of ['gateway', 'api']) {
      expect(find(objects, 'Deployment', `chat-${role}`).spec.strategy.rollingUpdate).toEqual({
        maxUnavailable: 0,
        maxSurge: 1,
      });
    }
    expect(
      find(objects, 'Deployment', 'chat-relay').spec.strategy.rollingUpdate.maxUnavailable,
    ).toBe('25%');
  });
});

describe('configuration and secrets', () => {
  test('shared settings go into the ConfigMap, secrets are secretKeyRefs', () => {
    const { objects } = steadyObjects(fixture('minimal'));
    const config = find(objects, 'ConfigMap', 'chat-config');
    expect(config.data).toMatchObject({
      NODE_ENV: 'production',
      PORT: '3000',
      KAFKA_BROKERS: 'kafka-bootstrap.kafka.svc:9092',
      REDIS_URL: 'redis://redis.messaging.svc:6379',
      DRAIN_TIMEOUT_MS: '20000',
      LOG_LEVEL: 'info',
    });
    const env = envOf(find(objects, 'Deployment', 'chat-gateway'));
    expect(env.DATABASE_URL).toEqual({ secretKeyRef: { name: 'chat-db-app', key: 'uri' } });
    expect(env.JWT_SECRET).toEqual({ secretKeyRef: { name: 'chat-jwt', key: 'secret' } });
    expect(env.NOTIFIER_TRANSPORT).toBeUndefined();
  });

  test('a Redis URL from a Secret is an env var, not ConfigMap data', () => {
    const { objects } = steadyObjects(
      variant((r) => (r.spec.redis = { secretRef: { name: 'redis', key: 'u' } })),
    );
    expect(find(objects, 'ConfigMap', 'chat-config').data.REDIS_URL).toBeUndefined();
    expect(envOf(find(objects, 'Deployment', 'chat-relay')).REDIS_URL).toEqual({
      secretKeyRef: { name: 'redis', key: 'u' },
    });
  });

  test.each([
    [
      'webhook',
      {
        transport: 'webhook',
        webhook: { url: 'https://hooks.example.com/x', secretRef: { name: 'hook' } },
      },
      {
        NOTIFIER_TRANSPORT: 'webhook',
        NOTIFIER_WEBHOOK_URL: 'https://hooks.example.com/x',
        NOTIFIER_WEBHOOK_TIMEOUT_MS: '5000',
        NOTIFIER_WEBHOOK_SECRET: { secretKeyRef: { name: 'hook', key: 'secret' } },
      },
    ],
    [
      'fcm',
      { transport: 'fcm', fcm: { secretRef: { name: 'fcm' } } },
      {
        NOTIFIER_TRANSPORT: 'fcm',
        FCM_SERVICE_ACCOUNT_JSON: { secretKeyRef: { name: 'fcm', key: 'service-account.json' } },
      },
    ],
    [
      'log with email digests',
      { email: { enabled: true, smtpSecretRef: { name: 'smtp' }, from: 'A <a@b.c>' } },
      {
        NOTIFIER_TRANSPORT: 'log,email',
        SMTP_URL: { secretKeyRef: { name: 'smtp', key: 'url' } },
        EMAIL_FROM: 'A <a@b.c>',
      },
    ],
  ])('notifier transport %s: its settings reach only notifier pods', (_n, notifier, expected) => {
    const { objects } = steadyObjects(variant((r) => (r.spec.notifier = notifier)));
    expect(envOf(find(objects, 'Deployment', 'chat-notifier'))).toMatchObject(expected);
    const gatewayEnv = envOf(find(objects, 'Deployment', 'chat-gateway'));
    for (const name of Object.keys(expected)) expect(gatewayEnv[name]).toBeUndefined();
  });

  test('extra env: a role’s list wins over the shared one by name', () => {
    const { objects } = steadyObjects(
      variant((r) => {
        r.spec.env = [
          { name: 'A', value: 'shared' },
          { name: 'B', value: 'shared' },
        ];
        r.spec.gateway = { env: [{ name: 'B', value: 'gateway' }] };
      }),
    );
    expect(envOf(find(objects, 'Deployment', 'chat-gateway'))).toMatchObject({
      A: 'shared',
      B: 'gateway',
    });
    expect(envOf(find(objects, 'Deployment', 'chat-relay'))).toMatchObject({
      A: 'shared',
      B: 'shared',
    });
  });

  test('pods roll when shared configuration changes, and only then', () => {
    const hash = (edit: (r: any) => void) =>
      find(steadyObjects(variant(edit)).objects, 'Deployment', 'chat-gateway').spec.template
        .metadata.annotations['signalink.io/config-hash'];
    const base = hash(() => {});
    expect(hash((r) => (r.spec.logLevel = 'debug'))).not.toBe(base);
    expect(hash((r) => (r.spec.kafka.topicPrefix = 'x.'))).not.toBe(base);
    expect(hash((r) => (r.spec.gateway = { replicas: 7 }))).toBe(base);
  });
});

describe('pod placement', () => {
  test('shared and role settings merge: maps by key, lists and affinity replace', () => {
    const { objects } = steadyObjects(
      variant((r) => {
        r.spec.podAnnotations = { a: '1', b: '1' };
        r.spec.podLabels = { team: 'chat' };
        r.spec.nodeSelector = { pool: 'general', os: 'linux' };
        r.spec.tolerations = [{ key: 'shared', operator: 'Exists' }];
        r.spec.priorityClassName = 'high';
        r.spec.gateway = {
          podAnnotations: { b: '2' },
          nodeSelector: { pool: 'edge' },
          tolerations: [{ key: 'edge', operator: 'Exists' }],
          affinity: { podAntiAffinity: {} },
        };
      }),
    );
    const gw = find(objects, 'Deployment', 'chat-gateway').spec.template;
    expect(gw.metadata.annotations).toMatchObject({ a: '1', b: '2' });
    expect(gw.metadata.labels.team).toBe('chat');
    expect(gw.spec.nodeSelector).toEqual({ pool: 'edge', os: 'linux' });
    expect(gw.spec.tolerations).toEqual([{ key: 'edge', operator: 'Exists' }]);
    expect(gw.spec.affinity).toEqual({ podAntiAffinity: {} });
    expect(gw.spec.priorityClassName).toBe('high');
    const relay = find(objects, 'Deployment', 'chat-relay').spec.template;
    expect(relay.metadata.annotations).toMatchObject({ a: '1', b: '1' });
    expect(relay.spec.tolerations).toEqual([{ key: 'shared', operator: 'Exists' }]);
    expect(relay.spec.affinity).toBeUndefined();
  });

  test('topology spread over nodes and zones per rollout, or none', () => {
    const on = find(steadyObjects(fixture('minimal')).objects, 'Deployment', 'chat-gateway');
    expect(on.spec.template.spec.topologySpreadConstraints.map((t: any) => t.topologyKey)).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
    expect(on.spec.template.spec.topologySpreadConstraints[0]).toMatchObject({
      maxSkew: 1,
      whenUnsatisfiable: 'ScheduleAnyway',
      matchLabelKeys: ['pod-template-hash'],
    });
    const off = steadyObjects(variant((r) => (r.spec.topologySpread = { enabled: false })));
    expect(
      find(off.objects, 'Deployment', 'chat-gateway').spec.template.spec.topologySpreadConstraints,
    ).toBeUndefined();
  });

  test('images: tag, digest, pull policy and pull secrets', () => {
    const { objects } = steadyObjects(
      variant((r) => {
        r.spec.image = {
          repository: 'r.example/s',
          digest: `sha256:${'b'.repeat(64)}`,
          pullPolicy: 'Always',
        };
        r.spec.imagePullSecrets = [{ name: 'pull' }];
      }),
    );
    const d = find(objects, 'Deployment', 'chat-gateway').spec.template;
    expect(d.spec.containers[0].image).toBe(`r.example/s@sha256:${'b'.repeat(64)}`);
    expect(d.spec.containers[0].imagePullPolicy).toBe('Always');
    expect(d.spec.imagePullSecrets).toEqual([{ name: 'pull' }]);
    expect(d.metadata.annotations['signalink.io/version']).toBe(`sha256:${'b'.repeat(64)}`);
    expect(ofKind(objects, 'Job')[0].metadata.name).toBe('chat-migrate-bbbbbbbbbbbb');
  });

  test('drain: the grace period covers the pause and DRAIN_TIMEOUT_MS', () => {
    const { objects } = steadyObjects(
      variant((r) => (r.spec.drain = { timeoutMs: 45_500, preStopSeconds: 7 })),
    );
    const pod = find(objects, 'Deployment', 'chat-gateway').spec.template.spec;
    expect(pod.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 7 } } });
    expect(pod.terminationGracePeriodSeconds).toBe(7 + 46 + 10);
    expect(find(objects, 'ConfigMap', 'chat-config').data.DRAIN_TIMEOUT_MS).toBe('45500');
  });

  test('pod identity is numeric and configurable', () => {
    const { objects } = steadyObjects(variant((r) => (r.spec.podSecurity = { runAsUser: 4242 })));
    const sc = find(objects, 'Deployment', 'chat-relay').spec.template.spec.securityContext;
    expect(sc).toMatchObject({
      runAsUser: 4242,
      runAsGroup: 1000,
      fsGroup: 1000,
      runAsNonRoot: true,
    });
  });

  test('service accounts per role carry their annotations and mount no token', () => {
    const { objects } = steadyObjects(
      variant(
        (r) => (r.spec.notifier = { serviceAccountAnnotations: { 'iam.example/role': 'push' } }),
      ),
    );
    const sa = find(objects, 'ServiceAccount', 'chat-notifier');
    expect(sa.metadata.annotations).toEqual({ 'iam.example/role': 'push' });
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(find(objects, 'ServiceAccount', 'chat-migrations')).toBeDefined();
  });
});

describe('availability', () => {
  test('a PDB per role with the spec’s budget, or none', () => {
    const on = steadyObjects(variant((r) => (r.spec.podDisruptionBudget = { maxUnavailable: 2 })));
    const pdbs = ofKind(on.objects, 'PodDisruptionBudget');
    expect(pdbs.map((p) => p.metadata.name)).toEqual([
      'chat-relay',
      'chat-analytics',
      'chat-notifier',
      'chat-gateway',
    ]);
    expect(pdbs[0].spec.maxUnavailable).toBe(2);
    const off = steadyObjects(variant((r) => (r.spec.podDisruptionBudget = { enabled: false })));
    expect(ofKind(off.objects, 'PodDisruptionBudget')).toEqual([]);
  });
});

describe('autoscaling', () => {
  const autoscaled = (engine: string, prometheus = true) =>
    variant((r) => {
      r.spec.gateway = {
        replicas: 9,
        autoscaling: {
          enabled: true,
          minReplicas: 3,
          maxReplicas: 12,
          targetConnectionsPerPod: 1500,
          scaleDownStabilizationSeconds: 900,
        },
      };
      r.spec.analytics = { autoscaling: { enabled: true, lagThreshold: 700 } };
      r.spec.kafka.topicPrefix = 'p.';
      r.spec.autoscaling = {
        engine,
        ...(prometheus ? { prometheus: { serverAddress: 'http://prom:9090' } } : {}),
      };
    });

  test('while autoscaling is on, the Deployment has no replicas', () => {
    for (const engine of ['auto', 'keda', 'hpa']) {
      const { objects } = steadyObjects(autoscaled(engine));
      expect(find(objects, 'Deployment', 'chat-gateway').spec).not.toHaveProperty('replicas');
      expect(find(objects, 'Deployment', 'chat-analytics').spec).not.toHaveProperty('replicas');
      expect(find(objects, 'Deployment', 'chat-notifier').spec.replicas).toBe(1);
    }
  });

  test('with KEDA: gateways on signalink_gateway_connections, analytics on its group’s lag', () => {
    const { objects } = steadyObjects(autoscaled('auto'));
    const gw = find(objects, 'ScaledObject', 'chat-gateway');
    expect(gw.spec).toMatchObject({
      scaleTargetRef: { name: 'chat-gateway' },
      minReplicaCount: 3,
      maxReplicaCount: 12,
    });
    expect(gw.spec.triggers[0]).toEqual({
      type: 'prometheus',
      metricType: 'AverageValue',
      metadata: {
        serverAddress: 'http://prom:9090',
        query: 'sum(signalink_gateway_connections{namespace="messaging",service="chat-gateway"})',
        threshold: '1500',
      },
    });
    expect(
      gw.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds,
    ).toBe(900);
    const analytics = find(objects, 'ScaledObject', 'chat-analytics');
    expect(analytics.spec.triggers[0]).toMatchObject({
      type: 'kafka',
      metadata: {
        consumerGroup: 'p.signalink-analytics',
        lagThreshold: '700',
        bootstrapServers: 'kafka-bootstrap.kafka.svc:9092',
      },
    });
    expect(ofKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
  });

  test.each([
    ['engine hpa', autoscaled('hpa'), []],
    ['KEDA not installed', autoscaled('auto'), ['keda']],
    ['no Prometheus address for gateways', autoscaled('auto', false), []],
  ] as const)('an HPA for gateways when %s', (_why, resource, without) => {
    const { objects } = steadyObjects(resource, [...without]);
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'chat-gateway');
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    expect(hpa.spec.metrics).toEqual([
      {
        type: 'Pods',
        pods: {
          metric: { name: 'signalink_gateway_connections' },
          target: { type: 'AverageValue', averageValue: '1500' },
        },
      },
    ]);
    expect(hpa.spec.behavior.scaleDown).toMatchObject({
      stabilizationWindowSeconds: 900,
      policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }],
    });
  });

  test('analytics without KEDA: an HPA on the external lag metric', () => {
    const { objects } = steadyObjects(autoscaled('hpa'));
    expect(find(objects, 'HorizontalPodAutoscaler', 'chat-analytics').spec.metrics[0]).toEqual({
      type: 'External',
      external: {
        metric: {
          name: 'signalink_consumer_lag',
          selector: { matchLabels: { group: 'signalink-analytics', namespace: 'messaging' } },
        },
        target: { type: 'AverageValue', averageValue: '700' },
      },
    });
  });
});

describe('Kafka topics', () => {
  test('with kafka.strimzi, the four topics are KafkaTopics of that cluster', () => {
    const { objects } = steadyObjects(
      variant((r) => {
        r.spec.kafka.topicPrefix = 'Prod_';
        r.spec.kafka.strimzi = { clusterName: 'events', partitions: 6, replicas: 3 };
      }),
    );
    const topics = ofKind(objects, 'KafkaTopic');
    expect(topics.map((t) => t.spec.topicName)).toEqual([
      'Prod_signalink.messages',
      'Prod_signalink.receipts',
      'Prod_signalink.presence',
      'Prod_signalink.notifications.dlq',
    ]);
    expect(topics.map((t) => t.metadata.name)).toEqual([
      'chat-prod-signalink.messages',
      'chat-prod-signalink.receipts',
      'chat-prod-signalink.presence',
      'chat-prod-signalink.notifications.dlq',
    ]);
    for (const t of topics) {
      expect(t.apiVersion).toBe('kafka.strimzi.io/v1');
      expect(t.metadata.labels['strimzi.io/cluster']).toBe('events');
      expect(t.spec).toMatchObject({
        partitions: 6,
        replicas: 3,
        config: { 'min.insync.replicas': 2 },
      });
    }
  });

  test('none without kafka.strimzi, and none when Strimzi is not installed', () => {
    expect(ofKind(steadyObjects(fixture('minimal')).objects, 'KafkaTopic')).toEqual([]);
    const noStrimzi = steadyObjects(fixture('production'), ['strimzi']);
    expect(ofKind(noStrimzi.objects, 'KafkaTopic')).toEqual([]);
  });
});

describe('monitoring', () => {
  test.each([
    ['serviceMonitor', 'ServiceMonitor'],
    ['prometheusRule', 'PrometheusRule'],
  ])('%s on creates a %s with the selector labels', (flag, kind) => {
    const { objects } = steadyObjects(
      variant((r) => (r.spec.monitoring = { [flag]: true, labels: { release: 'kps' } })),
    );
    const o = find(objects, kind, 'chat');
    expect(o.metadata.labels.release).toBe('kps');
    expect(ofKind(steadyObjects(fixture('minimal')).objects, kind)).toEqual([]);
  });

  test('the ServiceMonitor scrapes every role’s Service on /metrics', () => {
    const { objects } = steadyObjects(
      variant((r) => (r.spec.monitoring = { serviceMonitor: true, interval: '15s' })),
    );
    const sm = find(objects, 'ServiceMonitor', 'chat');
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s' }]);
    for (const svc of ofKind(objects, 'Service')) {
      for (const [k, v] of Object.entries(sm.spec.selector.matchLabels))
        expect(svc.metadata.labels[k]).toBe(v);
      expect(svc.spec.ports[0].name).toBe('http');
    }
  });

  test('dashboards: a ConfigMap the Grafana sidecar picks up, with valid JSON', () => {
    const { objects } = steadyObjects(variant((r) => (r.spec.monitoring = { dashboards: true })));
    const cm = find(objects, 'ConfigMap', 'chat-dashboard');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(cm.data['signalink-chat.json']);
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const p of dashboard.panels) {
      // kube-state-metrics series carry no instance label: those are scoped by pod name.
      for (const t of p.targets)
        expect(t.expr).toMatch(/app_kubernetes_io_instance="chat"|pod=~"chat-/);
    }
  });
});

describe('exposure', () => {
  test('an HTTPRoute with no request timeout on /socket.io', () => {
    const { objects } = steadyObjects(
      variant(
        (r) =>
          (r.spec.route = {
            enabled: true,
            parentRefs: [{ name: 'public', namespace: 'gw' }],
            hostnames: ['chat.example.com'],
          }),
      ),
    );
    const route = find(objects, 'HTTPRoute', 'chat');
    expect(route.spec.parentRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gw' },
    ]);
    expect(route.spec.hostnames).toEqual(['chat.example.com']);
    expect(route.spec.rules).toEqual([
      {
        matches: [{ path: { type: 'PathPrefix', value: '/socket.io' } }],
        backendRefs: [{ name: 'chat-gateway', port: 80 }],
        timeouts: { request: '0s' },
      },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/api/v1/analytics' } }],
        backendRefs: [{ name: 'chat-analytics', port: 80 }],
        timeouts: { request: '60s' },
      },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ name: 'chat-gateway', port: 80 }],
        timeouts: { request: '60s' },
      },
    ]);
  });

  test('with a separate api, the rest of the paths go to it', () => {
    const { objects } = steadyObjects(
      variant((r) => {
        r.spec.api = { separate: true };
        r.spec.route = { enabled: true, parentRefs: [{ name: 'public' }] };
      }),
    );
    expect(find(objects, 'HTTPRoute', 'chat').spec.rules[2].backendRefs).toEqual([
      { name: 'chat-api', port: 80 },
    ]);
  });

  test('the gateway Service takes its type, port and annotations from the spec', () => {
    const { objects } = steadyObjects(
      variant(
        (r) =>
          (r.spec.gateway = {
            service: { type: 'LoadBalancer', port: 443, annotations: { a: 'b' } },
          }),
      ),
    );
    const svc = find(objects, 'Service', 'chat-gateway');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.ports[0]).toMatchObject({ port: 443, targetPort: 'http' });
    expect(svc.metadata.annotations).toEqual({ a: 'b' });
    expect(find(objects, 'Service', 'chat-relay').spec.type).toBe('ClusterIP');
  });

  test('network policies open only the http port, to whom the spec says', () => {
    const peer = { namespaceSelector: { matchLabels: { team: 'edge' } } };
    const scraper = { namespaceSelector: { matchLabels: { team: 'monitoring' } } };
    const { objects } = steadyObjects(
      variant((r) => (r.spec.networkPolicy = { ingressFrom: [peer], metricsFrom: [scraper] })),
    );
    const gw = find(objects, 'NetworkPolicy', 'chat-gateway');
    expect(gw.spec.ingress).toEqual([{ from: [peer], ports: [{ port: 'http', protocol: 'TCP' }] }]);
    expect(find(objects, 'NetworkPolicy', 'chat-analytics').spec.ingress[0].from).toEqual([peer]);
    expect(find(objects, 'NetworkPolicy', 'chat-relay').spec.ingress[0].from).toEqual([scraper]);
    expect(find(objects, 'NetworkPolicy', 'chat-notifier').spec.ingress[0].from).toEqual([scraper]);
    const migrations = find(objects, 'NetworkPolicy', 'chat-migrations');
    expect(migrations.spec).toEqual({
      podSelector: {
        matchLabels: expect.objectContaining({ 'app.kubernetes.io/component': 'migrations' }),
      },
      policyTypes: ['Ingress'],
    });
    const open = steadyObjects(fixture('minimal'));
    expect(find(open.objects, 'NetworkPolicy', 'chat-gateway').spec.ingress).toEqual([
      { ports: [{ port: 'http', protocol: 'TCP' }] },
    ]);
    expect(
      ofKind(
        steadyObjects(variant((r) => (r.spec.networkPolicy = { enabled: false }))).objects,
        'NetworkPolicy',
      ),
    ).toEqual([]);
  });
});
