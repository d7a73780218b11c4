import { extractMentions } from '../chat/rules.js';
import type { PresenceReader } from '../chat/presence.js';
import type { Logger } from '../core/logger.js';
import type { ConsumedBatch } from '../events/bus.js';
import { parseEvent, type ParsedMessageEvent } from '../events/schemas.js';
import type { DigestItem } from './digest-store.js';
import { decideEmail } from './digests.js';
import type { NotifierMetrics } from './metrics.js';
import { buildNotification, decide, type Notification } from './rules.js';
import type { NotificationStore } from './store.js';

/**
 * Turns message.created events into queued push notifications (one per channel member who is
 * not the sender, has no connected socket and whose preferences allow it) and into entries
 * of those members' email digests. Idempotent on eventId: the event is recorded with its
 * notifications and digest entries in one transaction.
 */
export class NotificationPlanner {
  constructor(
    private readonly deps: {
      store: NotificationStore;
      presence: PresenceReader;
      log: Logger;
      metrics: NotifierMetrics;
      /** Whether a push transport is configured. */
      push: boolean;
      /** Email digests, when configured. */
      email?: { windowSeconds: number };
    },
  ) {}

  /** Returns how many notifications were queued. */
  async handleBatch(batch: ConsumedBatch): Promise<number> {
    let queued = 0;
    for (const record of batch.events) {
      const parsed = parseEvent(batch.topic, record.value);
      if (!parsed.ok) {
        this.deps.metrics.invalidEvents.inc();
        this.deps.log.warn(
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: record.offset,
            reason: parsed.reason,
          },
          'skipping an invalid event',
        );
        continue;
      }
      if (parsed.event.type !== 'message.created') continue;
      queued += await this.plan(parsed.event);
    }
    return queued;
  }

  private async plan(event: ParsedMessageEvent): Promise<number> {
    const { store, presence, metrics, push, email } = this.deps;
    if (await store.alreadyProcessed(event.eventId)) return 0;
    const { message } = event;
    const audience = await store.audience(message.channelId, message.sender.id);
    const notifications: Notification[] = [];
    const digestItems: DigestItem[] = [];
    if (audience && !message.deletedAt) {
      const online = await presence.connectedUserIds(audience.recipients.map((r) => r.userId));
      const mentions = new Set(extractMentions(message.content));
      for (const r of audience.recipients) {
        const input = {
          online: online.has(r.userId),
          preferences: r.preferences,
          channelId: message.channelId,
          mentioned: mentions.has(r.username.toLowerCase()),
        };
        if (email) {
          const emailDecision = decideEmail({
            ...input,
            direct: audience.channel.type === 'direct',
          });
          metrics.emailDecisions.inc({ decision: emailDecision });
          if (emailDecision === 'digest')
            digestItems.push({
              userId: r.userId,
              channelId: message.channelId,
              messageId: message.id,
              seq: message.seq,
              mentioned: input.mentioned,
            });
        }
        if (!push) continue;
        const decision = decide(input);
        metrics.decisions.inc({ decision });
        if (decision === 'notify')
          notifications.push(
            buildNotification({
              eventId: event.eventId,
              userId: r.userId,
              channel: audience.channel,
              message,
            }),
          );
      }
    }
    const recorded = await store.record(event.eventId, notifications, {
      items: digestItems,
      windowSeconds: email?.windowSeconds ?? 0,
    });
    return recorded ? notifications.length + digestItems.length : 0;
  }
}
