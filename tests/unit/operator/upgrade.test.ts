// The upgrade state machine and the status it reports: observed states in, the next objects
// and status out. A new version runs its migrations Job first, then the pipeline roles and a
// separate api move, gateways last; a failed Job leaves everything on the old version.
import type { KubeObject } from '../../../services/operator/desired/context.js';
import {
  allApis,
  type Observed,
  type ObservedDeployment,
} from '../../../services/operator/observed.js';
import { reconcile } from '../../../services/operator/reconcile.js';
import type { SignalinkObject, SignalinkStatus } from '../../../services/operator/spec.js';
import { NOW, ofKind, variant } from './helpers.js';

const OLD = 'ghcr.io/example/signalink:1.4.0';
const NEW = 'ghcr.io/example/signalink:1.5.0';
const upgraded = variant((r) => (r.spec.image.tag = '1.5.0'));
upgraded.metadata.generation = 2;
upgraded.metadata.uid = 'uid-1';

function dep(version: string, over: Partial<ObservedDeployment> = {}): ObservedDeployment {
  const replicas = over.specReplicas ?? 1;
  return {
    generation: 3,
    observedGeneration: 3,
    specReplicas: replicas,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
    version,
    image: `ghcr.io/example/signalink:${version}`,
    progressDeadlineExceeded: false,
    ...over,
  };
}

const ROLES = ['relay', 'analytics', 'notifier', 'gateway'] as const;
const replicasOf = { relay: 2, analytics: 1, notifier: 1, gateway: 2 } as const;

function world(
  versions: Partial<Record<(typeof ROLES)[number] | 'api', string | ObservedDeployment>>,
  job?: Observed['migrations'],
  extra: Partial<Observed> = {},
): Observed {
  const deployments: Observed['deployments'] = {};
  for (const [role, v] of Object.entries(versions)) {
    deployments[role as 'relay'] =
      typeof v === 'string' ? dep(v, { specReplicas: replicasOf[role as 'relay'] ?? 2 }) : v;
  }
  return { deployments, migrations: job, apis: allApis(true), secrets: {}, ...extra };
}

const allAt = (v: string) => world(Object.fromEntries(ROLES.map((r) => [r, v])));
const job = (state: 'running' | 'succeeded' | 'failed', version = '1.5.0', message?: string) => ({
  name: `chat-migrate-${version}`,
  state,
  ...(message ? { message } : {}),
});

function images(objects: KubeObject[]): Record<string, string> {
  return Object.fromEntries(
    ofKind(objects, 'Deployment').map((d) => [
      d.metadata.labels['app.kubernetes.io/component'],
      d.spec.template.spec.containers[0].image,
    ]),
  );
}

function cond(status: SignalinkStatus, type: string) {
  const c = status.conditions?.find((x) => x.type === type);
  if (!c) throw new Error(`no ${type} condition`);
  return { status: c.status, reason: c.reason, message: c.message };
}

function withStatus(resource: SignalinkObject, status: SignalinkStatus): SignalinkObject {
  return { ...resource, status };
}

describe('first install', () => {
  test('the migrations Job comes first; no Deployment exists before it succeeds', () => {
    const r = reconcile(upgraded, world({}), NOW);
    expect(ofKind(r.objects, 'Job').map((j) => j.metadata.name)).toEqual(['chat-migrate-1.5.0']);
    expect(r.createOnly).toEqual(['Job/chat-migrate-1.5.0']);
    expect(ofKind(r.objects, 'Deployment')).toEqual([]);
    expect(ofKind(r.objects, 'Service').length).toBe(4);
    expect(cond(r.status, 'MigrationsComplete')).toMatchObject({
      status: 'False',
      reason: 'Pending',
    });
    expect(cond(r.status, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'MigrationsRunning',
    });
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'MigrationsPending' });
    expect(r.status.version).toBeUndefined();
    expect(r.requeueAfterMs).toBe(10_000);
  });

  test('while the Job runs, still no Deployment; an event says migrations started', () => {
    const r = reconcile(upgraded, world({}, job('running')), NOW);
    expect(ofKind(r.objects, 'Deployment')).toEqual([]);
    expect(cond(r.status, 'MigrationsComplete')).toMatchObject({
      status: 'False',
      reason: 'Running',
    });
    expect(r.events).toContainEqual(
      expect.objectContaining({ type: 'Normal', reason: 'MigrationsStarted' }),
    );
  });

  test('once it succeeded, every role is created at the version, gateways included', () => {
    const r = reconcile(upgraded, world({}, job('succeeded')), NOW);
    expect(images(r.objects)).toEqual({ relay: NEW, analytics: NEW, notifier: NEW, gateway: NEW });
    expect(cond(r.status, 'MigrationsComplete')).toMatchObject({
      status: 'True',
      reason: 'Succeeded',
    });
    expect(cond(r.status, 'Progressing')).toMatchObject({ status: 'True', reason: 'RollingOut' });
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'RollingOut' });
  });
});

