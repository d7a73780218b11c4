// Types of sio-protocol.js for the TypeScript tests (k6 itself runs the JavaScript).
export declare const ENGINE: Record<
  'OPEN' | 'CLOSE' | 'PING' | 'PONG' | 'MESSAGE' | 'UPGRADE' | 'NOOP',
  string
>;
export declare const SOCKET: Record<
  'CONNECT' | 'DISCONNECT' | 'EVENT' | 'ACK' | 'CONNECT_ERROR' | 'BINARY_EVENT' | 'BINARY_ACK',
  number
>;
export declare const PONG_FRAME: string;

export interface Packet {
  type: number;
  nsp: string;
  id?: number;
  data?: any;
}

export type Frame =
  | {
      type: 'open';
      handshake: { sid: string; pingInterval: number; pingTimeout: number; [k: string]: unknown };
    }
  | { type: 'ping' | 'pong'; data: string }
  | { type: 'close' | 'noop' }
  | { type: 'message'; packet: Packet }
  | { type: 'invalid'; reason: string };

export declare function engineUrl(baseUrl: string): string;
export declare function decodeFrame(text: string): Frame;
export declare function decodePacket(text: string): Packet & { reason?: string };
export declare function encodeConnect(auth?: unknown): string;
export declare function encodeEvent(name: string, args: unknown[], id?: number): string;
export declare function encodeAck(id: number, args: unknown[]): string;
