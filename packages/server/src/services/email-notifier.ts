import type { NotificationJob } from '../store/alert-store.js';
import { type AlertChannel, DeliveryError, notificationText } from './alert-notification.js';

/** How the server reaches its mail server. */
export interface SmtpConfig {
  host: string;
  port: number;
  /** `implicit`: TLS from the start (port 465); `starttls`: require STARTTLS; `opportunistic`: use it when offered; `none`: never. */
  tls: 'implicit' | 'starttls' | 'opportunistic' | 'none';
  user: string | null;
  password: string | null;
  /** The From address. */
  from: string;
}

/** The part of nodemailer this uses, typed here so that no driver types are imported. */
interface MailTransport {
  sendMail(message: {
    from: string;
    to: string[];
    subject: string;
    text: string;
    messageId: string;
    headers: Record<string, string>;
  }): Promise<{ accepted: unknown[]; rejected: unknown[] }>;
  close(): void;
}

interface Nodemailer {
  createTransport(options: Record<string, unknown>): MailTransport;
}

/** Sends a notification by email (nodemailer over SMTP) to the run's owner and the alert's addresses. */
export class EmailNotifier implements AlertChannel {
  readonly #smtp: SmtpConfig;
  readonly #publicUrl: string | null;
  #transport: Promise<MailTransport> | undefined;

  constructor(smtp: SmtpConfig, publicUrl: string | null) {
    this.#smtp = smtp;
    this.#publicUrl = publicUrl;
  }

  #open(): Promise<MailTransport> {
    this.#transport ??= (async () => {
      const name = 'nodemailer';
      const nodemailer = ((await import(name)) as { default: Nodemailer }).default;
      const s = this.#smtp;
      return nodemailer.createTransport({
        host: s.host,
        port: s.port,
        secure: s.tls === 'implicit',
        requireTLS: s.tls === 'starttls',
        ignoreTLS: s.tls === 'none',
        auth: s.user ? { user: s.user, pass: s.password ?? '' } : undefined,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      });
    })();
    return this.#transport;
  }

  async send(job: NotificationJob): Promise<void> {
    const to = [...new Set([job.run.ownerEmail, ...job.alert.emails].filter((a): a is string => !!a))];
    if (to.length === 0) {
      throw new DeliveryError(
        `no address for alert '${job.alert.name}': the run's owner has no email and the alert lists none`,
        true,
      );
    }
    const { subject, text } = notificationText(job, this.#publicUrl);
    const transport = await this.#open();
    try {
      // The same Message-ID on every attempt lets mail clients drop a repeat.
      await transport.sendMail({
        from: this.#smtp.from,
        to,
        subject,
        text,
        messageId: `<${job.id}@simscope>`,
        headers: { 'X-Simscope-Delivery': job.id },
      });
    } catch (error) {
      const e = error as { responseCode?: number; message?: string };
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
      throw new DeliveryError(
        `SMTP ${this.#smtp.host}:${this.#smtp.port}: ${e.message ?? String(error)}`,
        permanent,
        {
          cause: error,
        },
      );
    }
  }

  async close(): Promise<void> {
    const transport = this.#transport;
    this.#transport = undefined;
    if (transport) (await transport.catch(() => undefined))?.close();
  }
}
