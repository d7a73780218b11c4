import type { HistogramData } from './histogram.js';

/** How a client talks to its server: Socket.IO events, or Centrifugo's client protocol. */
export type Transport = 'socketio' | 'centrifugo';

/** One simulated user's connection, as the orchestrator hands it to a worker. */
export interface ClientSpec {
  userId: string;
  url: string;
  transport: Transport;
  /**
   * Handshake `auth`: `{token}` for Signalink and Centrifugo (a connection JWT), `{userId,
   * channelIds}` for the Socket.IO peers.
   */
  auth: Record<string, unknown>;
  channelIds: string[];
}

export interface SenderSpec {
  /** Index into the worker's clients, in the order they were connected. */
  client: number;
  channelId: string;
}

export type WorkerCommand =
  | {
      type: 'connect';
      clients: ClientSpec[];
      /** Use the Signalink SDK (seq tracking, sync) instead of a bare socket.io-client. */
      sdk: boolean;
      concurrency: number;
      timeoutMs: number;
    }
  | {
      /** Resets receive statistics and chooses what to keep. */
      type: 'arm';
      perMessage: boolean;
      keepIds: boolean;
    }
  | {
      /** Open-loop sends at a fixed rate, round-robin over `senders`, until duration or count. */
      type: 'send';
      senders: SenderSpec[];
      ratePerSecond: number;
      durationMs: number;
      maxCount: number;
      ackTimeoutMs: number;
      contentBytes: number;
      keepAcked: boolean;
    }
  | {
      /** Each client of `fromUrl` reconnects to `toUrl` after a random delay in the range. */
      type: 'failover';
      fromUrl: string;
      toUrl: string;
      delayMs: [number, number];
    }
  | { type: 'settle'; heads: Record<string, number>; timeoutMs: number }
  | { type: 'collect' }
  | { type: 'close' };

export type WorkerRequest = WorkerCommand & { requestId: number };

export type WorkerReply =
  | { requestId: number; ok: true; result: unknown }
  | { requestId: number; ok: false; error: string };

export interface ConnectResult {
  connected: number;
  failed: number;
  errors: Record<string, number>;
  connectMs: HistogramData;
}

export interface AckedMessage {
  id: string;
  channelId: string;
  seq: number;
}

export interface SendResult {
  /** How far behind its open-loop schedule the worker fell at worst (a busy generator). */
  scheduleLagMs: number;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  ackMs: HistogramData;
  firstSendAt: number;
  lastAckAt: number;
  acked: AckedMessage[];
}

export interface FailoverResult {
  moved: number;
  failed: number;
  errors: Record<string, number>;
}

export interface SettleResult {
  /** Clients that reached every head before the timeout. */
  caughtUp: number;
  behind: number;
}

export interface CollectResult {
  deliveries: number;
  receiveMs: HistogramData;
  /** messageId → [deliveries, slowest delivery ms], when armed with perMessage. */
  perMessage: [string, number, number][];
  /** userId → ids of the distinct messages it received, when armed with keepIds. */
  received: [string, string[]][];
  duplicates: number;
  clientErrors: Record<string, number>;
  connected: number;
  cpuMs: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
}
