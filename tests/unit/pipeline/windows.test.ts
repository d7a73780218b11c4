import { randomUUID } from 'node:crypto';
import {
  bucketStart,
  lastHourStart,
  seriesRange,
  windowDeltas,
} from '../../../services/analytics/windows.js';
import type { ParsedMessageEvent, PipelineEvent } from '../../../services/events/schemas.js';

const created = (channelId: string, userId: string, at: string): ParsedMessageEvent => ({
  type: 'message.created',
  eventId: randomUUID(),
  occurredAt: at,
  message: {
    id: randomUUID(),
    channelId,
    seq: 1,
    sender: { id: userId, username: 'u', displayName: 'U' },
    content: '',
    clientMsgId: 'c',
    replyTo: null,
    createdAt: at,
    editedAt: null,
    deletedAt: null,
  },
});

test('buckets are UTC minutes and hours', () => {
  expect(bucketStart('2026-03-01T10:17:42.123Z', 'minute').toISOString()).toBe(
    '2026-03-01T10:17:00.000Z',
  );
  expect(bucketStart('2026-03-01T10:17:42.123+02:00', 'hour').toISOString()).toBe(
    '2026-03-01T08:00:00.000Z',
  );
  expect(lastHourStart(new Date('2026-03-01T10:17:42Z')).toISOString()).toBe(
    '2026-03-01T09:18:00.000Z',
  );
  expect(
    seriesRange(new Date('2026-03-01T10:00:30Z'), new Date('2026-03-01T10:04:10Z'), 'minute'),
  ).toMatchObject({ points: 5 });
});

test('messages count per channel, sender, minute and hour; edits and deletes do not count', () => {
  const [c1, c2, u1, u2] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const events: PipelineEvent[] = [
    created(c1, u1, '2026-03-01T10:17:01Z'),
    created(c1, u1, '2026-03-01T10:17:59Z'),
    created(c1, u2, '2026-03-01T10:18:00Z'),
    created(c2, u1, '2026-03-01T11:00:00Z'),
    { ...created(c1, u1, '2026-03-01T10:17:30Z'), type: 'message.updated' },
    { ...created(c1, u1, '2026-03-01T10:17:30Z'), type: 'message.deleted' },
    {
      type: 'receipt.read',
      eventId: randomUUID(),
      occurredAt: '2026-03-01T10:17:10Z',
      channelId: c1,
      userId: u2,
      seq: 2,
    },
  ];
  const d = windowDeltas(events);
  const minutes = d.messageMinutes
    .map(
      (c) =>
        `${c.bucket.slice(11, 16)} ${c.channelId === c1 ? 'c1' : 'c2'} ${c.userId === u1 ? 'u1' : 'u2'} ${c.messages}`,
    )
    .sort();
  expect(minutes).toEqual(['10:17 c1 u1 2', '10:18 c1 u2 1', '11:00 c2 u1 1']);
  expect(d.messageHours.reduce((s, c) => s + c.messages, 0)).toBe(4);
  expect(d.messageHours).toHaveLength(3);
  expect(d.receiptMinutes).toEqual([
    { bucket: '2026-03-01T10:17:00.000Z', channelId: c1, receipts: 1 },
  ]);
});

test('cells come out sorted by key, so concurrent writers lock rows in one order', () => {
  const events = Array.from({ length: 30 }, () =>
    created(randomUUID(), randomUUID(), '2026-03-01T10:17:01Z'),
  );
  const keys = windowDeltas(events).messageMinutes.map(
    (c) => `${c.bucket}|${c.channelId}|${c.userId}`,
  );
  expect(keys).toEqual([...keys].sort());
});

test('presence keeps the newest status per user, whatever the arrival order', () => {
  const u = randomUUID();
  const d = windowDeltas([
    {
      type: 'presence.changed',
      eventId: randomUUID(),
      occurredAt: '2026-03-01T10:00:05Z',
      userId: u,
      status: 'offline',
    },
    {
      type: 'presence.changed',
      eventId: randomUUID(),
      occurredAt: '2026-03-01T10:00:01Z',
      userId: u,
      status: 'online',
    },
  ]);
  expect(d.presence).toEqual([{ userId: u, status: 'offline', at: '2026-03-01T10:00:05Z' }]);
});
