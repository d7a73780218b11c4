import { createHmac } from 'node:crypto';
import type { Notification } from '../rules.js';
import { DeliveryError, type DeliveryOutcome, type NotificationTransport } from './transport.js';

export const SIGNATURE_HEADER = 'X-Signalink-Signature';

/** `sha256=<hex>` of the HMAC-SHA256 of the exact body bytes under the shared secret. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** 2xx delivered; 408, 429 and 5xx worth retrying; any other answer will not change. */
export function classifyStatus(status: number): 'delivered' | 'retry' | 'reject' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'reject';
}

export class WebhookTransport implements NotificationTransport {
  readonly name = 'webhook';
  constructor(private readonly options: { url: string; secret: string; timeoutMs: number }) {}

  async send(notification: Notification): Promise<DeliveryOutcome> {
    const body = JSON.stringify(notification);
    let status: number;
    try {
      const res = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signBody(this.options.secret, body),
          'X-Signalink-Notification-Id': notification.notificationId,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = res.status;
      await res.body?.cancel().catch(() => {});
    } catch (err) {
      throw new DeliveryError(
        `webhook unreachable: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const verdict = classifyStatus(status);
    if (verdict === 'delivered') return 'delivered';
    throw new DeliveryError(`webhook answered ${status}`, verdict === 'reject');
  }
}
