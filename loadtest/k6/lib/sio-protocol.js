// Engine.IO v4 / Socket.IO v5 text packets, as the Signalink gateway speaks them over a raw
// WebSocket (`/socket.io/?EIO=4&transport=websocket`). Pure functions, no k6 module imported,
// so they run under k6 and under the unit tests alike. Binary packets are not used by
// Signalink and are reported as such.

/** Engine.IO packet types (the first character of every WebSocket frame). */
export const ENGINE = {
  OPEN: '0',
  CLOSE: '1',
  PING: '2',
  PONG: '3',
  MESSAGE: '4',
  UPGRADE: '5',
  NOOP: '6',
};

/** Socket.IO packet types (the first character after the Engine.IO MESSAGE type). */
export const SOCKET = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
};

/** The WebSocket URL of the Socket.IO endpoint behind an http(s) base URL. */
export function engineUrl(baseUrl) {
  return `${baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '')}/socket.io/?EIO=4&transport=websocket`;
}

/**
 * Decodes one Engine.IO frame: `{type: 'open', handshake}`, `{type: 'ping'}`, `{type: 'pong'}`,
 * `{type: 'close'}`, `{type: 'noop'}`, `{type: 'message', packet}` (a decoded Socket.IO packet),
 * or `{type: 'invalid', reason}`.
 */
export function decodeFrame(text) {
  if (typeof text !== 'string' || text.length === 0)
    return { type: 'invalid', reason: 'empty or binary frame' };
  const kind = text[0];
  const rest = text.slice(1);
  switch (kind) {
    case ENGINE.OPEN: {
      const handshake = parseJson(rest);
      if (!handshake || typeof handshake.sid !== 'string')
        return { type: 'invalid', reason: `bad open packet: ${text.slice(0, 80)}` };
      return { type: 'open', handshake };
    }
    case ENGINE.CLOSE:
      return { type: 'close' };
    case ENGINE.PING:
      return { type: 'ping', data: rest };
    case ENGINE.PONG:
      return { type: 'pong', data: rest };
    case ENGINE.NOOP:
      return { type: 'noop' };
    case ENGINE.MESSAGE: {
      const packet = decodePacket(rest);
      return packet.type === undefined
        ? { type: 'invalid', reason: packet.reason }
        : { type: 'message', packet };
    }
    default:
      return { type: 'invalid', reason: `unknown Engine.IO packet type "${kind}"` };
  }
}

/**
 * Decodes a Socket.IO packet: `<type>[<namespace>,][<ack id>][<JSON>]`. Returns
 * `{type, nsp, id?, data?}` or `{reason}` when it cannot be read.
 */
export function decodePacket(text) {
  const type = Number(text[0]);
  if (!(type >= SOCKET.CONNECT && type <= SOCKET.BINARY_ACK) || text.length === 0)
    return { reason: `unknown Socket.IO packet type "${text[0]}"` };
  if (type === SOCKET.BINARY_EVENT || type === SOCKET.BINARY_ACK)
    return { reason: 'binary Socket.IO packets are not supported' };
  let i = 1;
  let nsp = '/';
  if (text[i] === '/') {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma < 0 ? end : end + 1;
  }
  let id;
  const digits = /^\d+/.exec(text.slice(i));
  if (digits && (type === SOCKET.EVENT || type === SOCKET.ACK)) {
    id = Number(digits[0]);
    i += digits[0].length;
  }
  const body = text.slice(i);
  let data;
  if (body.length > 0) {
    data = parseJson(body);
    if (data === undefined) return { reason: `packet payload is not JSON: ${body.slice(0, 80)}` };
  }
  if ((type === SOCKET.EVENT || type === SOCKET.ACK) && !Array.isArray(data))
    return { reason: 'event and ack packets carry a JSON array' };
  if (type === SOCKET.EVENT && typeof data[0] !== 'string')
    return { reason: 'an event packet starts with the event name' };
  return id === undefined ? { type, nsp, data } : { type, nsp, id, data };
}

/** `40{auth}`: connect to the default namespace with handshake auth. */
export function encodeConnect(auth) {
  return `${ENGINE.MESSAGE}${SOCKET.CONNECT}${auth === undefined ? '' : JSON.stringify(auth)}`;
}

/** `42[name, ...args]`, or `42<id>[...]` when the sender wants an ack. */
export function encodeEvent(name, args, id) {
  return `${ENGINE.MESSAGE}${SOCKET.EVENT}${id === undefined ? '' : id}${JSON.stringify([name, ...args])}`;
}

/** `43<id>[...args]`: the answer to a server event that asked for an ack. */
export function encodeAck(id, args) {
  return `${ENGINE.MESSAGE}${SOCKET.ACK}${id}${JSON.stringify(args)}`;
}

export const PONG_FRAME = ENGINE.PONG;

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
