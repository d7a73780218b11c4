import type { Server } from 'socket.io';
import type { Redis } from '../core/redis.js';

const CHECK_MS = 5000;

/** Milliseconds part of a Redis stream id ("1700000000000-3"). */
export function streamIdMs(id: string): number {
  return Number(id.split('-')[0]);
}

/** Whether stream id a is strictly before b. */
export function streamIdBefore(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am < bm || (am === bm && as < bs);
}

interface Hooks {
  onLag(seconds: number): void;
  /** Entries this node never read were trimmed from the stream. */
  onOverrun(): void;
}

/**
 * Watches how far this node's adapter is behind the shared Redis stream. The adapter trims
 * the stream to maxLen and silently skips what was trimmed before a slow node read it; this
 * notices that (the oldest entry left is newer than our last read) so the gateway can recover the
 * lost messages from PostgreSQL and operators see it in metrics and logs.
 */
export class StreamLagMonitor {
  private lastReadId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reportedFirstId: string | undefined;

  constructor(
    io: Server,
    private readonly redis: Redis,
    private readonly streamName: string,
    private readonly hooks: Hooks,
  ) {
    // The adapter reports each entry's id as it reads it; wrap that to learn our position.
    const adapter = io.of('/').adapter as unknown as {
      onRawMessage?: (raw: unknown, offset: string) => unknown;
    };
    const original = adapter.onRawMessage?.bind(adapter);
    if (original) {
      adapter.onRawMessage = (raw, offset) => {
        this.lastReadId = offset;
        return original(raw, offset);
      };
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.check().catch(() => {}), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async check(): Promise<void> {
    const info = (await this.redis.call('XINFO', 'STREAM', this.streamName)) as unknown[];
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
    const lastGenerated = String(fields.get('last-generated-id') ?? '0-0');
    const firstEntry = fields.get('first-entry');
    const firstId = Array.isArray(firstEntry) ? String(firstEntry[0]) : undefined;
    const lastRead = this.lastReadId;
    if (!lastRead) {
      this.hooks.onLag(0);
      return;
    }
    this.hooks.onLag(
      streamIdBefore(lastRead, lastGenerated)
        ? Math.max(0, (streamIdMs(lastGenerated) - streamIdMs(lastRead)) / 1000)
        : 0,
    );
    // Trimming removes the oldest entries first, and the newest entry always survives. So if
    // the entry we read last is older than the oldest one left, trimming went past our
    // position: whatever came right after it may be gone before we read it.
    if (firstId && streamIdBefore(lastRead, firstId) && firstId !== this.reportedFirstId) {
      this.reportedFirstId = firstId;
      this.hooks.onOverrun();
    }
  }
}
