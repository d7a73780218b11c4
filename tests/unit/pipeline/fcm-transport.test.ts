// The FCM transport at its boundary: FCM itself cannot be reached from test machines, so the
// multicast sender is a stand-in that answers the way firebase-admin does.
import { generateKeyPairSync } from 'node:crypto';
import type { BatchResponse, MulticastMessage } from 'firebase-admin/messaging';
import {
  buildMulticast,
  createFirebaseSender,
  FcmTransport,
  MULTICAST_LIMIT,
  type DeviceTokenStore,
  type MulticastSender,
} from '../../../services/notifier/transports/fcm.js';
import { DeliveryError } from '../../../services/notifier/transports/transport.js';

const notification = {
  notificationId: 'n-1',
  userId: 'u-1',
  channelId: 'c-1',
  messageId: 'm-1',
  seq: 42,
  title: 'Ann in #general',
  body: 'hello',
};

class Tokens implements DeviceTokenStore {
  constructor(public tokens: string[]) {}
  async tokensOf(): Promise<string[]> {
    return [...this.tokens];
  }
  async remove(_userId: string, tokens: string[]): Promise<void> {
    this.tokens = this.tokens.filter((t) => !tokens.includes(t));
  }
}

/** Answers each token with the error code `answer` gives (undefined: accepted). */
function sender(
  answer: (token: string) => string | undefined,
): MulticastSender & { sent: MulticastMessage[] } {
  const sent: MulticastMessage[] = [];
  return {
    sent,
    async sendEachForMulticast(message) {
      sent.push(message);
      const responses = message.tokens.map((t) => {
        const code = answer(t);
        return code
          ? { success: false, error: Object.assign(new Error(code), { code }) }
          : { success: true, messageId: `projects/p/messages/${t}` };
      });
      const successCount = responses.filter((r) => r.success).length;
      return {
        responses,
        successCount,
        failureCount: responses.length - successCount,
      } as BatchResponse;
    },
  };
}

test('the multicast carries title, body and string-only data for every token', () => {
  const m = buildMulticast(notification, ['a', 'b']);
  expect(m.tokens).toEqual(['a', 'b']);
  expect(m.notification).toEqual({ title: 'Ann in #general', body: 'hello' });
  expect(m.data).toEqual({
    notificationId: 'n-1',
    userId: 'u-1',
    channelId: 'c-1',
    messageId: 'm-1',
    seq: '42',
  });
  for (const v of Object.values(m.data!)) expect(typeof v).toBe('string');
});

test('tokens FCM reports as unregistered or invalid are deleted; the rest still receive it', async () => {
  const tokens = new Tokens(['good', 'gone', 'bad']);
  const fcm = sender(
    (t) =>
      ({
        gone: 'messaging/registration-token-not-registered',
        bad: 'messaging/invalid-registration-token',
      })[t],
  );
  await expect(new FcmTransport(fcm, tokens).send(notification)).resolves.toBe('delivered');
  expect(tokens.tokens).toEqual(['good']);
});

test('a user whose only tokens are dead has nothing to deliver to', async () => {
  const tokens = new Tokens(['gone']);
  await expect(
    new FcmTransport(
      sender(() => 'messaging/registration-token-not-registered'),
      tokens,
    ).send(notification),
  ).resolves.toBe('skipped');
  expect(tokens.tokens).toEqual([]);
  await expect(
    new FcmTransport(
      sender(() => undefined),
      tokens,
    ).send(notification),
  ).resolves.toBe('skipped');
});

test('transient FCM errors are retryable and keep the tokens', async () => {
  const tokens = new Tokens(['a', 'b']);
  const error = await new FcmTransport(
    sender(() => 'messaging/server-unavailable'),
    tokens,
  )
    .send(notification)
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DeliveryError);
  expect((error as DeliveryError).permanent).toBe(false);
  expect(tokens.tokens).toEqual(['a', 'b']);
});

test('a payload FCM rejects is a permanent failure', async () => {
  const error = await new FcmTransport(
    sender(() => 'messaging/payload-size-limit-exceeded'),
    new Tokens(['a']),
  )
    .send(notification)
    .catch((e: unknown) => e);
  expect((error as DeliveryError).permanent).toBe(true);
});

test('a failed request (network, credentials) is retryable', async () => {
  const failing: MulticastSender = {
    sendEachForMulticast: async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND fcm.googleapis.com'), {
        code: 'app/network-error',
      });
    },
  };
  const error = await new FcmTransport(failing, new Tokens(['a']))
    .send(notification)
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DeliveryError);
  expect((error as DeliveryError).permanent).toBe(false);
});

test(`more than ${MULTICAST_LIMIT} tokens go out in several multicasts`, async () => {
  const many = Array.from({ length: MULTICAST_LIMIT + 20 }, (_, i) => `t${i}`);
  const fcm = sender(() => undefined);
  await expect(new FcmTransport(fcm, new Tokens(many)).send(notification)).resolves.toBe(
    'delivered',
  );
  expect(fcm.sent.map((m) => m.tokens.length)).toEqual([MULTICAST_LIMIT, 20]);
});

describe('firebase-admin setup', () => {
  test('a service account key gives a sender without contacting Google', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = {
      project_id: 'signalink-test',
      client_email: 'notifier@signalink-test.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    const sender = await createFirebaseSender({ serviceAccountJson: JSON.stringify(key) });
    expect(typeof sender.sendEachForMulticast).toBe('function');
  });

  test.each([
    ['not JSON', '{nope', /not valid JSON/],
    ['JSON without a key', JSON.stringify({ project_id: 'p' }), /client_email, private_key/],
  ])(
    '%s in FCM_SERVICE_ACCOUNT_JSON is refused with a clear message',
    async (_name, json, message) => {
      await expect(createFirebaseSender({ serviceAccountJson: json })).rejects.toThrow(message);
    },
  );
});
