import { PendingSends, backoffMs, retryDecision } from '../../../services/client/pending-sends.js';

const send = (clientMsgId: string, channelId = 'c1') => ({
  channelId,
  clientMsgId,
  content: `text ${clientMsgId}`,
});

describe('PendingSends', () => {
  it('keeps the first clientMsgId: adding the same id again returns the same pending send', () => {
    const p = new PendingSends();
    const a = p.add(send('x'));
    const again = p.add({ ...send('x'), content: 'something else' });
    expect(again).toBe(a);
    expect(again.content).toBe('text x');
    expect(p.size).toBe(1);
  });

  it('lists sends in the order they were made', () => {
    const p = new PendingSends();
    for (const id of ['b', 'a', 'c']) p.add(send(id));
    expect(p.list().map((e) => e.clientMsgId)).toEqual(['b', 'a', 'c']);
  });

  it('numbers attempts so that only the latest attempt’s failure counts', () => {
    const p = new PendingSends();
    p.add(send('x'));
    const first = p.begin('x');
    const second = p.begin('x');
    expect(p.isCurrent('x', first)).toBe(false);
    expect(p.isCurrent('x', second)).toBe(true);
    expect(p.get('x')?.attempts).toBe(2);
  });

  it('puts every in-flight send back to waiting when the connection drops', () => {
    const p = new PendingSends();
    p.add(send('x'));
    p.add(send('y'));
    p.begin('x');
    p.begin('y');
    expect(p.waiting()).toEqual([]);
    p.connectionLost();
    expect(p.waiting().map((e) => e.clientMsgId)).toEqual(['x', 'y']);
  });

  it('forgets a settled send, so a late ack of an old attempt finds nothing to settle', () => {
    const p = new PendingSends();
    p.add(send('x'));
    const attempt = p.begin('x');
    expect(p.settle('x')?.clientMsgId).toBe('x');
    expect(p.get('x')).toBeUndefined();
    expect(p.isCurrent('x', attempt)).toBe(false);
    expect(p.settle('x')).toBeUndefined();
    expect(() => p.begin('x')).toThrow(/no pending send/);
  });

  it('records why an attempt was postponed', () => {
    const p = new PendingSends();
    p.add(send('x'));
    p.begin('x');
    p.postpone('x', { code: 'UNAVAILABLE', message: 'database down' });
    expect(p.get('x')).toMatchObject({ state: 'waiting', lastError: { code: 'UNAVAILABLE' } });
  });
});

describe('retryDecision', () => {
  const half = () => 0.5;

  it('waits as long as the server asks when rate limited', () => {
    expect(
      retryDecision(
        { code: 'RATE_LIMITED', message: 'slow down', details: { retryAfterMs: 1234 } },
        1,
        half,
      ),
    ).toEqual({ retry: true, delayMs: 1234 });
  });

  it('backs off when rate limited without a hint, and when the server is unavailable', () => {
    expect(retryDecision({ code: 'RATE_LIMITED', message: 'slow down' }, 1, half)).toEqual({
      retry: true,
      delayMs: 125,
    });
    expect(retryDecision({ code: 'UNAVAILABLE', message: 'db down' }, 3, half)).toEqual({
      retry: true,
      delayMs: 500,
    });
  });

  it.each([
    'VALIDATION',
    'FORBIDDEN',
    'NOT_FOUND',
    'PAYLOAD_TOO_LARGE',
    'UNAUTHENTICATED',
    'INTERNAL',
  ])('gives up on %s', (code) => {
    expect(retryDecision({ code, message: 'no' }, 1, half)).toEqual({ retry: false });
  });
});

describe('backoffMs', () => {
  it('grows exponentially up to a ceiling and never exceeds it', () => {
    const top = () => 0.999999;
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => backoffMs(attempt, top));
    for (let i = 1; i < delays.length; i++)
      expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(Math.max(...delays)).toBeLessThanOrEqual(10_000);
    expect(backoffMs(20, top)).toBe(10_000);
    expect(backoffMs(1, () => 0)).toBe(0);
  });
});

describe('PendingSends.headOf', () => {
  it('names the oldest unsettled send of each channel, so later ones wait their turn', () => {
    const p = new PendingSends();
    p.add(send('a1', 'a'));
    p.add(send('b1', 'b'));
    p.add(send('a2', 'a'));
    expect(p.headOf('a')?.clientMsgId).toBe('a1');
    expect(p.headOf('b')?.clientMsgId).toBe('b1');
    p.settle('a1');
    expect(p.headOf('a')?.clientMsgId).toBe('a2');
    p.settle('a2');
    expect(p.headOf('a')).toBeUndefined();
  });
});
