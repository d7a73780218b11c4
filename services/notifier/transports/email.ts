// Email digests over SMTP (nodemailer), or into the log when no SMTP_URL is set. Providers
// such as SendGrid, SES or Mailgun are reached through their SMTP endpoints.
import { createTransport } from 'nodemailer';
import type { UnsubscribeTokens } from '../../chat/email-unsubscribe.js';
import type { Logger } from '../../core/logger.js';
import type { JobTransport } from '../delivery.js';
import { renderDigest, unsubscribeLink, type DigestMail } from '../digest-mail.js';
import type { DigestJob, DigestStore } from '../digest-store.js';
import { selectDigestEntries, stillWanted } from '../digests.js';
import { DeliveryError, type DeliveryOutcome } from './transport.js';

export interface MailSender {
  /** `smtp` or `log`, for the start-up message. */
  readonly kind: string;
  /** Throws DeliveryError: permanent for a 5xx answer, temporary otherwise. */
  send(mail: DigestMail): Promise<void>;
  close(): void;
}

/**
 * 5xx answers are permanent (RFC 5321), except 503 (bad sequence of commands), which says
 * the session was in the wrong state and may pass on a new connection. 4xx answers,
 * connection failures and timeouts may pass.
 */
export function classifySmtpError(err: unknown): DeliveryError {
  const e = err as {
    responseCode?: unknown;
    code?: unknown;
    response?: unknown;
    message?: unknown;
  };
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const detail =
    typeof e.response === 'string'
      ? e.response
      : typeof e.message === 'string'
        ? e.message
        : String(err);
  if (code !== undefined)
    return new DeliveryError(
      `SMTP answered ${code}: ${detail}`,
      code >= 500 && code < 600 && code !== 503,
    );
  return new DeliveryError(
    `SMTP unreachable${typeof e.code === 'string' ? ` (${e.code})` : ''}: ${detail}`,
  );
}

/** Timeouts stay well inside the worker's lease on a digest (60 s). */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

export class SmtpMailSender implements MailSender {
  readonly kind = 'smtp';
  private readonly transporter;

  /** TLS and authentication as the URL says: `smtps://` is TLS from the start, `smtp://` upgrades with STARTTLS when offered. */
  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transporter = createTransport({ url, ...SMTP_TIMEOUTS });
  }

  async send(mail: DigestMail): Promise<void> {
    try {
      await this.transporter.sendMail({
        from: this.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: mail.headers,
      });
    } catch (err) {
      throw classifySmtpError(err);
    }
  }

  close(): void {
    this.transporter.close();
  }
}

/** Without SMTP_URL (development): each mail goes to the log instead, without its text. */
export class LogMailSender implements MailSender {
  readonly kind = 'log';
  constructor(private readonly log: Logger) {}

  async send(mail: DigestMail): Promise<void> {
    this.log.info(
      {
        digestId: mail.digestId,
        to: mail.to,
        subject: mail.subject,
        messages: mail.messageIds.length,
      },
      'email digest (not sent: SMTP_URL is not set)',
    );
  }

  close(): void {}
}

/**
 * Sends a due digest: composes it on the first attempt (what is still unread and allowed,
 * mentions first) and keeps the mail, so retries send the same one with the same
 * Message-ID; nothing is sent when the member read it all or turned email off meanwhile.
 */
export class EmailDigestTransport implements JobTransport<DigestJob> {
  readonly name = 'email';

  constructor(
    private readonly deps: {
      store: DigestStore;
      sender: MailSender;
      tokens: UnsubscribeTokens;
      /** Read when a mail is composed: without PUBLIC_URL it depends on the port listened on. */
      publicUrl: () => string;
      from: string;
    },
  ) {}

  async send(job: DigestJob): Promise<DeliveryOutcome> {
    const { store, sender } = this.deps;
    const state = await store.recipientState(job.userId, job.channelId);
    let mail = job.mail;
    if (mail) {
      if (!stillWanted(state, mail)) return 'suppressed';
    } else {
      const content = await store.content(job.digestId);
      if (!content) return 'suppressed';
      const selection = selectDigestEntries(content.entries, state);
      if (!selection.send) return 'suppressed';
      const publicUrl = this.deps.publicUrl();
      mail = renderDigest({
        digestId: job.digestId,
        recipient: content.recipient,
        channel: content.channel,
        entries: selection.entries,
        publicUrl,
        unsubscribeUrl: unsubscribeLink(publicUrl, this.deps.tokens.sign(job.userId)),
        from: this.deps.from,
      });
      await store.saveMail(job.digestId, mail);
      // Kept on the job too, so a dead letter after this attempt names the messages.
      job.mail = mail;
    }
    await sender.send(mail);
    return 'delivered';
  }
}
