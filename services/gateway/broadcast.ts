import type { Server } from 'socket.io';
import { z } from 'zod';
import type { ChatFanout, MembershipChange, ReceiptChange } from '../chat/fanout.js';
import type { Message } from '../chat/model.js';
import type { Logger } from '../core/logger.js';
import type { PresenceChange } from './presence.js';
import { channelRoom, userRoom } from './rooms.js';
import type { ChannelSequencer } from './sequencer.js';
import { SESSION_ENDED_EVENT, sessionEndedPayload } from './sessions.js';

/** Cluster event carrying a new message to the other gateway nodes. */
export const CLUSTER_MESSAGE_EVENT = 'signalink:message.new';
/**
 * Cluster event carrying the new messages of one group-commit batch (in seq order per channel):
 * one PUBLISH and one decode per batch instead of per message. A batch of one still travels as
 * CLUSTER_MESSAGE_EVENT, so during a rolling upgrade nodes that know only that event miss just
 * the messages of larger batches, which their sequencer then reads from PostgreSQL.
 */
export const CLUSTER_MESSAGES_EVENT = 'signalink:messages.new';
/** Cluster event carrying the channel head at which a member joined (see startFromJoinHead). */
export const CLUSTER_JOIN_HEAD_EVENT = 'signalink:channel.join-head';

// Cluster messages come from our own nodes through Redis; still check the shape before use,
// so a mixed-version rollout or a corrupted entry cannot crash a node.
const clusterMessage = z.looseObject({
  id: z.string(),
  channelId: z.string(),
  seq: z.number().int().positive(),
});
const clusterMessages = z.array(clusterMessage).min(1).max(100_000);
const clusterJoinHead = z.object({
  userId: z.string(),
  channelId: z.string(),
  lastSeq: z.number().int().nonnegative(),
});

/**
 * Turns committed chat changes into Socket.IO events for every node. New messages travel as
 * a cluster event and each node delivers them to its own sockets through its sequencer
 * (ordered, gap-free); the rest are plain room broadcasts through the adapter.
 */
export class Broadcaster implements ChatFanout {
  /**
   * `endLocalSession` closes this node's sockets of an ended session; a process without a
   * gateway (the publisher) has none and only tells the other nodes.
   */
  constructor(
    private readonly io: Server,
    private readonly sequencer: ChannelSequencer | undefined,
    private readonly clustered: boolean,
    private readonly log: Logger,
    private readonly endLocalSession?: (sessionId: string) => void,
  ) {
    if (endLocalSession && clustered) {
      io.on(SESSION_ENDED_EVENT, (payload: unknown) => {
        const parsed = sessionEndedPayload.safeParse(payload);
        if (!parsed.success) {
          this.log.warn('ignored a malformed session.ended cluster event');
          return;
        }
        endLocalSession(parsed.data.sessionId);
      });
    }
    if (sequencer && clustered) {
      io.on(CLUSTER_MESSAGE_EVENT, (payload: unknown) => {
        const parsed = clusterMessage.safeParse(payload);
        if (!parsed.success) {
          this.log.warn('ignored a malformed cluster message');
          return;
        }
        this.offerLocally(payload as Message);
      });
      io.on(CLUSTER_MESSAGES_EVENT, (payload: unknown) => {
        if (!clusterMessages.safeParse(payload).success) {
          this.log.warn('ignored a malformed cluster message batch');
          return;
        }
        for (const m of payload as Message[]) this.offerLocally(m);
      });
      io.on(CLUSTER_JOIN_HEAD_EVENT, (payload: unknown) => {
        const parsed = clusterJoinHead.safeParse(payload);
        if (!parsed.success) {
          this.log.warn('ignored a malformed cluster join head');
          return;
        }
        this.startAtJoinHead(parsed.data);
      });
    }
  }

  /**
   * Where this node starts delivering a channel its sockets of `userId` now join: at the head
   * the membership change committed with, so nothing sent after the join is skipped.
   */
  private startAtJoinHead(join: { userId: string; channelId: string; lastSeq: number }): void {
    if (!this.sequencer) return;
    if (this.sequencer.delivered(join.channelId) !== undefined)
      this.sequencer.startFromJoinHead(join.channelId, join.lastSeq);
    else if ((this.io.of('/').adapter.rooms.get(userRoom(join.userId))?.size ?? 0) > 0)
      this.sequencer.startAt(join.channelId, join.lastSeq);
  }

  /** Whether any socket on this node is in the channel's room. */
  hasLocalListeners(channelId: string): boolean {
    return (this.io.of('/').adapter.rooms.get(channelRoom(channelId))?.size ?? 0) > 0;
  }

  private offerLocally(message: Message): void {
    // Nobody here listens to the channel: a socket joining later starts from its own sync.
    if (!this.sequencer || !this.hasLocalListeners(message.channelId)) return;
    this.sequencer.offer(message);
  }

  messagesCreated(messages: Message[]): void {
    if (messages.length === 0) return;
    if (this.clustered) {
      if (messages.length === 1) this.io.serverSideEmit(CLUSTER_MESSAGE_EVENT, messages[0]);
      else this.io.serverSideEmit(CLUSTER_MESSAGES_EVENT, messages);
    }
    for (const m of messages) this.offerLocally(m);
  }

  messageUpdated(message: Message): void {
    this.io.to(channelRoom(message.channelId)).emit('message.updated', message);
  }

  receiptUpdated(change: ReceiptChange): void {
    this.io.to(channelRoom(change.channelId)).emit('receipt.update', change);
  }

  membershipChanged(change: MembershipChange): void {
    const sockets = this.io.in(userRoom(change.userId));
    const target = this.io.to(userRoom(change.userId));
    if (change.joined) {
      if (change.lastSeq !== undefined) {
        const join = {
          userId: change.userId,
          channelId: change.channelId,
          lastSeq: change.lastSeq,
        };
        // Before the room exists here; the other nodes may learn it before or after the join.
        this.startAtJoinHead(join);
        if (this.clustered) this.io.serverSideEmit(CLUSTER_JOIN_HEAD_EVENT, join);
      }
      sockets.socketsJoin(channelRoom(change.channelId));
      target.emit('channel.joined', {
        channelId: change.channelId,
        ...(change.lastSeq === undefined ? {} : { lastSeq: change.lastSeq }),
      });
    } else {
      sockets.socketsLeave(channelRoom(change.channelId));
      target.emit('channel.left', { channelId: change.channelId });
    }
  }

  /** A login session ended: its sockets close on every node (through Redis PUB/SUB). */
  sessionEnded(sessionId: string): void {
    if (this.clustered) this.io.serverSideEmit(SESSION_ENDED_EVENT, { sessionId });
    this.endLocalSession?.(sessionId);
  }

  presenceChanged(change: PresenceChange, channelIds: string[]): void {
    if (channelIds.length === 0) return;
    this.io.to(channelIds.map(channelRoom)).emit('presence.update', change);
  }

  typingChanged(channelId: string, userIds: string[]): void {
    this.io.to(channelRoom(channelId)).emit('typing.update', { channelId, userIds });
  }
}
