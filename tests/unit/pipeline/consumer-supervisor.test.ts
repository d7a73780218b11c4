// The consumer supervisor against members that fail the ways kafkajs consumers were seen to:
// a crash whose disconnect never returns, a consumer that dies without a CRASH event, a
// launch that never finishes. On fake timers, so nothing depends on the machine's speed.
import { jest } from '@jest/globals';
import { createLogger } from '../../../services/core/logger.js';
import {
  ConsumerSupervisor,
  type SupervisedMember,
} from '../../../services/events/consumer-supervisor.js';

const log = createLogger('silent');
const STALL_MS = 40_000;

interface FakeMember extends SupervisedMember {
  end(reason: string): void;
  touch(): void;
  disconnects: number;
}

function fakeMember(disconnect: () => Promise<void> = async () => {}): FakeMember {
  let end!: (reason: string) => void;
  let last = Date.now();
  const member: FakeMember = {
    ended: new Promise<string>((r) => (end = r)),
    lastActivityAt: () => last,
    disconnects: 0,
    disconnect: () => {
      member.disconnects += 1;
      return disconnect();
    },
    end: (reason) => end(reason),
    touch: () => (last = Date.now()),
  };
  return member;
}

type Launch = (created: (m: SupervisedMember) => void) => Promise<void>;

function supervisor(launches: Launch[]) {
  const members: FakeMember[] = [];
  let n = 0;
  const s = new ConsumerSupervisor({
    launch: (created) => {
      const next = launches[Math.min(n, launches.length - 1)]!;
      n += 1;
      return next((m) => {
        members.push(m as FakeMember);
        created(m);
      });
    },
    stallMs: STALL_MS,
    disconnectTimeoutMs: 10_000,
    backoffMs: (attempt) => 1000 * attempt,
    checkEveryMs: 1000,
    log,
    what: { group: 'test' },
  });
  return { s, members, launched: () => n };
}

const healthy =
  (member: () => FakeMember = () => fakeMember()): Launch =>
  async (created) => {
    created(member());
  };

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

test('a member that crashed is replaced after the backoff, even when its disconnect never returns', async () => {
  const hung = fakeMember(() => new Promise<void>(() => {}));
  const { s, members, launched } = supervisor([healthy(() => hung), healthy()]);
  s.start();
  await advance(10);
  expect(launched()).toBe(1);
  hung.end('crashed: KafkaJSConnectionClosedError: Closed connection');
  // Disconnect bound (10 s) plus the first backoff (1 s).
  await advance(11_500);
  expect(launched()).toBe(2);
  expect(hung.disconnects).toBeGreaterThanOrEqual(1);
  members[1]!.touch();
  const stopped = s.stop();
  await advance(20_000);
  await stopped;
});

test('a member that dies without saying so (no crash event, no activity) is replaced after stallMs', async () => {
  const { s, launched } = supervisor([healthy(), healthy()]);
  s.start();
  await advance(STALL_MS - 2000);
  expect(launched()).toBe(1);
  await advance(5000);
  expect(launched()).toBe(2);
  const stopped = s.stop();
  await advance(1000);
  await stopped;
});

test('a member that keeps showing signs of life is never replaced', async () => {
  const { s, members, launched } = supervisor([healthy()]);
  s.start();
  for (let i = 0; i < 20; i++) {
    await advance(STALL_MS / 4);
    members[0]!.touch();
  }
  expect(launched()).toBe(1);
  const stopped = s.stop();
  await advance(1000);
  await stopped;
  expect(members[0]!.disconnects).toBeGreaterThanOrEqual(1);
});

test('a launch that never finishes (a join that hangs) is given up after stallMs and retried', async () => {
  const never: Launch = async (created) => {
    created(fakeMember());
    await new Promise(() => {});
  };
  const { s, launched } = supervisor([never, healthy()]);
  s.start();
  await advance(STALL_MS + 5000);
  expect(launched()).toBe(2);
  const stopped = s.stop();
  await advance(1000);
  await stopped;
});

test('a launch that fails is retried with growing backoff, and a join resets it', async () => {
  const failing: Launch = async () => {
    throw new Error('brokers unreachable');
  };
  const { s, launched } = supervisor([failing, failing, failing, healthy()]);
  s.start();
  await advance(10);
  expect(launched()).toBe(1);
  await advance(1000 + 10);
  expect(launched()).toBe(2);
  await advance(1000);
  expect(launched()).toBe(2);
  await advance(1000 + 10);
  expect(launched()).toBe(3);
  await advance(3000 + 10);
  expect(launched()).toBe(4);
  s.joined();
  const stopped = s.stop();
  await advance(1000);
  await stopped;
});

test('stop ends a backoff at once, waits for no hung disconnect beyond its bound, and launches nothing after', async () => {
  const hung = fakeMember(() => new Promise<void>(() => {}));
  const { s, launched } = supervisor([healthy(() => hung), healthy()]);
  s.start();
  await advance(10);
  let done = false;
  const stopped = s.stop().then(() => (done = true));
  await advance(9_000);
  expect(done).toBe(false);
  await advance(12_000);
  await stopped;
  expect(done).toBe(true);
  await advance(60_000);
  expect(launched()).toBe(1);
});