describe('upgrade from 1.4.0 to 1.5.0', () => {
  const before = { version: '1.4.0' };

  test.each([
    ['the Job does not exist yet', undefined],
    ['the Job runs', job('running')],
    ['the Job of an older version is what exists', job('succeeded', '1.4.0')],
  ])('no workload moves while %s', (_when, migrations) => {
    const r = reconcile(withStatus(upgraded, before), { ...allAt('1.4.0'), migrations }, NOW);
    expect(images(r.objects)).toEqual({ relay: OLD, analytics: OLD, notifier: OLD, gateway: OLD });
    expect(ofKind(r.objects, 'Job').map((j) => j.metadata.name)).toEqual(['chat-migrate-1.5.0']);
    expect(cond(r.status, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'MigrationsRunning',
    });
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'MigrationsPending' });
    expect(r.status.version).toBe('1.4.0');
    for (const d of ofKind(r.objects, 'Deployment')) {
      expect(d.spec.template.metadata.annotations['signalink.io/version']).toBe('1.4.0');
    }
  });

  test('the Job of the running version is kept until the new one runs everywhere', () => {
    const during = reconcile(
      withStatus(upgraded, before),
      { ...allAt('1.4.0'), migrations: job('running') },
      NOW,
    );
    expect(during.retain).toEqual(['Job/chat-migrate-1.4.0']);
    const done = reconcile(
      withStatus(upgraded, before),
      { ...allAt('1.5.0'), migrations: job('succeeded') },
      NOW,
    );
    expect(done.retain).toEqual([]);
  });

  test('a failed Job sets Degraded and keeps every pod on the old version', () => {
    const r = reconcile(
      withStatus(upgraded, before),
      { ...allAt('1.4.0'), migrations: job('failed', '1.5.0', 'BackoffLimitExceeded') },
      NOW,
    );
    expect(images(r.objects)).toEqual({ relay: OLD, analytics: OLD, notifier: OLD, gateway: OLD });
    expect(cond(r.status, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'MigrationsFailed',
    });
    expect(cond(r.status, 'Degraded').message).toContain('BackoffLimitExceeded');
    expect(cond(r.status, 'MigrationsComplete')).toMatchObject({
      status: 'False',
      reason: 'Failed',
    });
    expect(cond(r.status, 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'MigrationsFailed',
    });
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'MigrationsFailed' });
    expect(r.status.version).toBe('1.4.0');
    expect(r.apply).toBe(true);
    expect(r.events).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'MigrationsFailed' }),
    );
  });

  test('after the Job, relay, analytics and notifier move; gateways wait', () => {
    const r = reconcile(
      withStatus(upgraded, before),
      { ...allAt('1.4.0'), migrations: job('succeeded') },
      NOW,
    );
    expect(images(r.objects)).toEqual({ relay: NEW, analytics: NEW, notifier: NEW, gateway: OLD });
    expect(cond(r.status, 'Progressing')).toEqual({
      status: 'True',
      reason: 'Upgrading',
      message: 'rolling relay, analytics, notifier to 1.5.0; gateways follow',
    });
    expect(r.events).toContainEqual(expect.objectContaining({ reason: 'Upgrading' }));
  });

  test('gateways wait while the others have the new template but have not rolled out', () => {
    const rolling = world(
      {
        relay: dep('1.5.0', { specReplicas: 2, observedGeneration: 3, generation: 4 }),
        analytics: dep('1.5.0', { updatedReplicas: 0, availableReplicas: 1, replicas: 2 }),
        notifier: '1.5.0',
        gateway: '1.4.0',
      },
      job('succeeded'),
    );
    const r = reconcile(withStatus(upgraded, before), rolling, NOW);
    expect(images(r.objects).gateway).toBe(OLD);
    expect(cond(r.status, 'Progressing').message).toBe(
      'rolling relay, analytics to 1.5.0; gateways follow',
    );
    expect(r.status.roles?.relay).toEqual({ desired: 2, ready: 2, updated: 0 });
  });

  test('then gateways move, with maxUnavailable 0', () => {
    const r = reconcile(
      withStatus(upgraded, before),
      world(
        { relay: '1.5.0', analytics: '1.5.0', notifier: '1.5.0', gateway: '1.4.0' },
        job('succeeded'),
      ),
      NOW,
    );
    expect(images(r.objects)).toEqual({ relay: NEW, analytics: NEW, notifier: NEW, gateway: NEW });
    const gw = ofKind(r.objects, 'Deployment').find((d) => d.metadata.name === 'chat-gateway');
    expect(gw.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(cond(r.status, 'Progressing')).toMatchObject({
      reason: 'Upgrading',
      message: 'rolling gateway to 1.5.0',
    });
    expect(r.status.version).toBe('1.4.0');
  });

  test('a separate api moves with the first group', () => {
    const separate = variant((r) => {
      r.spec.image.tag = '1.5.0';
      r.spec.api = { separate: true };
    });
    const r = reconcile(
      separate,
      world(
        {
          api: dep('1.4.0', { specReplicas: 2 }),
          relay: '1.4.0',
          analytics: '1.4.0',
          notifier: '1.4.0',
          gateway: '1.4.0',
        },
        job('succeeded'),
      ),
      NOW,
    );
    expect(images(r.objects)).toEqual({
      api: NEW,
      relay: NEW,
      analytics: NEW,
      notifier: NEW,
      gateway: OLD,
    });
  });

  test('done: Ready, version 1.5.0, Progressing Complete, one Ready event', () => {
    const r = reconcile(
      withStatus(upgraded, before),
      { ...allAt('1.5.0'), migrations: job('succeeded') },
      NOW,
    );
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'True', reason: 'AllReplicasReady' });
    expect(cond(r.status, 'Progressing')).toMatchObject({ status: 'False', reason: 'Complete' });
    expect(cond(r.status, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    expect(r.status.version).toBe('1.5.0');
    expect(r.status.observedGeneration).toBe(2);
    expect(r.status.roles).toEqual({
      relay: { desired: 2, ready: 2, updated: 2 },
      analytics: { desired: 1, ready: 1, updated: 1 },
      notifier: { desired: 1, ready: 1, updated: 1 },
      gateway: { desired: 2, ready: 2, updated: 2 },
    });
    expect(r.events.filter((e) => e.reason === 'Ready')).toHaveLength(1);
    expect(r.requeueAfterMs).toBeUndefined();
  });
});

