/**
 * A load client for Centrifugo (the `centrifuge` npm SDK on Node, over `ws`): one connection,
 * one subscription per channel, publications carrying the same message shape the Socket.IO
 * servers broadcast. Subscriptions are recoverable, so a client that moves to another node
 * after a crash asks for what it missed from the channel's history.
 */
import { Centrifuge, type Subscription } from 'centrifuge';
import WebSocket from 'ws';

export interface CentrifugoMessage {
  id: string;
  channelId: string;
  seq: number;
  content: string;
}

export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** Centrifugo channel of a chat channel: the `chat` namespace, history on. */
export const centrifugoChannel = (channelId: string) => `chat:${channelId}`;

export class CentrifugoLoadClient {
  private readonly client: Centrifuge;
  private readonly subs = new Map<string, Subscription>();
  private readonly positions = new Map<string, StreamPosition>();

  constructor(
    url: string,
    token: string,
    private readonly channelIds: string[],
    onMessage: (m: CentrifugoMessage) => void,
    onError: (code: string) => void,
    from: Map<string, StreamPosition> = new Map(),
  ) {
    // No automatic reconnection to a dead node: moving is the crash scenario's business.
    this.client = new Centrifuge(url, {
      token,
      websocket: WebSocket,
      timeout: 10_000,
      minReconnectDelay: 60_000,
      maxReconnectDelay: 60_000,
    });
    this.client.on('error', (ctx) => onError(`centrifugo: ${ctx.type}`));
    for (const channelId of channelIds) {
      const since = from.get(channelId);
      const sub = this.client.newSubscription(centrifugoChannel(channelId), {
        recoverable: true,
        ...(since ? { since } : {}),
      });
      sub.on('subscribed', (ctx) => {
        if (ctx.streamPosition)
          this.positions.set(channelId, {
            offset: ctx.streamPosition.offset,
            epoch: ctx.streamPosition.epoch,
          });
        if (since && ctx.wasRecovering && !ctx.recovered) onError('centrifugo: not recovered');
      });
      sub.on('publication', (ctx) => {
        const data = ctx.data as { id: string; content: string };
        const seq = Number(ctx.offset ?? 0);
        const pos = this.positions.get(channelId);
        if (pos && seq > pos.offset) pos.offset = seq;
        onMessage({ id: data.id, channelId, seq, content: data.content });
      });
      sub.on('error', (ctx) => onError(`centrifugo sub: ${ctx.error.message.slice(0, 40)}`));
      this.subs.set(channelId, sub);
    }
  }

  async connect(timeoutMs: number): Promise<void> {
    for (const sub of this.subs.values()) sub.subscribe();
    this.client.connect();
    await this.client.ready(timeoutMs);
    await Promise.all([...this.subs.values()].map((s) => s.ready(timeoutMs)));
  }

  get connected(): boolean {
    return this.client.state === 'connected';
  }

  /** Publishes and resolves once the server answered: stored in the channel history. */
  async publish(channelId: string, data: object): Promise<void> {
    const sub = this.subs.get(channelId);
    if (!sub) throw new Error('NOT_SUBSCRIBED');
    await sub.publish(data);
  }

  /** Where each channel's stream stood at the last publication seen (for recovery). */
  streamPositions(): Map<string, StreamPosition> {
    return new Map([...this.positions].map(([k, v]) => [k, { ...v }]));
  }

  lastSeq(channelId: string): number | undefined {
    return this.positions.get(channelId)?.offset;
  }

  close(): void {
    this.client.disconnect();
  }

  get channels(): string[] {
    return this.channelIds;
  }
}
