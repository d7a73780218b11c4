// Firebase Cloud Messaging through firebase-admin. The FCM boundary is two small interfaces
// (the multicast sender and the device token store) so message building and the handling of
// FCM's answers are tested without reaching Google.
import type { BatchResponse, MulticastMessage } from 'firebase-admin/messaging';
import { z } from 'zod';
import type { Notification } from '../rules.js';
import { DeliveryError, type DeliveryOutcome, type NotificationTransport } from './transport.js';

export interface MulticastSender {
  sendEachForMulticast(message: MulticastMessage): Promise<BatchResponse>;
}

export interface DeviceTokenStore {
  tokensOf(userId: string): Promise<string[]>;
  /** Forgets tokens FCM no longer accepts. */
  remove(userId: string, tokens: string[]): Promise<void>;
}

/** FCM accepts at most this many tokens per multicast. */
export const MULTICAST_LIMIT = 500;

/** The token will never work again: the app was uninstalled or the token is malformed. */
const DEAD_TOKEN = new Set([
  'messaging/registration-token-not-registered',
  'messaging/invalid-registration-token',
]);
/** Retrying later may succeed. */
const TRANSIENT = new Set([
  'messaging/server-unavailable',
  'messaging/internal-error',
  'messaging/unknown-error',
  'messaging/message-rate-exceeded',
  'messaging/device-message-rate-exceeded',
  'messaging/third-party-auth-error',
  'messaging/authentication-error',
  'app/network-error',
  'app/network-timeout',
]);

export function buildMulticast(n: Notification, tokens: string[]): MulticastMessage {
  return {
    tokens,
    notification: { title: n.title, body: n.body },
    // FCM data values must be strings.
    data: {
      notificationId: n.notificationId,
      userId: n.userId,
      channelId: n.channelId,
      messageId: n.messageId,
      seq: String(n.seq),
    },
    android: { priority: 'high', collapseKey: n.channelId },
    apns: { payload: { aps: { threadId: n.channelId } } },
    webpush: { headers: { Urgency: 'high' } },
  };
}

export class FcmTransport implements NotificationTransport {
  readonly name = 'fcm';
  constructor(
    private readonly sender: MulticastSender,
    private readonly tokens: DeviceTokenStore,
  ) {}

  /**
   * Delivered when FCM accepted it for at least one device. Tokens FCM reports as dead are
   * deleted; when only dead tokens were left there is nobody to deliver to (skipped). Errors
   * that may pass are retried, the rest dead-lettered.
   */
  async send(n: Notification): Promise<DeliveryOutcome> {
    const all = await this.tokens.tokensOf(n.userId);
    if (all.length === 0) return 'skipped';
    let delivered = 0;
    const dead: string[] = [];
    const transient: string[] = [];
    const permanent: string[] = [];
    for (let i = 0; i < all.length; i += MULTICAST_LIMIT) {
      const chunk = all.slice(i, i + MULTICAST_LIMIT);
      let response: BatchResponse;
      try {
        response = await this.sender.sendEachForMulticast(buildMulticast(n, chunk));
      } catch (err) {
        const code = (err as { code?: string }).code;
        const message = `FCM request failed: ${code ?? (err instanceof Error ? err.message : String(err))}`;
        if (delivered > 0) break;
        throw new DeliveryError(
          message,
          code !== undefined && !TRANSIENT.has(code) && code.startsWith('messaging/'),
        );
      }
      response.responses.forEach((r, j) => {
        if (r.success) return void (delivered += 1);
        const code = r.error?.code ?? 'messaging/unknown-error';
        if (DEAD_TOKEN.has(code)) dead.push(chunk[j]!);
        else if (TRANSIENT.has(code)) transient.push(code);
        else permanent.push(code);
      });
    }
    if (dead.length > 0) await this.tokens.remove(n.userId, dead);
    if (delivered > 0) return 'delivered';
    if (transient.length > 0)
      throw new DeliveryError(
        `FCM did not accept the notification: ${[...new Set(transient)].join(', ')}`,
      );
    if (permanent.length > 0)
      throw new DeliveryError(
        `FCM rejected the notification: ${[...new Set(permanent)].join(', ')}`,
        true,
      );
    return 'skipped';
  }
}

/**
 * The firebase-admin sender, loaded only when the fcm transport is chosen. Credentials come
 * from FCM_SERVICE_ACCOUNT_JSON, or from GOOGLE_APPLICATION_CREDENTIALS (application default).
 */
const FIREBASE_APP_NAME = 'signalink-notifier';

export async function createFirebaseSender(options: {
  serviceAccountJson: string | undefined;
}): Promise<MulticastSender> {
  const { initializeApp, cert, applicationDefault, getApps } = await import('firebase-admin/app');
  const { getMessaging } = await import('firebase-admin/messaging');
  const credential = options.serviceAccountJson
    ? cert(parseServiceAccount(options.serviceAccountJson))
    : applicationDefault();
  // One firebase app per process, even if the role is started again.
  const app =
    getApps().find((a) => a.name === FIREBASE_APP_NAME) ??
    initializeApp({ credential }, FIREBASE_APP_NAME);
  return getMessaging(app);
}

const serviceAccountSchema = z.object({
  project_id: z.string().min(1),
  client_email: z.email(),
  private_key: z.string().min(1),
});

function parseServiceAccount(json: string): {
  projectId: string;
  clientEmail: string;
  privateKey: string;
} {
  let parsed: z.ZodSafeParseResult<z.output<typeof serviceAccountSchema>>;
  try {
    parsed = serviceAccountSchema.safeParse(JSON.parse(json));
  } catch {
    throw new Error('FCM_SERVICE_ACCOUNT_JSON is not valid JSON');
  }
  if (!parsed.success)
    throw new Error(
      `FCM_SERVICE_ACCOUNT_JSON is not a service account key: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return {
    projectId: parsed.data.project_id,
    clientEmail: parsed.data.client_email,
    privateKey: parsed.data.private_key,
  };
}
