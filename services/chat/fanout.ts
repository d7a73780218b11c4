import type { Message } from './model.js';

export interface ReceiptChange {
  channelId: string;
  userId: string;
  seq: number;
}

export interface MembershipChange {
  channelId: string;
  userId: string;
  joined: boolean;
  /**
   * For joins: the channel's last seq when the member was added. A client starts tracking the
   * channel there and syncs, so messages racing the room join are not missed.
   */
  lastSeq?: number;
}

/**
 * What the realtime layer is told after a change has committed. The gateway implements it
 * (broadcast to rooms on every node); without a gateway nothing listens. Calls must not throw:
 * a delivery problem never undoes a committed change, clients recover through channel.sync.
 */
export interface ChatFanout {
  /** The new messages of one committed batch, in seq order per channel. */
  messagesCreated(messages: Message[]): void;
  messageUpdated(message: Message): void;
  receiptUpdated(change: ReceiptChange): void;
  membershipChanged(change: MembershipChange): void;
}

export const silentFanout: ChatFanout = {
  messagesCreated: () => {},
  messageUpdated: () => {},
  receiptUpdated: () => {},
  membershipChanged: () => {},
};

/** Lets the gateway attach itself after the services were built. */
export class FanoutSlot implements ChatFanout {
  private target: ChatFanout = silentFanout;
  attach(target: ChatFanout): void {
    this.target = target;
  }
  messagesCreated(messages: Message[]): void {
    this.target.messagesCreated(messages);
  }
  messageUpdated(message: Message): void {
    this.target.messageUpdated(message);
  }
  receiptUpdated(change: ReceiptChange): void {
    this.target.receiptUpdated(change);
  }
  membershipChanged(change: MembershipChange): void {
    this.target.membershipChanged(change);
  }
}