describe('status tells the truth', () => {
  test('the same world twice gives the same status (no write) and no new events', () => {
    const w = { ...allAt('1.5.0'), migrations: job('succeeded') };
    const first = reconcile(upgraded, w, NOW);
    const second = reconcile(
      withStatus(upgraded, first.status),
      w,
      new Date(NOW.getTime() + 60_000),
    );
    expect(second.status).toEqual(first.status);
    expect(second.events).toEqual([]);
  });

  test('lastTransitionTime moves only when a condition’s status changes', () => {
    const running = reconcile(upgraded, world({}, job('running')), NOW);
    const later = new Date(NOW.getTime() + 5000);
    const done = reconcile(
      withStatus(upgraded, running.status),
      world({}, job('succeeded')),
      later,
    );
    const t = (s: SignalinkStatus, type: string) =>
      s.conditions!.find((c) => c.type === type)!.lastTransitionTime;
    expect(t(done.status, 'MigrationsComplete')).toBe(later.toISOString());
    expect(t(done.status, 'Progressing')).toBe(NOW.toISOString()); // True → True (reason changed)
    expect(t(done.status, 'Degraded')).toBe(NOW.toISOString());
  });

  test('pods not ready: Ready is False and names the role', () => {
    const w = world(
      {
        relay: '1.5.0',
        analytics: '1.5.0',
        notifier: '1.5.0',
        gateway: dep('1.5.0', { specReplicas: 2, readyReplicas: 1 }),
      },
      job('succeeded'),
    );
    const r = reconcile(upgraded, w, NOW);
    expect(cond(r.status, 'Ready')).toEqual({
      status: 'False',
      reason: 'ReplicasNotReady',
      message: 'gateway 1/2 ready',
    });
  });

  test('a Deployment past its progress deadline degrades the resource', () => {
    const w = world(
      {
        relay: dep('1.5.0', { progressDeadlineExceeded: true, specReplicas: 2 }),
        analytics: '1.5.0',
        notifier: '1.5.0',
        gateway: '1.5.0',
      },
      job('succeeded'),
    );
    const r = reconcile(upgraded, w, NOW);
    expect(cond(r.status, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(cond(r.status, 'Degraded').message).toContain('relay');
  });

  test('recovering from Degraded records a Recovered event', () => {
    const failed = reconcile(upgraded, { ...allAt('1.4.0'), migrations: job('failed') }, NOW);
    const fixed = reconcile(
      withStatus(upgraded, failed.status),
      { ...allAt('1.5.0'), migrations: job('succeeded') },
      NOW,
    );
    expect(fixed.events).toContainEqual(
      expect.objectContaining({ type: 'Normal', reason: 'Recovered' }),
    );
  });
});

describe('bad input never deletes anything', () => {
  test('an invalid spec the CRD let through: Degraded names the field, nothing applied', () => {
    const bad = variant((r) => (r.spec.gateway = { affinity: { nodeAffinity: 'everywhere' } }));
    const previous = reconcile(
      variant(() => {}),
      { ...allAt('1.4.0'), migrations: job('succeeded', '1.4.0') },
      NOW,
    ).status;
    const r = reconcile(withStatus(bad, previous), allAt('1.4.0'), NOW);
    expect(r.apply).toBe(false);
    expect(r.objects).toEqual([]);
    expect(cond(r.status, 'Degraded')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(cond(r.status, 'Degraded').message).toContain('spec.gateway.affinity.nodeAffinity');
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    // What was known about migrations stays.
    expect(cond(r.status, 'MigrationsComplete')).toMatchObject({
      status: 'True',
      reason: 'Succeeded',
    });
    expect(r.status.version).toBe('1.4.0');
    expect(r.status.roles?.gateway).toEqual({ desired: 2, ready: 2, updated: 0 });
    expect(r.events).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'InvalidSpec' }),
    );
  });

  test.each([
    [
      'a missing Secret',
      { 'chat-db-app': null, 'chat-jwt': { keys: ['secret'] } },
      'Secret chat-db-app does not exist',
    ],
    [
      'a Secret without the key',
      { 'chat-db-app': { keys: ['url'] }, 'chat-jwt': { keys: ['secret'] } },
      'Secret chat-db-app has no key "uri"',
    ],
  ])('%s: a condition naming the field and a retry; nothing applied', (_what, secrets, message) => {
    const r = reconcile(
      upgraded,
      { ...allAt('1.5.0'), migrations: job('succeeded'), secrets },
      NOW,
    );
    expect(r.apply).toBe(false);
    expect(cond(r.status, 'Degraded')).toEqual({
      status: 'True',
      reason: 'MissingSecret',
      message: `spec.database.secretRef: ${message}`,
    });
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'MissingSecret' });
    expect(r.requeueAfterMs).toBe(30_000);
  });

  test('a missing optional API: a condition, the rest still applied, and a retry', () => {
    const strimzi = variant((r) => (r.spec.kafka.strimzi = { clusterName: 'k' }));
    const r = reconcile(
      strimzi,
      {
        ...allAt('1.4.0'),
        migrations: job('succeeded', '1.4.0'),
        apis: { ...allApis(true), strimzi: false },
      },
      NOW,
    );
    expect(r.apply).toBe(true);
    expect(ofKind(r.objects, 'KafkaTopic')).toEqual([]);
    expect(ofKind(r.objects, 'Deployment').length).toBe(4);
    expect(cond(r.status, 'Degraded')).toMatchObject({ status: 'True', reason: 'MissingAPI' });
    expect(cond(r.status, 'Degraded').message).toContain('spec.kafka.strimzi');
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'True' });
    expect(r.requeueAfterMs).toBe(60_000);
  });

  test('paused: nothing is applied, status says so, desired objects still known', () => {
    const paused = variant((r) => (r.metadata.annotations = { 'signalink.io/paused': 'true' }));
    const r = reconcile(paused, { ...allAt('1.4.0'), migrations: job('succeeded', '1.4.0') }, NOW);
    expect(r.apply).toBe(false);
    expect(r.objects.length).toBeGreaterThan(0);
    expect(cond(r.status, 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
  });
});

