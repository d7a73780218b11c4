import { jest } from '@jest/globals';
import type { Message } from '../../../services/chat/model.js';
import { ChannelSequencer } from '../../../services/gateway/sequencer.js';

const CH = '00000000-0000-4000-8000-000000000001';

function msg(seq: number, channelId = CH): Message {
  return {
    id: `id-${channelId}-${seq}`,
    channelId,
    seq,
    sender: { id: 'u', username: 'u', displayName: 'u' },
    content: `m${seq}`,
    clientMsgId: `c${seq}`,
    replyTo: null,
    createdAt: new Date(0).toISOString(),
    editedAt: null,
    deletedAt: null,
  };
}

function harness(stored: Message[] = [], opts: { failReads?: number } = {}) {
  const delivered: number[] = [];
  const reads: [number, number | undefined][] = [];
  let failures = opts.failReads ?? 0;
  const sequencer = new ChannelSequencer(
    {
      deliver: (_channelId, messages) => delivered.push(...messages.map((m) => m.seq)),
      fetchHead: async (channelId) =>
        Math.max(0, ...stored.filter((m) => m.channelId === channelId).map((m) => m.seq)),
      fetchRange: async (channelId, after, before) => {
        reads.push([after, before]);
        if (failures > 0) {
          failures -= 1;
          throw new Error('database down');
        }
        return stored.filter(
          (m) =>
            m.channelId === channelId && m.seq > after && (before === undefined || m.seq < before),
        );
      },
    },
    10,
  );
  return { sequencer, delivered, reads };
}

// The sequencer's hold and retry timers and its clock run on jest's fake timers, so a test
// moves time on by exactly what it needs, however busy the machine is.
beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  jest.useRealTimers();
});
/** Moves the clock on by `ms`, running the timers that fall due and what they start. */
const settle = (ms = 40) => jest.advanceTimersByTimeAsync(ms);

test('in-order messages are delivered at once', () => {
  const { sequencer, delivered } = harness();
  [1, 2, 3].forEach((s) => sequencer.offer(msg(s)));
  expect(delivered).toEqual([1, 2, 3]);
});

test('a message ahead of a gap waits for the missing one and both go out in order', async () => {
  const { sequencer, delivered, reads } = harness();
  sequencer.offer(msg(1));
  sequencer.offer(msg(3));
  expect(delivered).toEqual([1]);
  sequencer.offer(msg(2));
  expect(delivered).toEqual([1, 2, 3]);
  await settle();
  expect(reads).toEqual([]);
});

test('a gap that the broadcast never fills is read from the database', async () => {
  const { sequencer, delivered, reads } = harness([msg(1), msg(2), msg(3), msg(4)]);
  sequencer.offer(msg(1));
  sequencer.offer(msg(4));
  await settle();
  expect(reads).toEqual([[1, 4]]);
  expect(delivered).toEqual([1, 2, 3, 4]);
});

test('duplicates are dropped, including a late broadcast of a seq already filled from the database', async () => {
  const { sequencer, delivered } = harness([msg(1), msg(2), msg(3)]);
  sequencer.offer(msg(1));
  sequencer.offer(msg(3));
  await settle();
  sequencer.offer(msg(2));
  sequencer.offer(msg(3));
  sequencer.offer(msg(1));
  expect(delivered).toEqual([1, 2, 3]);
});

test('catchUp delivers committed messages no broadcast brought', async () => {
  const { sequencer, delivered } = harness([msg(1), msg(2), msg(3)]);
  sequencer.offer(msg(1));
  sequencer.catchUp(CH, 3);
  await settle();
  expect(delivered).toEqual([1, 2, 3]);
  sequencer.catchUp(CH, 3);
  await settle();
  expect(delivered).toEqual([1, 2, 3]);
});

test('a failed database read is retried later, not dropped', async () => {
  const { sequencer, delivered, reads } = harness([msg(1), msg(2), msg(3)], { failReads: 1 });
  sequencer.offer(msg(1));
  sequencer.offer(msg(3));
  await settle();
  expect(delivered).toEqual([1]);
  // Not before the retry delay (1 s after the failure)...
  await settle(900);
  expect(reads).toHaveLength(1);
  expect(delivered).toEqual([1]);
  // ...then it is read again.
  await settle(200);
  expect(reads).toHaveLength(2);
  expect(delivered).toEqual([1, 2, 3]);
});

test('channels are ordered independently', () => {
  const other = '00000000-0000-4000-8000-000000000002';
  const { sequencer, delivered } = harness();
  sequencer.offer(msg(1));
  sequencer.offer(msg(5, other));
  sequencer.offer(msg(2));
  sequencer.offer(msg(6, other));
  expect(delivered).toEqual([1, 5, 2, 6]);
  expect(sequencer.delivered(CH)).toBe(2);
  expect(sequencer.delivered(other)).toBe(6);
});

test('a channel started at the handshake head delivers the next messages even when they arrive out of order', () => {
  const { sequencer, delivered } = harness();
  sequencer.startAt(CH, 4);
  sequencer.offer(msg(6));
  sequencer.offer(msg(5));
  sequencer.offer(msg(4)); // committed before the socket connected: the client syncs it
  expect(delivered).toEqual([5, 6]);
});

test('a channel joined without a known head holds what arrives, then starts from the database head', async () => {
  const { sequencer, delivered } = harness([msg(1), msg(2), msg(3), msg(4)]);
  sequencer.startFromDatabase(CH);
  sequencer.offer(msg(4));
  sequencer.offer(msg(3));
  await settle(900);
  // Still waiting for the head a membership change would carry.
  expect(delivered).toEqual([]);
  await settle(200);
  // Both arrived after the join, so both are delivered, in order.
  expect(delivered).toEqual([3, 4]);
});

test('a channel joined by a membership change starts at the head it carried, so a message committed right after the join is delivered though the database head already includes it', async () => {
  // m1 committed after the join (head 0) but its broadcast is still on the way.
  const { sequencer, delivered } = harness([msg(1)]);
  sequencer.startFromDatabase(CH);
  sequencer.startFromJoinHead(CH, 0);
  await settle(2000);
  sequencer.offer(msg(1));
  await settle();
  expect(delivered).toEqual([1]);
});

test('the join head also reaches a channel whose broadcast arrived first, filling what is missing below it', async () => {
  const { sequencer, delivered } = harness([msg(1), msg(2), msg(3)]);
  sequencer.startFromDatabase(CH);
  sequencer.offer(msg(3));
  sequencer.startFromJoinHead(CH, 1);
  await settle(200);
  expect(delivered).toEqual([2, 3]);
});

test('a join head for a channel already running changes nothing', async () => {
  const { sequencer, delivered } = harness([msg(1), msg(2)]);
  sequencer.startAt(CH, 1);
  sequencer.offer(msg(2));
  sequencer.startFromJoinHead(CH, 0);
  sequencer.offer(msg(1));
  await settle(2000);
  expect(delivered).toEqual([2]);
});
