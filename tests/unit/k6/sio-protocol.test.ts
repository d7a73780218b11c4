// The k6 scripts' Socket.IO codec (plain JS, no k6 module) against what socket.io itself sends.
import { Encoder } from 'socket.io-parser';
import {
  decodeFrame,
  decodePacket,
  encodeAck,
  encodeConnect,
  encodeEvent,
  engineUrl,
} from '../../../loadtest/k6/lib/sio-protocol.js';

describe('Socket.IO v5 over Engine.IO v4 codec', () => {
  it('builds the WebSocket URL from the base URL', () => {
    expect(engineUrl('http://127.0.0.1:3000/')).toBe(
      'ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket',
    );
    expect(engineUrl('https://chat.example.com')).toBe(
      'wss://chat.example.com/socket.io/?EIO=4&transport=websocket',
    );
  });

  it('reads the open packet, pings, close and noop frames', () => {
    const open = decodeFrame(
      '0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}',
    );
    expect(open).toEqual({
      type: 'open',
      handshake: expect.objectContaining({ sid: 'abc', pingInterval: 25000, pingTimeout: 20000 }),
    });
    expect(decodeFrame('2')).toEqual({ type: 'ping', data: '' });
    expect(decodeFrame('1')).toEqual({ type: 'close' });
    expect(decodeFrame('6')).toEqual({ type: 'noop' });
    expect(decodeFrame('0not json').type).toBe('invalid');
    expect(decodeFrame('9').type).toBe('invalid');
    expect(decodeFrame('').type).toBe('invalid');
  });

  it('reads connect, connect_error, events with and without ack ids, acks and other namespaces', () => {
    expect(decodeFrame('40{"sid":"s1","pid":"p1"}')).toEqual({
      type: 'message',
      packet: { type: 0, nsp: '/', data: { sid: 's1', pid: 'p1' } },
    });
    expect(decodeFrame('44{"message":"UNAUTHENTICATED"}')).toEqual({
      type: 'message',
      packet: { type: 4, nsp: '/', data: { message: 'UNAUTHENTICATED' } },
    });
    // Connection state recovery appends the offset as a last argument.
    expect(decodePacket('2["presence.update",{"userId":"u"},"1796181544131-0"]')).toEqual({
      type: 2,
      nsp: '/',
      data: ['presence.update', { userId: 'u' }, '1796181544131-0'],
    });
    expect(decodePacket('212["call.signal",{}]')).toEqual({
      type: 2,
      nsp: '/',
      id: 12,
      data: ['call.signal', {}],
    });
    expect(decodePacket('37[{"ok":true}]')).toEqual({
      type: 3,
      nsp: '/',
      id: 7,
      data: [{ ok: true }],
    });
    expect(decodePacket('2/admin,3["x"]')).toEqual({ type: 2, nsp: '/admin', id: 3, data: ['x'] });
    expect(decodePacket('1')).toEqual({ type: 1, nsp: '/' });
  });

  it('refuses what it cannot read instead of guessing', () => {
    expect(decodePacket('51-["x",{"_placeholder":true,"num":0}]').reason).toMatch(/binary/);
    expect(decodePacket('2{"not":"an array"}').reason).toMatch(/JSON array/);
    expect(decodePacket('2[42]').reason).toMatch(/event name/);
    expect(decodePacket('3[').reason).toMatch(/not JSON/);
    expect(decodePacket('x').reason).toMatch(/unknown/);
  });

  it('encodes exactly what socket.io-parser encodes', () => {
    const encoder = new Encoder();
    const official = (packet: object) => `4${encoder.encode(packet as never)[0] as string}`;
    expect(encodeConnect({ token: 't' })).toBe(
      official({ type: 0, nsp: '/', data: { token: 't' } }),
    );
    expect(
      encodeEvent('message.send', [{ channelId: 'c', clientMsgId: 'm', content: 'hi' }], 5),
    ).toBe(
      official({
        type: 2,
        nsp: '/',
        id: 5,
        data: ['message.send', { channelId: 'c', clientMsgId: 'm', content: 'hi' }],
      }),
    );
    expect(encodeEvent('typing.start', [{ channelId: 'c' }])).toBe(
      official({ type: 2, nsp: '/', data: ['typing.start', { channelId: 'c' }] }),
    );
    expect(encodeAck(9, [{ ok: true }])).toBe(
      official({ type: 3, nsp: '/', id: 9, data: [{ ok: true }] }),
    );
  });
});
