// The control loop, run by the leader only: watches feed a de-duplicating work queue, workers
// reconcile one resource at a time per key (observe → reconcile → apply → status → events), and
// every failure becomes a rate-limited retry and a condition, never a crash.
import type { Logger } from '../core/logger.js';
import { ApplyError, Applier, type ApplyOutcome } from './applier.js';
import { EventRecorder } from './events.js';
import { isUnreachable, type KubeClient } from './kube-client.js';
import { MANAGED_KINDS, apiPath } from './kinds.js';
import type { OperatorMetrics } from './metrics.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from './naming.js';
import { ApiDiscovery, observe, type LiveObject } from './observer.js';
import { reconcile, withLoopProblem, type OperatorEvent } from './reconcile.js';
import { API_VERSION, KIND, PLURAL, parseSignalink, type SignalinkObject } from './spec.js';
import { Watcher } from './watcher.js';
import { WorkQueue } from './work-queue.js';

export interface ControllerOptions {
  client: KubeClient;
  log: Logger;
  metrics: OperatorMetrics;
  /** Namespaces to watch; empty: all. */
  namespaces: readonly string[];
  identity: string;
  workers: number;
  resyncMs: number;
  clock?: () => Date;
}

/** Kinds whose changes should wake the owner up (the rest are corrected at the next resync). */
const WATCHED_OWNED_KINDS = MANAGED_KINDS.filter((k) => !k.optionalApi);

