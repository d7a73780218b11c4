import type { Notification } from '../rules.js';

/**
 * `skipped`: nothing to deliver to (no device of the user is registered any more);
 * `suppressed`: no longer wanted (an email digest whose messages were read meanwhile).
 */
export type DeliveryOutcome = 'delivered' | 'skipped' | 'suppressed';

export interface NotificationTransport {
  readonly name: string;
  /** Throws DeliveryError; anything else thrown counts as a retryable failure. */
  send(notification: Notification): Promise<DeliveryOutcome>;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** Retrying cannot help (a rejected payload, a 4xx answer): dead-letter at once. */
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}
