// The operator process (node dist/main.js, ROLES=operator; needs `npm run build`) against a
// real control plane: kube-apiserver, controller manager (Deployments, garbage collection) and
// kwok (pods become Running and Ready, Job pods Succeed). It runs with a token of its own
// ServiceAccount bound to exactly the rules of services/operator/rbac.ts, not as admin.
import { readFileSync } from 'node:fs';
import { Watch } from '@kubernetes/client-node';
import { apiPath } from '../../../services/operator/kinds.js';
import { KubeClient } from '../../../services/operator/kube-client.js';
import { leaseNamespaceRules, watchedNamespaceRules } from '../../../services/operator/rbac.js';
import type { Condition } from '../../../services/operator/spec.js';
import {
  CONTROL_PLANE_START_TIMEOUT_MS,
  startControlPlane,
  type ControlPlane,
} from '../../support/control-plane.js';
import { startNode, type NodeProcess } from '../../support/node-process.js';
import { fixture } from '../../unit/operator/helpers.js';
import { K8S_CONDITION_TIMEOUT_MS, eventually, installCrd } from './k8s.js';

const CRD_FILE = new URL(
  '../../../charts/signalink-operator/crds/signalink.io_signalinks.yaml',
  import.meta.url,
);
const SYSTEM = 'signalink-system';
const NS = 'messaging';
const STEP_TIMEOUT_MS = 4 * K8S_CONDITION_TIMEOUT_MS;

let cp: ControlPlane;
let admin: KubeClient;
let operatorKubeconfig: string;
const operators: NodeProcess[] = [];

const sl = (name: string) => apiPath('signalink.io/v1alpha1', 'signalinks', NS, name);
const deployments = () => apiPath('apps/v1', 'deployments', NS);

interface Live {
  metadata: {
    name: string;
    uid: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; controller?: boolean; kind: string }[];
    managedFields?: { manager: string; fieldsV1?: any }[];
  };
  spec?: any;
  status?: any;
}

async function signalink(name = 'chat'): Promise<Live> {
  const r = await admin.get<Live>(sl(name));
  if (!r) throw new Error(`Signalink ${name} is gone`);
  return r;
}

function condition(r: Live, type: string): Condition | undefined {
  return (r.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

async function waitForCondition(
  what: string,
  name: string,
  check: (r: Live) => boolean,
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<Live> {
  let last: Live | undefined;
  return eventually(
    what,
    async () => {
      last = await signalink(name);
      return check(last) ? last : undefined;
    },
    timeoutMs,
    () => `last status: ${JSON.stringify(last?.status ?? {})}`,
  );
}

const isCurrent = (r: Live) => r.status?.observedGeneration === r.metadata.generation;
const ready = (version: string) => (r: Live) =>
  isCurrent(r) && condition(r, 'Ready')?.status === 'True' && r.status?.version === version;

async function roleDeployments(instance = 'chat'): Promise<Record<string, Live>> {
  const list = await admin.list<Live>(deployments(), {
    labelSelector: `app.kubernetes.io/instance=${instance}`,
  });
  return Object.fromEntries(
    list.items.map((d) => [d.metadata.labels!['app.kubernetes.io/component']!, d]),
  );
}

const versionOf = (d: Live) => d.spec.template.metadata.annotations['signalink.io/version'];

async function patchSpec(name: string, spec: unknown): Promise<void> {
  await admin.mergePatch(sl(name), { spec });
}

function secret(name: string, data: Record<string, string>) {
  return admin.create(apiPath('v1', 'secrets', NS), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    stringData: data,
  });
}

async function startOperator(podName: string): Promise<NodeProcess> {
  const p = await startNode({
    ROLES: 'operator',
    KUBECONFIG: operatorKubeconfig,
    POD_NAME: podName,
    OPERATOR_LEASE_NAMESPACE: SYSTEM,
    OPERATOR_LEASE_DURATION_SECONDS: '6',
    OPERATOR_RENEW_DEADLINE_SECONDS: '4',
    OPERATOR_RETRY_PERIOD_SECONDS: '1',
    OPERATOR_RESYNC_SECONDS: '20',
    LOG_LEVEL: 'info',
  });
  operators.push(p);
  return p;
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await admin.get<{ spec: { holderIdentity?: string } }>(
    apiPath('coordination.k8s.io/v1', 'leases', SYSTEM, 'signalink-operator'),
  );
  return lease?.spec.holderIdentity;
}

async function metric(p: NodeProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : undefined;
}

beforeAll(async () => {
  cp = await startControlPlane({ fakeNodes: true });
  admin = new KubeClient(cp.kubeConfig);
  await installCrd(cp.kubeConfig, readFileSync(CRD_FILE, 'utf8'));
  for (const ns of [SYSTEM, NS]) {
    await admin.create(apiPath('v1', 'namespaces'), { metadata: { name: ns } });
  }
  await admin.create(apiPath('v1', 'serviceaccounts', SYSTEM), {
    metadata: { name: 'signalink-operator' },
  });
  const subject = [{ kind: 'ServiceAccount', name: 'signalink-operator', namespace: SYSTEM }];
  await admin.create(apiPath('rbac.authorization.k8s.io/v1', 'clusterroles'), {
    metadata: { name: 'signalink-operator' },
    rules: watchedNamespaceRules(),
  });
  await admin.create(apiPath('rbac.authorization.k8s.io/v1', 'clusterrolebindings'), {
    metadata: { name: 'signalink-operator' },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'signalink-operator',
    },
    subjects: subject,
  });
  await admin.create(apiPath('rbac.authorization.k8s.io/v1', 'roles', SYSTEM), {
    metadata: { name: 'signalink-operator-leases' },
    rules: leaseNamespaceRules(),
  });
  await admin.create(apiPath('rbac.authorization.k8s.io/v1', 'rolebindings', SYSTEM), {
    metadata: { name: 'signalink-operator-leases' },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'signalink-operator-leases',
    },
    subjects: subject,
  });
  operatorKubeconfig = (await cp.kubeconfigFor(SYSTEM, 'signalink-operator')).path;
  await secret('chat-db-app', { uri: 'postgres://signalink@db.invalid:5432/signalink' });
  await secret('chat-jwt', { secret: 'x'.repeat(40) });
  await startOperator('op-a');
}, CONTROL_PLANE_START_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(operators.map((p) => p.kill('SIGKILL')));
  await cp?.stop();
});