export function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class Controller {
  private readonly queue: WorkQueue;
  private readonly watchers: Watcher<LiveObject>[] = [];
  private readonly applier: Applier;
  private readonly discovery: ApiDiscovery;
  private readonly recorder: EventRecorder;
  private workers: Promise<void>[] = [];
  private running = false;

  constructor(private readonly o: ControllerOptions) {
    this.queue = new WorkQueue({
      retryBaseMs: 1000,
      retryMaxMs: 5 * 60_000,
      onDepth: (d) => o.metrics.queueDepth.set(d),
    });
    this.applier = new Applier(o.client, o.log, o.metrics);
    this.discovery = new ApiDiscovery(o.client);
    this.recorder = new EventRecorder(o.client, o.identity, o.log);
  }

  private scopes(): (string | undefined)[] {
    return this.o.namespaces.length > 0 ? [...this.o.namespaces] : [undefined];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const { client, log } = this.o;
    for (const ns of this.scopes()) {
      this.watchers.push(
        new Watcher<LiveObject>({
          name: `${PLURAL}${ns ? `@${ns}` : ''}`,
          client,
          log,
          path: apiPath(API_VERSION, PLURAL, ns),
          relistMs: this.o.resyncMs,
          onList: (items) =>
            items.forEach((r) => this.queue.add(keyOf(r.metadata.namespace, r.metadata.name))),
          onEvent: (_type, r) => this.queue.add(keyOf(r.metadata.namespace, r.metadata.name)),
          onRestart: () => this.o.metrics.watchRestarts.inc({ watch: PLURAL }),
        }),
      );
      for (const kind of WATCHED_OWNED_KINDS) {
        const enqueueOwner = (o: LiveObject) => {
          const owner = (o.metadata.ownerReferences ?? []).find(
            (r) => r.controller && r.kind === KIND && r.apiVersion === API_VERSION,
          );
          if (owner?.name) this.queue.add(keyOf(o.metadata.namespace, owner.name));
        };
        this.watchers.push(
          new Watcher<LiveObject>({
            name: `${kind.plural}${ns ? `@${ns}` : ''}`,
            client,
            log,
            path: apiPath(kind.apiVersion, kind.plural, ns),
            query: { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` },
            // Owned objects are only a wake-up signal; the Signalink watch's relist resyncs.
            relistMs: this.o.resyncMs * 2,
            onList: () => {},
            onEvent: (_type, o) => enqueueOwner(o),
            onRestart: () => this.o.metrics.watchRestarts.inc({ watch: kind.plural }),
          }),
        );
      }
    }
    for (const w of this.watchers) w.start();
    this.workers = Array.from({ length: Math.max(1, this.o.workers) }, () => this.work());
    log.info(
      { namespaces: this.o.namespaces.length ? this.o.namespaces : 'all' },
      'controller started',
    );
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.queue.shutDown();
    await Promise.all(this.watchers.splice(0).map((w) => w.stop()));
    await Promise.all(this.workers);
    this.workers = [];
    this.o.log.info('controller stopped');
  }

  /** Queues every resource again (after an API outage, say). */
  enqueue(namespace: string, name: string): void {
    this.queue.add(keyOf(namespace, name));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const end = this.o.metrics.duration.startTimer();
      try {
        const requeueAfterMs = await this.reconcileKey(key);
        this.queue.forget(key);
        if (requeueAfterMs !== undefined && this.running) this.queue.addAfter(key, requeueAfterMs);
        this.o.metrics.reconciles.inc({ result: 'success' });
      } catch (err) {
        this.o.metrics.reconciles.inc({ result: 'error' });
        const retryInMs = this.running ? this.queue.addRateLimited(key) : undefined;
        this.o.log.warn({ err, resource: key, retryInMs }, 'reconcile failed; retrying');
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  private now(): Date {
    return this.o.clock?.() ?? new Date();
  }

  /** One reconcile; the delay before it should run again, if any. */
  private async reconcileKey(key: string): Promise<number | undefined> {
    const [namespace, name] = key.split('/') as [string, string];
    const { client, log, metrics } = this.o;
    const path = apiPath(API_VERSION, PLURAL, namespace, name);
    const resource = await client.get<SignalinkObject>(path);
    // Gone: its objects go with it through ownerReferences; nothing is deleted here.
    if (!resource) return undefined;
    // Being deleted: garbage collection does the rest; never race it.
    if (resource.metadata.deletionTimestamp) return undefined;
    const parsed = parseSignalink(resource);
    const spec = parsed.ok ? parsed.spec : undefined;

    let observed;
    try {
      observed = await observe(client, this.discovery, resource, spec);
    } catch (err) {
      metrics.errors.inc({ step: 'observe' });
      throw err;
    }
    let result = reconcile(resource, observed, this.now());
    const loopEvents: OperatorEvent[] = [];
    let status = result.status;
    let outcome: ApplyOutcome | undefined;
    let failure: Error | undefined;

    if (result.apply) {
      try {
        outcome = await this.applier.apply(resource, result, observed.apis);
      } catch (err) {
        metrics.errors.inc({ step: 'apply' });
        if (isUnreachable(err) && !(err instanceof ApplyError)) throw err;
        failure = err as Error;
        const message = `applying failed: ${(err as Error).message}`.slice(0, 2000);
        status = withLoopProblem(status, resource.status, 'ApplyFailed', message, this.now());
        loopEvents.push({ type: 'Warning', reason: 'ApplyFailed', message });
      }
      if (outcome) {
        for (const k of outcome.created)
          loopEvents.push({ type: 'Normal', reason: 'Created', message: `created ${k}` });
        for (const k of outcome.pruned)
          loopEvents.push({
            type: 'Normal',
            reason: 'Pruned',
            message: `deleted ${k}, no longer in the spec`,
          });
        if (outcome.updated.length) {
          loopEvents.push({
            type: 'Normal',
            reason: 'Updated',
            message: `updated ${outcome.updated.join(', ')}`,
          });
        }
        if (outcome.created.length || outcome.updated.length || outcome.pruned.length) {
          // Report on the world after this round's changes, not before them.
          this.discovery.invalidate();
          const after = await observe(client, this.discovery, resource, spec);
          result = reconcile(resource, after, this.now());
          status = result.status;
        }
        if (outcome.conflicts.length) {
          const message = `${outcome.conflicts.join(', ')} already exist and belong to something else; left alone`;
          status = withLoopProblem(status, resource.status, 'ObjectConflict', message, this.now());
          loopEvents.push({ type: 'Warning', reason: 'ObjectConflict', message });
        }
      }
    }

    try {
      if (await this.applier.writeStatus(resource, status)) {
        log.debug({ resource: key }, 'status updated');
      }
    } catch (err) {
      metrics.errors.inc({ step: 'status' });
      throw err;
    }
    // Transition events come from the final reconcile, so they describe what the status says.
    for (const e of [...result.events, ...loopEvents]) await this.recorder.record(resource, e);
    if (failure) throw failure;
    return result.requeueAfterMs;
  }
}
