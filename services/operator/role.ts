// The operator role (ROLES=operator): one active replica through a Lease reconciles Signalink
// resources; standbys stay ready (readiness does not depend on leadership) and take over when
// the leader stops renewing. No database, Redis or Kafka: only the API server.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RoleContext, RoleHandle } from '../role.js';
import { Controller } from './controller.js';
import { HttpMethod, KubeClient } from './kube-client.js';
import { LeaderElector } from './leader-election.js';
import { createOperatorMetrics } from './metrics.js';

export type OperatorContext = Pick<RoleContext, 'config' | 'log' | 'metrics' | 'readiness'>;

export async function startOperator(ctx: OperatorContext): Promise<RoleHandle> {
  const { config, log } = ctx;
  const settings = config.operator;
  const client = KubeClient.fromEnvironment();
  const metrics = createOperatorMetrics(ctx.metrics);
  // Unique even for two processes on one host (tests, or a restarted pod under the same name).
  const identity = `${settings.podName ?? hostname()}_${randomBytes(4).toString('hex')}`;
  const leaseNamespace = settings.leaseNamespace ?? client.currentNamespace;

  // Ready while the API server answers, leader or not.
  ctx.readiness.add('kubernetes', async () => {
    await client.request(HttpMethod.GET, '/version');
  });

  let controller: Controller | undefined;
  const elector = new LeaderElector({
    client,
    namespace: leaseNamespace,
    name: settings.leaseName,
    identity,
    log,
    leaseDurationSeconds: settings.leaseDurationSeconds,
    renewDeadlineSeconds: settings.renewDeadlineSeconds,
    retryPeriodSeconds: settings.retryPeriodSeconds,
    onLeadershipChange: (leading) => metrics.leader.set(leading ? 1 : 0),
    onStartedLeading: () => {
      controller = new Controller({
        client,
        log,
        metrics,
        namespaces: settings.watchNamespaces,
        identity,
        workers: settings.workers,
        resyncMs: settings.resyncSeconds * 1000,
      });
      controller.start();
    },
    onStoppedLeading: async () => {
      const c = controller;
      controller = undefined;
      await c?.stop();
    },
  });
  metrics.leader.set(0);
  elector.start();
  log.info(
    {
      identity,
      lease: `${leaseNamespace}/${settings.leaseName}`,
      namespaces: settings.watchNamespaces.length ? settings.watchNamespaces : 'all',
      server: client.config.getCurrentCluster()?.server,
    },
    'operator started; campaigning for the lease',
  );

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= elector.stop());
  return { drain: () => stop(), stop };
}
