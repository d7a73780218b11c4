import type { Logger } from '../../core/logger.js';
import type { Notification } from '../rules.js';
import type { DeliveryOutcome, NotificationTransport } from './transport.js';

/** The default transport: writes each notification to the log (the message text left out). */
export class LogTransport implements NotificationTransport {
  readonly name = 'log';
  constructor(private readonly log: Logger) {}

  async send(n: Notification): Promise<DeliveryOutcome> {
    this.log.info(
      {
        notificationId: n.notificationId,
        userId: n.userId,
        channelId: n.channelId,
        messageId: n.messageId,
        seq: n.seq,
        title: n.title,
      },
      'notification',
    );
    return 'delivered';
  }
}
