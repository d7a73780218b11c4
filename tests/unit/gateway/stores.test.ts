import { jest } from '@jest/globals';
import { MemoryPresence } from '../../../services/gateway/presence.js';
import { streamIdBefore, streamIdMs } from '../../../services/gateway/stream-lag.js';
import { MemoryTyping } from '../../../services/gateway/typing.js';

describe('memory presence', () => {
  test('online with the first socket, offline after the last, across devices', async () => {
    const p = new MemoryPresence(60_000);
    expect(await p.connect('u1', 's1')).toMatchObject({ userId: 'u1', status: 'online' });
    expect(await p.connect('u1', 's2')).toBeUndefined();
    expect(await p.disconnect('u1', 's1')).toBeUndefined();
    expect([...(await p.connectedUserIds(['u1', 'u2']))]).toEqual(['u1']);
    expect(await p.disconnect('u1', 's2')).toMatchObject({ status: 'offline' });
    expect(await p.disconnect('u1', 's2')).toBeUndefined();
    expect((await p.get(['u1']))[0]!.status).toBe('offline');
  });

  test('away only for connected users and only when it changes', async () => {
    const p = new MemoryPresence(60_000);
    expect(await p.setStatus('u1', 'away')).toBeUndefined();
    await p.connect('u1', 's1');
    expect(await p.setStatus('u1', 'away')).toMatchObject({ status: 'away' });
    expect(await p.setStatus('u1', 'away')).toBeUndefined();
    expect((await p.get(['u1']))[0]!.status).toBe('away');
  });

  test('a socket not refreshed within the TTL no longer counts', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const p = new MemoryPresence(1000);
      await p.connect('u1', 's1');
      jest.setSystemTime(1_000_500);
      await p.heartbeat([{ userId: 'u1', socketId: 's1' }]);
      jest.setSystemTime(1_001_200);
      expect((await p.connectedUserIds(['u1'])).size).toBe(1);
      jest.setSystemTime(1_002_000);
      expect((await p.connectedUserIds(['u1'])).size).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('memory typing', () => {
  test('reports a change only when the set of typers changes, and expires after 5 s', async () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const t = new MemoryTyping();
      expect(await t.start('c', 'a')).toEqual({ changed: true, userIds: ['a'] });
      expect(await t.start('c', 'a')).toEqual({ changed: false, userIds: ['a'] });
      expect(await t.start('c', 'b')).toEqual({ changed: true, userIds: ['a', 'b'] });
      jest.setSystemTime(4000);
      await t.start('c', 'b');
      jest.setSystemTime(5001);
      expect(await t.expire('c')).toEqual({ changed: true, userIds: ['b'] });
      expect(await t.stop('c', 'b')).toEqual({ changed: true, userIds: [] });
      expect(await t.stop('c', 'b')).toEqual({ changed: false, userIds: [] });
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('stream ids', () => {
  test('compare by time, then by sequence', () => {
    expect(streamIdBefore('1-0', '2-0')).toBe(true);
    expect(streamIdBefore('2-1', '2-2')).toBe(true);
    expect(streamIdBefore('2-2', '2-2')).toBe(false);
    expect(streamIdBefore('10-0', '9-5')).toBe(false);
    expect(streamIdMs('1700000000123-4')).toBe(1700000000123);
  });
});
