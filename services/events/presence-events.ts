import { randomUUID } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import { TOPICS, type PresenceEvent } from '../chat/outbox.js';
import type { PresenceStatus } from '../chat/presence.js';
import type { Logger } from '../core/logger.js';
import type { EventBus } from './bus.js';

/** What roles may publish besides the outbox; on RoleContext as `events`. */
export interface PipelineEvents {
  bus: EventBus;
  /**
   * Publishes a presence change to signalink.presence, keyed by user. Best-effort by design:
   * presence lives in Redis, not in a PostgreSQL transaction, so there is no outbox row to
   * retry from. Never throws and never blocks the caller; a failed or shed event is logged
   * and counted.
   */
  presenceChanged(change: { userId: string; status: PresenceStatus }): void;
}

// Bounds memory while Kafka is slow or down: beyond this, new presence events are shed.
const MAX_IN_FLIGHT = 1000;

export function createPipelineEvents(
  bus: EventBus,
  log: Logger,
  registry: Registry,
): PipelineEvents {
  const dropped = new Counter({
    name: 'signalink_presence_events_dropped_total',
    help: 'Presence events not published (bus unavailable or too many in flight)',
    registers: [registry],
  });
  let inFlight = 0;
  let lastWarning = 0;
  return {
    bus,
    presenceChanged(change) {
      if (inFlight >= MAX_IN_FLIGHT) {
        dropped.inc();
        return;
      }
      const event: PresenceEvent = {
        type: 'presence.changed',
        eventId: randomUUID(),
        occurredAt: new Date().toISOString(),
        userId: change.userId,
        status: change.status,
      };
      inFlight += 1;
      bus
        .publish([{ topic: TOPICS.presence, key: change.userId, value: JSON.stringify(event) }])
        .catch((err: unknown) => {
          dropped.inc();
          // One warning a minute is enough while the bus is down.
          if (Date.now() - lastWarning > 60_000) {
            lastWarning = Date.now();
            log.warn({ err }, 'presence event not published (best-effort)');
          }
        })
        .finally(() => {
          inFlight -= 1;
        });
    },
  };
}