/** Records, in arrival order, Jobs completing and ReplicaSets appearing in the namespace. */
async function recordRollout() {
  const events: { what: string; version?: string; role?: string; at: number }[] = [];
  const watch = new Watch(cp.kubeConfig);
  const controllers = await Promise.all([
    watch.watch(
      `/apis/batch/v1/namespaces/${NS}/jobs`,
      {},
      (type, job: Live) => {
        if (
          job.status?.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True')
        ) {
          events.push({
            what: 'job-complete',
            version: job.metadata.annotations?.['signalink.io/version'],
            at: Date.now(),
          });
        }
        if (type === 'ADDED') {
          events.push({
            what: 'job-added',
            version: job.metadata.annotations?.['signalink.io/version'],
            at: Date.now(),
          });
        }
      },
      () => {},
    ),
    watch.watch(
      `/apis/apps/v1/namespaces/${NS}/replicasets`,
      {},
      (type, rs: Live) => {
        if (type !== 'ADDED') return;
        events.push({
          what: 'replicaset-added',
          version: rs.spec?.template?.metadata?.annotations?.['signalink.io/version'],
          role: rs.metadata.labels?.['app.kubernetes.io/component'],
          at: Date.now(),
        });
      },
      () => {},
    ),
  ]);
  return { events, stop: () => controllers.forEach((c) => c.abort()) };
}

