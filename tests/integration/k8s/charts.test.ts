// Both charts installed with the real helm into the real control plane (kube-apiserver 1.35 with
// the controller manager, scheduler and kwok's fake node), and the operator process itself
// (`node dist/main.js`, ROLES=operator) running with the chart's ServiceAccount token and the
// environment the chart gives its Deployment: it reconciles the chart's Signalink with exactly
// the chart's RBAC. No container runs: kwok plays the kubelet (and completes the migrations
// Job's pod).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import {
  CONTROL_PLANE_START_TIMEOUT_MS,
  startControlPlane,
  type ControlPlane,
} from '../../support/control-plane.js';
import { ROOT, helm, runTool, type CommandResult } from '../../support/helm.js';
import { startNode, type NodeProcess } from '../../support/node-process.js';

const CONDITION_TIMEOUT_MS = 90_000;
const HELM_TIMEOUT_MS = 300_000;
const OPERATOR_NS = 'signalink-system';
const APP_NS = 'signalink';
const OPERATOR_RELEASE = 'op';
const OPERATOR_SA = 'op-signalink-operator';

let cp: ControlPlane;
let core: CoreV1Api;
let apps: AppsV1Api;
let batch: BatchV1Api;
let custom: CustomObjectsApi;
let dir: string;
let operator: NodeProcess | undefined;

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = CONDITION_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail =
        last instanceof ApiException
          ? `HTTP ${last.code} ${String(last.body).slice(0, 400)}`
          : last instanceof Error
            ? last.message
            : String(last ?? 'no error');
      const log = operator ? `\noperator output:\n${operator.output().slice(-3000)}` : '';
      throw new Error(`${what} did not happen within ${timeoutMs} ms; last: ${detail}${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function ok(res: CommandResult, what: string): string {
  if (res.code !== 0)
    throw new Error(`${what} failed (exit ${res.code}):\n${res.stderr}\n${res.stdout}`);
  return res.stdout;
}

const adminEnv = () => ({ KUBECONFIG: cp.kubeconfigPath });

/**
 * Stand-ins for the CRDs of Strimzi and prometheus-operator (their real CRDs are not available
 * offline): the same group, version, kind and plural with an open schema, so the API server
 * serves the kinds the operator manages and RBAC is checked for them as in a real cluster.
 */
function openCrd(group: string, version: string, kind: string, plural: string): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List }
  versions:
    - name: ${version}
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;
}

beforeAll(async () => {
  cp = await startControlPlane({ fakeNodes: true });
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
  apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  batch = cp.kubeConfig.makeApiClient(BatchV1Api);
  custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  dir = await mkdtemp(join(tmpdir(), 'signalink-charts-'));
  const crds = join(dir, 'stand-in-crds.yaml');
  await writeFile(
    crds,
    [
      openCrd('kafka.strimzi.io', 'v1', 'KafkaTopic', 'kafkatopics'),
      openCrd('monitoring.coreos.com', 'v1', 'ServiceMonitor', 'servicemonitors'),
      openCrd('monitoring.coreos.com', 'v1', 'PrometheusRule', 'prometheusrules'),
    ].join('---\n'),
  );
  ok(
    await runTool('kubectl', ['apply', '--server-side', '-f', crds], adminEnv()),
    'kubectl apply CRDs',
  );
  ok(
    await runTool(
      'kubectl',
      ['wait', '--for=condition=Established', '--timeout=120s', '-f', crds],
      adminEnv(),
    ),
    'kubectl wait CRDs',
  );
}, CONTROL_PLANE_START_TIMEOUT_MS);

afterAll(async () => {
  await operator?.kill('SIGTERM');
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(
  'helm install signalink-operator: the CRD from crds/, RBAC, and a Deployment that becomes available',
  async () => {
    ok(
      await helm(
        [
          'install', OPERATOR_RELEASE, join(ROOT, 'charts/signalink-operator'),
          '--namespace', OPERATOR_NS, '--create-namespace',
          '--set', 'image.tag=dev',
          '--wait', '--timeout', '4m',
        ], // prettier-ignore
        adminEnv(),
      ),
      'helm install signalink-operator',
    );
    const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
    const crd = await ext.readCustomResourceDefinition({ name: 'signalinks.signalink.io' });
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    expect(crd.spec.names.shortNames).toEqual(['sl']);
    const d = await apps.readNamespacedDeployment({ name: OPERATOR_SA, namespace: OPERATOR_NS });
    expect(d.status?.availableReplicas).toBe(2);
    const rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const role = await rbac.readClusterRole({ name: OPERATOR_SA });
    expect(role.rules?.length).toBeGreaterThan(5);
    await core.readNamespacedServiceAccount({ name: OPERATOR_SA, namespace: OPERATOR_NS });
  },
  HELM_TIMEOUT_MS,
);

test.each([
  ['create', 'deployments.apps', APP_NS, 'yes'],
  ['delete', 'deployments.apps', APP_NS, 'yes'],
  ['watch', 'signalinks.signalink.io', APP_NS, 'yes'],
  ['patch', 'signalinks.signalink.io/status', APP_NS, 'yes'],
  ['update', 'signalinks.signalink.io/status', APP_NS, 'no'],
  ['update', 'signalinks.signalink.io', APP_NS, 'no'],
  ['delete', 'signalinks.signalink.io', APP_NS, 'no'],
  ['get', 'secrets', APP_NS, 'yes'],
  ['list', 'secrets', APP_NS, 'no'],
  ['create', 'kafkatopics.kafka.strimzi.io', APP_NS, 'yes'],
  ['delete', 'kafkatopics.kafka.strimzi.io', APP_NS, 'no'],
  ['create', 'pods', APP_NS, 'no'],
  ['update', 'leases.coordination.k8s.io', OPERATOR_NS, 'yes'],
  ['update', 'leases.coordination.k8s.io', APP_NS, 'no'],
  ['create', 'clusterroles.rbac.authorization.k8s.io', '', 'no'],
])(
  "the chart's ServiceAccount: can-i %s %s in %s → %s",
  async (verb, resource, namespace, expected) => {
    const [name, subresource] = resource.split('/');
    const args = [
      'auth',
      'can-i',
      verb,
      name!,
      ...(subresource ? [`--subresource=${subresource}`] : []),
      `--as=system:serviceaccount:${OPERATOR_NS}:${OPERATOR_SA}`,
    ];
    if (namespace) args.push('--namespace', namespace);
    const res = await runTool('kubectl', args, adminEnv());
    expect(res.stdout.trim()).toBe(expected);
  },
);

test(
  'helm install signalink: the operator reconciles the chart’s Signalink with the chart’s RBAC, to Ready',
  async () => {
    await core.createNamespace({ body: { metadata: { name: APP_NS } } });
    // What the kind platform provides beside the chart (CloudNativePG's and the Valkey Secret).
    for (const [name, key, value] of [
      ['signalink-pg-app', 'uri', 'postgresql://app:pw@signalink-pg-rw.signalink.svc:5432/app'],
      ['signalink-redis', 'url', 'redis://:pw@valkey.signalink.svc:6379'],
    ] as const) {
      await core.createNamespacedSecret({
        namespace: APP_NS,
        body: { metadata: { name }, stringData: { [key]: value } },
      });
    }
    ok(
      await helm(
        [
          'install', 'chat', join(ROOT, 'charts/signalink'),
          '--namespace', APP_NS,
          '--set', 'image.tag=1.0.0',
          '--set', 'monitoring.serviceMonitor=true,monitoring.prometheusRule=true,monitoring.dashboards=true',
        ], // prettier-ignore
        adminEnv(),
      ),
      'helm install signalink',
    );
    const secret = await core.readNamespacedSecret({ name: 'chat-secrets', namespace: APP_NS });
    expect(Buffer.from(secret.data!['jwt-secret']!, 'base64').toString()).toMatch(
      /^[A-Za-z0-9]{64}$/,
    );

    // The operator process, configured exactly as the chart's Deployment configures its pods.
    const deployment = await apps.readNamespacedDeployment({
      name: OPERATOR_SA,
      namespace: OPERATOR_NS,
    });
    const container = deployment.spec!.template.spec!.containers[0]!;
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = OPERATOR_NS;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = 'op-test-pod';
    }
    expect(env).toMatchObject({ ROLES: 'operator', OPERATOR_LEASE_NAMESPACE: OPERATOR_NS });
    const sa = await cp.kubeconfigFor(OPERATOR_NS, OPERATOR_SA);
    operator = await startNode({
      ...env,
      // This machine's ports and paths instead of the pod's.
      PORT: '',
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'operator-data'),
      LOG_LEVEL: 'info',
      KUBECONFIG: sa.path,
    });

    const sl = () =>
      custom.getNamespacedCustomObject({
        group: 'signalink.io',
        version: 'v1alpha1',
        plural: 'signalinks',
        namespace: APP_NS,
        name: 'chat',
      }) as Promise<{ metadata: { uid: string; generation: number }; status?: any }>;
    const uid = (await sl()).metadata.uid;

    // First the migrations Job for 1.0.0 and what goes with it; no Deployment before it succeeds.
    const job = await eventually('the migrations Job chat-migrate-1.0.0', () =>
      batch.readNamespacedJob({ name: 'chat-migrate-1.0.0', namespace: APP_NS }),
    );
    expect(job.metadata?.labels).toMatchObject({
      'app.kubernetes.io/name': 'signalink',
      'app.kubernetes.io/instance': 'chat',
      'app.kubernetes.io/managed-by': 'signalink-operator',
    });
    expect(job.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Signalink', name: 'chat', uid, controller: true }),
    ]);
    const config = await eventually('the ConfigMap chat-config', () =>
      core.readNamespacedConfigMap({ name: 'chat-config', namespace: APP_NS }),
    );
    expect(config.data).toMatchObject({ KAFKA_CREATE_TOPICS: 'false', NODE_ENV: 'production' });
    // The Job controller runs it and kwok completes its pod (no container runs).
    const done = await eventually('the migrations Job complete', async () => {
      const j = await batch.readNamespacedJob({ name: 'chat-migrate-1.0.0', namespace: APP_NS });
      return j.status?.completionTime ? j : undefined;
    });
    const completedAt = new Date(done.status!.completionTime!).getTime();

    // Then every role's Deployment, running on kwok's node, and the optional kinds.
    const roles = ['relay', 'analytics', 'notifier', 'gateway'];
    await eventually('a Deployment per role', async () => {
      const names = (await apps.listNamespacedDeployment({ namespace: APP_NS })).items.map(
        (d) => d.metadata!.name,
      );
      return roles.every((r) => names.includes(`chat-${r}`)) ? names : undefined;
    });
    const topics = await eventually('four KafkaTopics', async () => {
      const list = (await custom.listNamespacedCustomObject({
        group: 'kafka.strimzi.io',
        version: 'v1',
        plural: 'kafkatopics',
        namespace: APP_NS,
      })) as {
        items: { metadata: { labels: Record<string, string> }; spec: { topicName?: string } }[];
      };
      return list.items.length === 4 ? list.items : undefined;
    });
    for (const t of topics) expect(t.metadata.labels['strimzi.io/cluster']).toBe('signalink-kafka');
    for (const plural of ['servicemonitors', 'prometheusrules']) {
      await eventually(`a ${plural} object`, async () => {
        const list = (await custom.listNamespacedCustomObject({
          group: 'monitoring.coreos.com',
          version: 'v1',
          plural,
          namespace: APP_NS,
        })) as { items: unknown[] };
        return list.items.length === 1;
      });
    }
    await eventually('the dashboard ConfigMap', () =>
      core.readNamespacedConfigMap({ name: 'chat-dashboard', namespace: APP_NS }),
    );
    const ready = await eventually(
      'Ready=True with every role ready',
      async () => {
        const s = (await sl()).status;
        const r = s?.conditions?.find((c: any) => c.type === 'Ready');
        return r?.status === 'True' ? s : undefined;
      },
      CONDITION_TIMEOUT_MS * 2,
    );
    expect(ready.observedGeneration).toBe(1);
    expect(ready.conditions.find((c: any) => c.type === 'MigrationsComplete').status).toBe('True');
    // No workload was created before its migrations had completed.
    for (const d of (await apps.listNamespacedDeployment({ namespace: APP_NS })).items) {
      expect({
        deployment: d.metadata!.name,
        beforeMigrations: new Date(d.metadata!.creationTimestamp!).getTime() < completedAt - 1000,
      }).toEqual({ deployment: d.metadata!.name, beforeMigrations: false });
    }
    expect(ready.version).toBe('1.0.0');
    for (const r of roles) expect(ready.roles[r].ready).toBeGreaterThanOrEqual(1);
    // Nothing the operator tried was forbidden by the chart's RBAC.
    expect(operator.output()).not.toMatch(/forbidden/i);
  },
  HELM_TIMEOUT_MS * 2,
);

test(
  'helm upgrade keeps the generated JWT key and the operator rolls the change out',
  async () => {
    const before = await core.readNamespacedSecret({ name: 'chat-secrets', namespace: APP_NS });
    ok(
      await helm(
        [
          'upgrade',
          'chat',
          join(ROOT, 'charts/signalink'),
          '--namespace',
          APP_NS,
          '--reuse-values',
          '--set',
          'logLevel=debug',
        ],
        adminEnv(),
      ),
      'helm upgrade signalink',
    );
    const after = await core.readNamespacedSecret({ name: 'chat-secrets', namespace: APP_NS });
    expect(after.data!['jwt-secret']).toBe(before.data!['jwt-secret']);
    await eventually('LOG_LEVEL=debug in chat-config', async () => {
      const c = await core.readNamespacedConfigMap({ name: 'chat-config', namespace: APP_NS });
      return c.data?.LOG_LEVEL === 'debug';
    });
  },
  HELM_TIMEOUT_MS,
);

test(
  'helm uninstall signalink: the Signalink goes and garbage collection takes what the operator made',
  async () => {
    ok(
      await helm(['uninstall', 'chat', '--namespace', APP_NS, '--wait'], adminEnv()),
      'helm uninstall',
    );
    await eventually('every owned Deployment and ConfigMap gone', async () => {
      const deployments = (await apps.listNamespacedDeployment({ namespace: APP_NS })).items;
      const configMaps = (
        await core.listNamespacedConfigMap({
          namespace: APP_NS,
          labelSelector: 'app.kubernetes.io/managed-by=signalink-operator',
        })
      ).items;
      return deployments.length === 0 && configMaps.length === 0;
    });
    // The Secrets the platform made are not the chart's and stay.
    await core.readNamespacedSecret({ name: 'signalink-pg-app', namespace: APP_NS });
  },
  HELM_TIMEOUT_MS,
);
