// The test control plane is a real Kubernetes: kube-apiserver 1.35 on etcd, with the controller
// manager, scheduler and kwok's fake node. Everything goes through @kubernetes/client-node as
// the operator will use it, and each test tries something the API server must refuse.
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  VersionApi,
  loadYaml,
  type V1CustomResourceDefinition,
  Watch,
  type KubeConfig,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import {
  CONTROL_PLANE_START_TIMEOUT_MS,
  FAKE_NODE_NAME,
  startControlPlane,
  type ControlPlane,
} from '../../support/control-plane.js';

// Controllers act on their own schedule (the garbage collector learns about a new CRD only at
// its next 30 s discovery), and this machine may be loaded: wait long, fail with a reason.
const CONDITION_TIMEOUT_MS = 120_000;
const SLOW_TEST_TIMEOUT_MS = 3 * CONDITION_TIMEOUT_MS;
const GROUP = 'test.signalink.dev';
const WIDGET_CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.${GROUP}
spec:
  group: ${GROUP}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [minReplicas, maxReplicas]
              properties:
                minReplicas: { type: integer, minimum: 1 }
                maxReplicas: { type: integer, maximum: 100 }
                tier: { type: string, enum: [free, pro], default: free }
              x-kubernetes-validations:
                - rule: self.minReplicas <= self.maxReplicas
                  message: minReplicas must not exceed maxReplicas