describe('one Signalink through its life', () => {
  test(
    'created: the migrations Job runs first, then every workload, labelled and owned; status reaches Ready',
    async () => {
      const rollout = await recordRollout();
      const body = fixture('minimal');
      body.metadata.namespace = NS;
      await admin.create(apiPath('signalink.io/v1alpha1', 'signalinks', NS), body);
      const r = await waitForCondition('chat becoming Ready at 1.4.0', 'chat', ready('1.4.0'));
      rollout.stop();

      expect(condition(r, 'MigrationsComplete')).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
      expect(condition(r, 'Degraded')).toMatchObject({ status: 'False' });
      expect(condition(r, 'Progressing')).toMatchObject({ status: 'False', reason: 'Complete' });
      expect(r.status.roles.gateway).toEqual({ desired: 2, ready: 2, updated: 2 });

      const firstComplete = rollout.events.findIndex((e) => e.what === 'job-complete');
      const firstReplicaSet = rollout.events.findIndex((e) => e.what === 'replicaset-added');
      expect(firstComplete).toBeGreaterThanOrEqual(0);
      expect(firstReplicaSet).toBeGreaterThan(firstComplete);

      const uid = r.metadata.uid;
      const kinds: [string, string][] = [
        ['apps/v1', 'deployments'],
        ['v1', 'services'],
        ['v1', 'configmaps'],
        ['v1', 'serviceaccounts'],
        ['batch/v1', 'jobs'],
        ['policy/v1', 'poddisruptionbudgets'],
        ['networking.k8s.io/v1', 'networkpolicies'],
      ];
      let count = 0;
      for (const [apiVersion, plural] of kinds) {
        const list = await admin.list<Live>(apiPath(apiVersion, plural, NS), {
          labelSelector: 'app.kubernetes.io/instance=chat',
        });
        expect(list.items.length).toBeGreaterThan(0);
        for (const o of list.items) {
          count++;
          expect(o.metadata.labels).toMatchObject({
            'app.kubernetes.io/name': 'signalink',
            'app.kubernetes.io/instance': 'chat',
            'app.kubernetes.io/managed-by': 'signalink-operator',
            'app.kubernetes.io/component': expect.any(String),
          });
          expect(o.metadata.ownerReferences).toEqual([
            expect.objectContaining({ kind: 'Signalink', name: 'chat', uid, controller: true }),
          ]);
        }
      }
      expect(count).toBeGreaterThan(20);

      const events = await admin.list<{ reason: string; involvedObject: { name: string } }>(
        apiPath('v1', 'events', NS),
      );
      const reasons = events.items
        .filter((e) => e.involvedObject.name === 'chat')
        .map((e) => e.reason);
      expect(reasons).toEqual(expect.arrayContaining(['Created', 'MigrationsSucceeded', 'Ready']));
      expect(await metric(operators[0]!, 'signalink_operator_leader')).toBe(1);
    },
    STEP_TIMEOUT_MS + 60_000,
  );

  test(
    'a version bump: the new Job completes before any workload moves, gateways move last',
    async () => {
      const rollout = await recordRollout();
      await patchSpec('chat', { image: { tag: '1.5.0' } });
      await waitForCondition('chat Ready at 1.5.0', 'chat', ready('1.5.0'));
      rollout.stop();
      const events = rollout.events;
      const jobDone = events.findIndex((e) => e.what === 'job-complete' && e.version === '1.5.0');
      const newSets = events
        .map((e, i) => ({ ...e, i }))
        .filter((e) => e.what === 'replicaset-added' && e.version === '1.5.0');
      expect(jobDone).toBeGreaterThanOrEqual(0);
      expect(newSets.map((e) => e.role).sort()).toEqual([
        'analytics',
        'gateway',
        'notifier',
        'relay',
      ]);
      for (const s of newSets) expect(s.i).toBeGreaterThan(jobDone);
      const gateway = newSets.find((s) => s.role === 'gateway')!;
      for (const s of newSets) if (s.role !== 'gateway') expect(gateway.i).toBeGreaterThan(s.i);
      const d = await roleDeployments();
      expect(d.gateway!.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    },
    STEP_TIMEOUT_MS + 60_000,
  );

  test(
    'a failed migrations Job: Degraded, and every workload stays on the old version',
    async () => {
      // No container runs here, so the failing migration is a Job that cannot schedule and
      // passes its deadline; it has the name and owner the operator gives the Job of 1.6.0. The
      // resource is paused while it is put in place: until the spec says 1.6.0, the operator
      // rightly prunes a Job of a version nobody asked for.
      await admin.mergePatch(sl('chat'), {
        metadata: { annotations: { 'signalink.io/paused': 'true' } },
      });
      const r = await waitForCondition(
        'Progressing says Paused',
        'chat',
        (x) => condition(x, 'Progressing')?.reason === 'Paused',
      );
      await admin.create(apiPath('batch/v1', 'jobs', NS), {
        metadata: {
          name: 'chat-migrate-1.6.0',
          labels: {
            'app.kubernetes.io/name': 'signalink',
            'app.kubernetes.io/instance': 'chat',
            'app.kubernetes.io/component': 'migrations',
            'app.kubernetes.io/managed-by': 'signalink-operator',
          },
          annotations: { 'signalink.io/version': '1.6.0' },
          ownerReferences: [
            {
              apiVersion: 'signalink.io/v1alpha1',
              kind: 'Signalink',
              name: 'chat',
              uid: r.metadata.uid,
              controller: true,
            },
          ],
        },
        spec: {
          backoffLimit: 0,
          activeDeadlineSeconds: 1,
          template: {
            spec: {
              restartPolicy: 'Never',
              nodeSelector: { 'no-such-node': 'true' },
              containers: [{ name: 'signalink', image: 'ghcr.io/example/signalink:1.6.0' }],
            },
          },
        },
      });
      await patchSpec('chat', { image: { tag: '1.6.0' } });
      await admin.mergePatch(sl('chat'), {
        metadata: { annotations: { 'signalink.io/paused': null } },
      });
      const failed = await waitForCondition(
        'chat Degraded by the failed Job',
        'chat',
        (x) => isCurrent(x) && condition(x, 'Degraded')?.reason === 'MigrationsFailed',
      );
      expect(condition(failed, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'MigrationsFailed',
      });
      expect(condition(failed, 'MigrationsComplete')).toMatchObject({
        status: 'False',
        reason: 'Failed',
      });
      expect(failed.status.version).toBe('1.5.0');
      // The running version's Job stays, so going back to it runs no migration again.
      expect(await admin.get(apiPath('batch/v1', 'jobs', NS, 'chat-migrate-1.5.0'))).toBeDefined();
      for (const d of Object.values(await roleDeployments())) {
        expect(versionOf(d)).toBe('1.5.0');
        expect(d.spec.template.spec.containers[0].image).toBe('ghcr.io/example/signalink:1.5.0');
      }
      await patchSpec('chat', { image: { tag: '1.5.0' } });
      const back = await waitForCondition('chat Ready again at 1.5.0', 'chat', ready('1.5.0'));
      expect(condition(back, 'Degraded')).toMatchObject({ status: 'False' });
    },
    2 * STEP_TIMEOUT_MS,
  );

  test(
    'autoscaling on: the operator hands replicas over and never writes them again',
    async () => {
      await patchSpec('chat', { gateway: { replicas: 3 } });
      await eventually(
        'the gateway Deployment at 3 replicas',
        async () => (await roleDeployments()).gateway?.spec.replicas === 3,
      );
      await patchSpec('chat', {
        gateway: { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 8 } },
      });
      await eventually('an HPA for gateways (KEDA is not installed)', () =>
        admin.get(apiPath('autoscaling/v2', 'horizontalpodautoscalers', NS, 'chat-gateway')),
      );
      await waitForCondition('the autoscaling spec reconciled', 'chat', isCurrent);
      let gateway = (await roleDeployments()).gateway!;
      // Not reset to 1 when the operator stopped setting it.
      expect(gateway.spec.replicas).toBe(3);
      const owns = (d: Live) =>
        (d.metadata.managedFields ?? []).some(
          (m) =>
            m.manager === 'signalink-operator' &&
            m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined,
        );
      expect(owns(gateway)).toBe(false);
      // The autoscaler's move (through the scale subresource, as an HPA does it).
      await admin.mergePatch(`${apiPath('apps/v1', 'deployments', NS, 'chat-gateway')}/scale`, {
        spec: { replicas: 5 },
      });
      // Other changes and a resync later, the count is still the autoscaler's.
      await patchSpec('chat', { logLevel: 'debug' });
      await waitForCondition(
        'the log level change rolled out',
        'chat',
        (x) => isCurrent(x) && condition(x, 'Ready')?.status === 'True',
      );
      gateway = (await roleDeployments()).gateway!;
      expect(gateway.spec.replicas).toBe(5);
      expect(owns(gateway)).toBe(false);
      expect((await roleDeployments()).relay!.spec.replicas).toBe(2);
    },
    2 * STEP_TIMEOUT_MS,
  );

  test(
    'paused: spec changes wait; unpaused: they apply',
    async () => {
      await admin.mergePatch(sl('chat'), {
        metadata: { annotations: { 'signalink.io/paused': 'true' } },
      });
      await patchSpec('chat', { relay: { replicas: 3 } });
      await waitForCondition(
        'Progressing says Paused',
        'chat',
        (x) => isCurrent(x) && condition(x, 'Progressing')?.reason === 'Paused',
      );
      expect((await roleDeployments()).relay!.spec.replicas).toBe(2);
      await admin.mergePatch(sl('chat'), {
        metadata: { annotations: { 'signalink.io/paused': null } },
      });
      await eventually(
        'relay at 3 replicas once unpaused',
        async () => (await roleDeployments()).relay?.spec.replicas === 3,
      );
    },
    STEP_TIMEOUT_MS,
  );

  test(
    'an invalid spec the CRD lets through: Degraded names the field, nothing is deleted',
    async () => {
      const before = Object.keys(await roleDeployments()).sort();
      await patchSpec('chat', { gateway: { affinity: { nodeAffinity: 'everywhere' } } });
      const r = await waitForCondition(
        'Degraded InvalidSpec',
        'chat',
        (x) => isCurrent(x) && condition(x, 'Degraded')?.reason === 'InvalidSpec',
      );
      expect(condition(r, 'Degraded')!.message).toContain('spec.gateway.affinity.nodeAffinity');
      expect(Object.keys(await roleDeployments()).sort()).toEqual(before);
      await patchSpec('chat', { gateway: { affinity: null } });
      await waitForCondition(
        'Degraded cleared',
        'chat',
        (x) => isCurrent(x) && condition(x, 'Degraded')?.status === 'False',
      );
    },
    2 * STEP_TIMEOUT_MS,
  );

  test(
    'a missing Secret: a condition and retries until it exists',
    async () => {
      const body = fixture('minimal');
      body.metadata = { name: 'talk', namespace: NS };
      (body.spec as any).jwt = { secretRef: { name: 'talk-jwt' } };
      await admin.create(apiPath('signalink.io/v1alpha1', 'signalinks', NS), body);
      const r = await waitForCondition(
        'talk Degraded MissingSecret',
        'talk',
        (x) => isCurrent(x) && condition(x, 'Degraded')?.reason === 'MissingSecret',
      );
      expect(condition(r, 'Degraded')!.message).toBe(
        'spec.jwt.secretRef: Secret talk-jwt does not exist',
      );
      expect(await roleDeployments('talk')).toEqual({});
      await secret('talk-jwt', { secret: 'y'.repeat(40) });
      await waitForCondition('talk Ready once the Secret exists', 'talk', ready('1.4.0'));
    },
    2 * STEP_TIMEOUT_MS,
  );

  test(
    'the API server restarts mid-watch: reconciling resumes',
    async () => {
      await cp.restartApiServer();
      await patchSpec('chat', { relay: { replicas: 1 } });
      await eventually(
        'relay at 1 replica after the restart',
        async () => (await roleDeployments()).relay?.spec.replicas === 1,
      );
    },
    STEP_TIMEOUT_MS,
  );

  test(
    'two operators: one leads; when it is killed the other takes over',
    async () => {
      const a = operators[0]!;
      const b = await startOperator('op-b');
      // The standby is ready (startNode waited for /readyz) but does not lead.
      expect(await leaseHolder()).toMatch(/^op-a_/);
      expect(await metric(b, 'signalink_operator_leader')).toBe(0);
      await a.kill('SIGKILL');
      await eventually('op-b holding the lease', async () =>
        (await leaseHolder())?.startsWith('op-b_'),
      );
      await eventually(
        'op-b reporting itself the leader',
        async () => (await metric(b, 'signalink_operator_leader')) === 1,
      );
      await patchSpec('chat', { relay: { replicas: 2 } });
      await eventually(
        'relay at 2 replicas, reconciled by op-b',
        async () => (await roleDeployments()).relay?.spec.replicas === 2,
      );
    },
    STEP_TIMEOUT_MS,
  );

  test(
    'deleting the resource garbage-collects what it owned',
    async () => {
      await admin.delete(sl('chat'), { propagationPolicy: 'Background' });
      await eventually('every object of chat deleted', async () => {
        for (const [apiVersion, plural] of [
          ['apps/v1', 'deployments'],
          ['v1', 'services'],
          ['v1', 'configmaps'],
          ['batch/v1', 'jobs'],
        ] as const) {
          const list = await admin.list(apiPath(apiVersion, plural, NS), {
            labelSelector: 'app.kubernetes.io/instance=chat',
          });
          if (list.items.length > 0) return false;
        }
        return true;
      });
      // The other resource is untouched.
      expect(Object.keys(await roleDeployments('talk')).length).toBe(4);
    },
    STEP_TIMEOUT_MS,
  );
});
