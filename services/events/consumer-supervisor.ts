// Keeps one consumer group member alive for as long as a subscription runs. kafkajs reports
// most failures with a CRASH event, but not all of them: its crash handler first disconnects
// the consumer, and when that disconnect hangs or throws (a connection closed under a pending
// request) the event never comes, the consumer is dead, and nothing says so. So a member also
// counts as gone when it shows no sign of life for `stallMs`, and every wait on kafkajs here
// (launch, disconnect) is bounded: the supervisor itself can never hang.
import type { Logger } from '../core/logger.js';
import { sleep, settleWithin } from './wakeup.js';

export interface SupervisedMember {
  /** Resolves with a reason once the member crashed or stopped without being asked to. */
  readonly ended: Promise<string>;
  /** When the member last showed a sign of life (a request answered, a batch handled). */
  lastActivityAt(): number;
  /** Leaves the group and closes connections. May hang or fail: the supervisor bounds it. */
  disconnect(): Promise<void>;
}

export interface SupervisorOptions {
  /**
   * Creates a member and starts it; resolves once it runs (joined its group). The member is
   * handed over first through `created`, so a launch that hangs can still be watched and retired.
   */
  launch(created: (member: SupervisedMember) => void): Promise<void>;
  /** A member silent for longer than this is replaced. */
  stallMs: number;
  /** Longest wait for a retired member's disconnect. */
  disconnectTimeoutMs: number;
  /** Pause before launch number `attempt` (1 for the first relaunch). */
  backoffMs(attempt: number): number;
  /** How often liveness is checked. */
  checkEveryMs: number;
  log: Logger;
  what: Record<string, unknown>;
  now?: () => number;
}

const RETIRED_KEPT = 8;

export class ConsumerSupervisor {
  private running = true;
  private attempts = 0;
  private readonly stopping = new AbortController();
  private readonly retired = new Set<SupervisedMember>();
  private loop: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SupervisorOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.loop ??= this.supervise();
  }

  /** A member that joined its group resets the backoff: the next failure retries quickly. */
  joined(): void {
    this.attempts = 0;
  }

  get isRunning(): boolean {
    return this.running;
  }

  private async supervise(): Promise<void> {
    const { log, what } = this.options;
    while (this.running) {
      this.attempts += 1;
      const reason = await this.runOne();
      await this.disconnectRetired();
      if (!this.running) return;
      const delay = this.options.backoffMs(this.attempts);
      log.warn(
        { ...what, reason, retryInMs: delay },
        'kafka consumer stopped; launching a new one',
      );
      await sleep(delay, this.stopping.signal);
    }
  }

  /** Launches one member and waits until it is gone; returns why. */
  private async runOne(): Promise<string> {
    let member: SupervisedMember | undefined;
    const gone = new AbortController();
    let reason = 'stopped';
    const end = (why: string) => {
      if (gone.signal.aborted) return;
      reason = why;
      gone.abort();
    };
    const onStop = () => end('stopped');
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    const launchedAt = this.now();
    const watchdog = (async () => {
      while (!gone.signal.aborted) {
        await sleep(this.options.checkEveryMs, gone.signal);
        if (gone.signal.aborted) return;
        const last = member ? member.lastActivityAt() : launchedAt;
        if (this.now() - Math.max(last, launchedAt) > this.options.stallMs)
          end(`no sign of life for ${this.options.stallMs} ms`);
      }
    })();
    this.options
      .launch((m) => {
        member = m;
        this.retire(m);
        void m.ended.then(end);
      })
      .catch((err: unknown) => {
        this.options.log.warn({ ...this.options.what, err }, 'kafka consumer could not start');
        end(`could not start: ${err instanceof Error ? err.message : String(err)}`);
      });
    await new Promise<void>((resolve) =>
      gone.signal.aborted ? resolve() : gone.signal.addEventListener('abort', () => resolve()),
    );
    await watchdog;
    this.stopping.signal.removeEventListener('abort', onStop);
    return reason;
  }

  private retire(member: SupervisedMember): void {
    this.retired.add(member);
    // Stragglers show up soon after a crash; members from long ago need no more attention.
    if (this.retired.size > RETIRED_KEPT) this.retired.delete(this.retired.values().next().value!);
  }

  /**
   * Disconnects every recently retired member, again: a crashed kafkajs consumer can reconnect to
   * its coordinator after it was disconnected (a fetch worker's late heartbeat), leaving a
   * socket nobody closes. Each disconnect is bounded, so a hung one never blocks a relaunch.
   */
  private async disconnectRetired(): Promise<void> {
    await Promise.all(
      [...this.retired].map((m) =>
        settleWithin(
          m.disconnect().catch(() => {}),
          this.options.disconnectTimeoutMs,
        ),
      ),
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    await this.loop;
    await this.disconnectRetired();
    this.retired.clear();
  }
}
