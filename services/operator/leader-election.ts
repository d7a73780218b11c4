// Leader election on a coordination.k8s.io/v1 Lease, the way client-go does it: the holder
// renews every retry period; a candidate takes over only after it has seen the same record
// unchanged for a whole lease duration by its own clock (never trusting the holder's clock);
// every write carries the resourceVersion it read, so two candidates cannot both win; a leader
// that cannot renew within the renew deadline stops acting before its lease can expire.
import type { Logger } from '../core/logger.js';
import { isConflict, isNotFound, type KubeClient } from './kube-client.js';
import { apiPath } from './kinds.js';
import { systemClock, type Clock } from './work-queue.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  spec: LeaseSpec;
}

export interface Observation {
  /** The record as last read, and when (by this process's clock) it last changed. */
  record: LeaseSpec;
  changedAt: number;
}

export type LeaseDecision = 'create' | 'renew' | 'takeover' | 'wait';

/** What a candidate should do with the lease it just read. */
export function decide(
  lease: LeaseSpec | undefined,
  identity: string,
  observation: Observation | undefined,
  now: number,
  defaultDurationSeconds: number,
): LeaseDecision {
  if (!lease) return 'create';
  if (lease.holderIdentity === identity) return 'renew';
  if (!lease.holderIdentity) return 'takeover';
  const duration = (lease.leaseDurationSeconds ?? defaultDurationSeconds) * 1000;
  const since = observation?.changedAt ?? now;
  return since + duration <= now ? 'takeover' : 'wait';
}

/** Tracks when the record last changed, as seen from here. */
export function observe(
  previous: Observation | undefined,
  record: LeaseSpec,
  now: number,
): Observation {
  const same =
    previous &&
    previous.record.holderIdentity === record.holderIdentity &&
    previous.record.renewTime === record.renewTime &&
    previous.record.leaseTransitions === record.leaseTransitions;
  return same ? previous : { record, changedAt: now };
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  clock?: Clock;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
  onLeadershipChange?: (leading: boolean) => void;
}

export class LeaderElector {
  private readonly durationS: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly clock: Clock;
  private observation: Observation | undefined;
  private leading = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastRenewal = 0;

  constructor(private readonly o: LeaderElectionOptions) {
    this.durationS = o.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = (o.renewDeadlineSeconds ?? 10) * 1000;
    this.retryMs = (o.retryPeriodSeconds ?? 2) * 1000;
    this.clock = o.clock ?? systemClock;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop ??= this.run();
  }

  private get path(): string {
    return apiPath('coordination.k8s.io/v1', 'leases', this.o.namespace, this.o.name);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.clock.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        this.clock.clearTimeout(handle);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let acted = false;
      try {
        acted = await this.tryAcquireOrRenew();
      } catch (err) {
        this.o.log.warn({ err, lease: this.o.name }, 'lease request failed');
      }
      const now = this.clock.now();
      if (acted && !this.leading) {
        this.leading = true;
        this.lastRenewal = now;
        this.o.log.info({ identity: this.o.identity, lease: this.o.name }, 'became the leader');
        this.o.onLeadershipChange?.(true);
        await this.o.onStartedLeading();
      } else if (acted) {
        this.lastRenewal = now;
      } else if (this.leading && now - this.lastRenewal >= this.renewDeadlineMs) {
        await this.loseLeadership('could not renew the lease within the renew deadline');
      }
      if (this.stopped) break;
      // Jitter so candidates spread their attempts.
      await this.sleep(this.leading ? this.retryMs : this.retryMs * (1 + Math.random() * 0.2));
    }
  }

  private async loseLeadership(why: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.o.log.warn({ identity: this.o.identity, lease: this.o.name, why }, 'stopped leading');
    this.o.onLeadershipChange?.(false);
    await this.o.onStoppedLeading();
  }

  /** One round: true when this process holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const lease = await this.o.client.get<Lease>(this.path);
    if (lease) this.observation = observe(this.observation, lease.spec, now);
    const decision = decide(lease?.spec, this.o.identity, this.observation, now, this.durationS);
    if (decision === 'wait') {
      if (this.leading)
        await this.loseLeadership(`the lease is held by ${lease?.spec.holderIdentity}`);
      return false;
    }
    const stamp = microTime(now);
    const spec: LeaseSpec = {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: this.durationS,
      renewTime: stamp,
      acquireTime: decision === 'renew' ? (lease?.spec.acquireTime ?? stamp) : stamp,
      leaseTransitions:
        (lease?.spec.leaseTransitions ?? 0) + (decision === 'takeover' && lease ? 1 : 0),
    };
    try {
      if (decision === 'create') {
        await this.o.client.create(apiPath('coordination.k8s.io/v1', 'leases', this.o.namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec,
        } satisfies Lease);
      } else {
        await this.o.client.replace(this.path, { ...lease!, spec });
      }
    } catch (err) {
      // Someone else wrote first: read again next round.
      if (isConflict(err) || isNotFound(err)) return false;
      throw err;
    }
    this.observation = { record: spec, changedAt: now };
    return true;
  }

  /** Stops campaigning; a leader hands the lease back so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop?.catch(() => {});
    if (!this.leading) return;
    try {
      const lease = await this.o.client.get<Lease>(this.path);
      if (lease?.spec.holderIdentity === this.o.identity) {
        await this.o.client.replace(this.path, {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: microTime(this.clock.now()),
          },
        });
      }
    } catch (err) {
      this.o.log.warn({ err }, 'could not release the lease; a standby takes over when it expires');
    }
    await this.loseLeadership('shutting down');
  }
}
