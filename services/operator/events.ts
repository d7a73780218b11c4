// Kubernetes Events on a Signalink (what `kubectl describe sl` shows). Repeats of the same
// reason and message within a window update one Event's count, as client-go's recorder does,
// so a retry loop does not flood the namespace.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import type { KubeClient } from './kube-client.js';
import { apiPath } from './kinds.js';
import type { OperatorEvent } from './reconcile.js';
import { API_VERSION, KIND, type ResourceMetadata } from './spec.js';

const AGGREGATE_WINDOW_MS = 10 * 60_000;
const COMPONENT = 'signalink-operator';

export class EventRecorder {
  private readonly recent = new Map<string, { name: string; count: number; at: number }>();

  constructor(
    private readonly client: KubeClient,
    private readonly identity: string,
    private readonly log: Logger,
  ) {}

  async record(resource: { metadata: ResourceMetadata }, event: OperatorEvent): Promise<void> {
    const ns = resource.metadata.namespace ?? 'default';
    const key = `${resource.metadata.uid}/${event.type}/${event.reason}/${event.message}`;
    const now = new Date();
    const previous = this.recent.get(key);
    try {
      if (previous && now.getTime() - previous.at < AGGREGATE_WINDOW_MS) {
        previous.count++;
        previous.at = now.getTime();
        await this.client.mergePatch(apiPath('v1', 'events', ns, previous.name), {
          count: previous.count,
          lastTimestamp: now.toISOString(),
        });
        return;
      }
      const name = `${resource.metadata.name}.${randomBytes(8).toString('hex')}`;
      await this.client.create(apiPath('v1', 'events', ns), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject: {
          apiVersion: API_VERSION,
          kind: KIND,
          name: resource.metadata.name,
          namespace: ns,
          uid: resource.metadata.uid,
        },
        type: event.type,
        reason: event.reason,
        message: event.message.slice(0, 1024),
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: this.identity,
        firstTimestamp: now.toISOString(),
        lastTimestamp: now.toISOString(),
        count: 1,
      });
      this.recent.set(key, { name, count: 1, at: now.getTime() });
      if (this.recent.size > 1000) {
        for (const [k, v] of this.recent) {
          if (now.getTime() - v.at > AGGREGATE_WINDOW_MS) this.recent.delete(k);
        }
      }
    } catch (err) {
      // Events are best effort: losing one must not fail a reconcile.
      this.recent.delete(key);
      this.log.warn({ err, reason: event.reason }, 'could not record an event');
    }
  }
}