describe('autoscaling and upgrades', () => {
  const scaled = variant((r) => {
    r.spec.image.tag = '1.5.0';
    r.spec.gateway = { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 } };
  });

  test('the gateway Deployment never gets replicas, at any step', () => {
    const steps: Observed[] = [
      world({}),
      world({}, job('succeeded')),
      { ...allAt('1.4.0') },
      { ...allAt('1.4.0'), migrations: job('succeeded') },
      { ...allAt('1.5.0'), migrations: job('succeeded') },
    ];
    for (const w of steps) {
      for (const d of ofKind(reconcile(scaled, w, NOW).objects, 'Deployment')) {
        if (d.metadata.name === 'chat-gateway') expect(d.spec).not.toHaveProperty('replicas');
        else expect(d.spec.replicas).toEqual(expect.any(Number));
      }
    }
  });

  test('status reports the autoscaler’s replica count as desired', () => {
    const w = world(
      {
        relay: '1.5.0',
        analytics: '1.5.0',
        notifier: '1.5.0',
        gateway: dep('1.5.0', { specReplicas: 7 }),
      },
      job('succeeded'),
    );
    expect(reconcile(scaled, w, NOW).status.roles?.gateway).toEqual({
      desired: 7,
      ready: 7,
      updated: 7,
    });
    const fresh = reconcile(scaled, world({}, job('succeeded')), NOW);
    expect(fresh.status.roles?.gateway).toEqual({ desired: 3, ready: 0, updated: 0 });
  });
});