`;
const NS = 'smoke';

let cp: ControlPlane;
let core: CoreV1Api;
let objects: KubernetesObjectApi;
let custom: CustomObjectsApi;

beforeAll(async () => {
  cp = await startControlPlane({ fakeNodes: true });
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
  objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
  custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
}, CONTROL_PLANE_START_TIMEOUT_MS);

afterAll(async () => {
  await cp?.stop();
});

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
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen within ${timeoutMs} ms; last: ${explain(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function explain(err: unknown): string {
  if (err instanceof ApiException) return `HTTP ${err.code} ${String(err.body).slice(0, 500)}`;
  return err instanceof Error ? err.message : String(err);
}

/** The refusal of a request that must fail: its HTTP status and the API server's message. */
async function refusal(request: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await request;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    const message = (body as { message?: string } | undefined)?.message ?? String(err.body);
    return { code: err.code, message };
  }
  throw new Error('the API server accepted a request it must refuse');
}

function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

async function gone(what: string, read: () => Promise<unknown>): Promise<void> {
  await eventually(`${what} being deleted`, async () => {
    try {
      await read();
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  });
}

test(
  'serves the pinned Kubernetes version and creates namespaces',
  async () => {
    const version = await cp.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.35.4');
    expect(version.minor).toBe('35');

    await core.createNamespace({ body: { metadata: { name: NS } } });
    const ns = await core.readNamespace({ name: NS });
    expect(ns.status?.phase).toBe('Active');
    const again = await refusal(core.createNamespace({ body: { metadata: { name: NS } } }));
    expect(again.code).toBe(409);
    // The controller manager gives every namespace its default ServiceAccount.
    await eventually('default ServiceAccount in the new namespace', () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: NS }),
    );
  },
  SLOW_TEST_TIMEOUT_MS,
);

describe('a CRD with a structural schema', () => {
  beforeAll(async () => {
    // Applied as a manifest, the way the chart's CRDs will be. client-node serialises request
    // bodies by its models' property names (`_enum`, `x_kubernetes_validations`) and silently
    // drops `enum`, `default` and `x-kubernetes-validations` of a plain parsed YAML object, even
    // through KubernetesObjectApi; its own loadYaml maps them, so the rules below reach the server.
    const crd = loadYaml<V1CustomResourceDefinition>(WIDGET_CRD);
    await objects.patch(
      crd,
      undefined,
      undefined,
      'signalink-test',
      true,
      PatchStrategy.ServerSideApply,
    );
    const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
    await eventually('the Widget CRD becoming Established', async () => {
      const crd = await ext.readCustomResourceDefinition({ name: `widgets.${GROUP}` });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }, CONDITION_TIMEOUT_MS * 2);

  const widget = (name: string, spec: Record<string, unknown>) => ({
    group: GROUP,
    version: 'v1',
    plural: 'widgets',
    namespace: NS,
    body: { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name }, spec },
  });

  test(
    'accepts a valid object, prunes unknown fields and applies defaults',
    async () => {
      await custom.createNamespacedCustomObject(
        widget('good', { minReplicas: 1, maxReplicas: 3, tier: 'pro', colour: 'red' }),
      );
      await custom.createNamespacedCustomObject(
        widget('plain', { minReplicas: 2, maxReplicas: 2 }),
      );
      const read = async (name: string) =>
        (
          (await custom.getNamespacedCustomObject({
            group: GROUP,
            version: 'v1',
            plural: 'widgets',
            namespace: NS,
            name,
          })) as { spec: Record<string, unknown> }
        ).spec;
      expect(await read('good')).toEqual({ minReplicas: 1, maxReplicas: 3, tier: 'pro' });
      expect(await read('plain')).toEqual({ minReplicas: 2, maxReplicas: 2, tier: 'free' });
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    'rejects wrong types, bad enums and missing required fields',
    async () => {
      const wrongType = await refusal(
        custom.createNamespacedCustomObject(
          widget('bad-type', { minReplicas: 1, maxReplicas: 'ten' }),
        ),
      );
      expect(wrongType.code).toBe(422);
      expect(wrongType.message).toContain('spec.maxReplicas');

      const badEnum = await refusal(
        custom.createNamespacedCustomObject(
          widget('bad-enum', { minReplicas: 1, maxReplicas: 2, tier: 'gold' }),
        ),
      );
      expect(badEnum.code).toBe(422);
      expect(badEnum.message).toContain('spec.tier');

      const missing = await refusal(custom.createNamespacedCustomObject(widget('bad-missing', {})));
      expect(missing.code).toBe(422);
      expect(missing.message).toMatch(/spec\.minReplicas: Required/);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    'enforces the CEL rule, on create and on update',
    async () => {
      const created = await refusal(
        custom.createNamespacedCustomObject(widget('bad-cel', { minReplicas: 5, maxReplicas: 2 })),
      );
      expect(created.code).toBe(422);
      expect(created.message).toContain('minReplicas must not exceed maxReplicas');

      const updated = await refusal(
        custom.patchNamespacedCustomObject({
          group: GROUP,
          version: 'v1',
          plural: 'widgets',
          namespace: NS,
          name: 'good',
          body: [{ op: 'replace', path: '/spec/minReplicas', value: 50 }],
        }),
      );
      expect(updated.code).toBe(422);
      expect(updated.message).toContain('minReplicas must not exceed maxReplicas');
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    'an owner deleted takes its dependents with it (garbage collector)',
    async () => {
      const owner = (await custom.createNamespacedCustomObject(
        widget('owner', { minReplicas: 1, maxReplicas: 1 }),
      )) as { metadata: { uid: string } };
      const ownerRef = {
        apiVersion: `${GROUP}/v1`,
        kind: 'Widget',
        name: 'owner',
        uid: owner.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      };
      await core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: 'owned', ownerReferences: [ownerRef] }, data: { a: '1' } },
      });
      // An owner reference to an object that never existed is as good as a deleted owner.
      await core.createNamespacedConfigMap({
        namespace: NS,
        body: {
          metadata: {
            name: 'orphaned',
            ownerReferences: [
              { ...ownerRef, name: 'never', uid: '00000000-0000-0000-0000-000000000000' },
            ],
          },
        },
      });
      await core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: 'unowned' } },
      });

      await gone('ConfigMap whose owner never existed', () =>
        core.readNamespacedConfigMap({ name: 'orphaned', namespace: NS }),
      );
      // Its owner still exists, so this one stays.
      expect((await core.readNamespacedConfigMap({ name: 'owned', namespace: NS })).data).toEqual({
        a: '1',
      });

      await custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: 'v1',
        plural: 'widgets',
        namespace: NS,
        name: 'owner',
      });
      await gone('ConfigMap owned by the deleted Widget', () =>
        core.readNamespacedConfigMap({ name: 'owned', namespace: NS }),
      );
      expect(
        (await core.readNamespacedConfigMap({ name: 'unowned', namespace: NS })).metadata?.name,
      ).toBe('unowned');
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});

test(
  'server-side apply is idempotent per field manager and refuses to steal fields',
  async () => {
    const desired = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'applied', namespace: NS, labels: { app: 'signalink' } },
      data: { colour: 'blue' },
    };
    const apply = (obj: V1ConfigMap, manager: string, force: boolean) =>
      objects.patch(obj, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);

    const first = await apply(desired, 'signalink-operator', true);
    const second = await apply(desired, 'signalink-operator', true);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const managers = second.metadata?.managedFields?.map((f) => [f.manager, f.operation]);
    expect(managers).toEqual([['signalink-operator', 'Apply']]);

    const rival = { ...desired, data: { colour: 'red' } };
    const conflict = await refusal(apply(rival, 'someone-else', false));
    expect(conflict.code).toBe(409);
    expect(conflict.message).toContain('signalink-operator');
    const unchanged = await core.readNamespacedConfigMap({ name: 'applied', namespace: NS });
    expect(unchanged.data).toEqual({ colour: 'blue' });

    const forced = await apply(rival, 'someone-else', true);
    expect(forced.data).toEqual({ colour: 'red' });
  },
  SLOW_TEST_TIMEOUT_MS,
);

test(
  'a ServiceAccount can do what its Role allows and nothing else',
  async () => {
    const rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespace({ body: { metadata: { name: 'elsewhere' } } });
    await core.createNamespacedServiceAccount({
      namespace: NS,
      body: { metadata: { name: 'reader' } },
    });
    await rbac.createNamespacedRole({
      namespace: NS,
      body: {
        metadata: { name: 'configmap-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: NS }],
      },
    });

    const { path, kubeConfig } = await cp.kubeconfigFor(NS, 'reader');
    expect(path).toMatch(/\.kubeconfig$/);
    const who = await kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(who.status?.userInfo?.username).toBe(`system:serviceaccount:${NS}:reader`);

    const asReader = kubeConfig.makeApiClient(CoreV1Api);
    // The RBAC authorizer sees the new binding through its informer, a moment later.
    const list = await eventually('the reader listing ConfigMaps in its namespace', () =>
      asReader.listNamespacedConfigMap({ namespace: NS }),
    );
    expect(list.items.map((c) => c.metadata?.name)).toContain('applied');

    const denials = await Promise.all([
      refusal(asReader.listNamespacedSecret({ namespace: NS })),
      refusal(asReader.listNamespacedConfigMap({ namespace: 'elsewhere' })),
      refusal(
        asReader.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'x' } } }),
      ),
      refusal(asReader.deleteNamespacedConfigMap({ name: 'applied', namespace: NS })),
      refusal(asReader.listNamespace()),
    ]);
    expect(denials.map((d) => d.code)).toEqual([403, 403, 403, 403, 403]);
    expect(denials[0]?.message).toContain(`system:serviceaccount:${NS}:reader`);
    // A token for a ServiceAccount that does not exist is not handed out.
    expect((await refusal(cp.kubeconfigFor(NS, 'nobody').then(() => undefined))).code).toBe(404);
  },
  SLOW_TEST_TIMEOUT_MS,
);

test(
  'a Deployment gets a ReplicaSet and Running pods; deleting it collects them',
  async () => {
    const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    const deployment = await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            // Never pulled: kwok only pretends to run it.
            spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
          },
        },
      },
    });
    const replicaSet = await eventually('a ReplicaSet owned by the Deployment', async () => {
      const sets = await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=web' });
      return sets.items.find((rs) =>
        rs.metadata?.ownerReferences?.some(
          (o) => o.kind === 'Deployment' && o.uid === deployment.metadata?.uid,
        ),
      );
    });
    const pods = await eventually(
      'two Running, Ready pods of the ReplicaSet on the fake node',
      async () => {
        const list = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' });
        const running = list.items.filter(
          (p) =>
            p.status?.phase === 'Running' &&
            p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
            p.metadata?.ownerReferences?.some((o) => o.uid === replicaSet.metadata?.uid),
        );
        return running.length === 2 ? running : undefined;
      },
    );
    expect(pods.map((p) => p.spec?.nodeName)).toEqual([FAKE_NODE_NAME, FAKE_NODE_NAME]);
    await eventually('the Deployment reporting 2 available replicas', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
      return d.status?.availableReplicas === 2;
    });

    // A pod deleted by hand is replaced: the ReplicaSet controller keeps the count.
    await core.deleteNamespacedPod({ name: pods[0]!.metadata!.name!, namespace: NS });
    await eventually('a replacement pod', async () => {
      const list = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' });
      const names = list.items
        .filter((p) => p.status?.phase === 'Running')
        .map((p) => p.metadata?.name);
      return names.length === 2 && !names.includes(pods[0]!.metadata!.name) ? names : undefined;
    });

    await apps.deleteNamespacedDeployment({ name: 'web', namespace: NS });
    await gone('the ReplicaSet of the deleted Deployment', () =>
      apps.readNamespacedReplicaSet({ name: replicaSet.metadata!.name!, namespace: NS }),
    );
    await eventually('every pod of the deleted Deployment being gone', async () => {
      const list = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' });
      return list.items.length === 0;
    });
  },
  SLOW_TEST_TIMEOUT_MS,
);

/**
 * A watch that resumes like an informer: from the last resourceVersion it saw, and after a
 * 410 Gone (the restarted apiserver's watch cache starts at etcd's current revision) from a
 * fresh list. Only watch events are recorded, so a relist cannot fake a delivery.
 */
function resumingConfigMapWatch(kc: KubeConfig, namespace: string, name: string, fromRv: string) {
  const watch = new Watch(kc);
  const list = kc.makeApiClient(CoreV1Api);
  const events: string[] = [];
  const errors: string[] = [];
  let resourceVersion: string | undefined = fromRv;
  let connections = 0;
  let relists = 0;
  let stopped = false;
  let abort: AbortController | undefined;
  const fieldSelector = `metadata.name=${name}`;
  const loop = (async () => {
    while (!stopped) {
      try {
        if (resourceVersion === undefined) {
          const current = await list.listNamespacedConfigMap({ namespace, fieldSelector });
          resourceVersion = current.metadata?.resourceVersion;
          relists += 1;
        }
        await new Promise<void>((done, fail) => {
          watch
            .watch(
              `/api/v1/namespaces/${namespace}/configmaps`,
              { fieldSelector, resourceVersion, allowWatchBookmarks: true },
              (type, obj: V1ConfigMap & { code?: number; message?: string }) => {
                if (type === 'ERROR') {
                  errors.push(`${obj.code ?? '?'} ${obj.message ?? ''}`);
                  if (obj.code === 410) resourceVersion = undefined;
                  return;
                }
                resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
                if (type === 'MODIFIED') events.push(obj.data?.step ?? '');
              },
              (err: unknown) => {
                if (err) errors.push(err instanceof Error ? err.message : String(err));
                done();
              },
            )
            .then((controller) => {
              abort = controller;
              connections += 1;
            }, fail);
        });
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
      // Back off a little before the next attempt while the server is away.
      if (!stopped) await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    events,
    state: () =>
      `events ${JSON.stringify(events)}, ${connections} connections, ${relists} relists, errors ${JSON.stringify(errors.slice(-5))}`,
    connections: () => connections,
    async stop() {
      stopped = true;
      abort?.abort();
      await loop;
    },
  };
}

test(
  'a watch resumes after the API server restarts and sees later changes',
  async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'watched' }, data: { step: 'created' } },
    });
    const watcher = resumingConfigMapWatch(
      cp.kubeConfig,
      NS,
      'watched',
      created.metadata!.resourceVersion!,
    );
    const seen = (step: string) => async () => {
      if (watcher.events.includes(step)) return true;
      throw new Error(watcher.state());
    };
    try {
      const step = (value: string) =>
        core.patchNamespacedConfigMap({
          name: 'watched',
          namespace: NS,
          body: [{ op: 'replace', path: '/data/step', value }],
        });
      await step('before-restart');
      await eventually('the watch seeing the change before the restart', seen('before-restart'));
      const connectionsBefore = watcher.connections();

      await cp.restartApiServer();
      await step('after-restart');
      await eventually('the watch seeing the change made after the restart', seen('after-restart'));
      expect(watcher.connections()).toBeGreaterThan(connectionsBefore);
      expect(watcher.events).toEqual(['before-restart', 'after-restart']);
    } finally {
      await watcher.stop();
    }
  },
  SLOW_TEST_TIMEOUT_MS,
);
