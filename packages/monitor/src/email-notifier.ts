import type { Notifier } from './notifier.js';

/** How to reach a mail server; the same settings as the server's `smtp_*`. */
export interface SmtpSettings {
  host: string;
  port?: number;
  /** `implicit` TLS (port 465), require `starttls`, `opportunistic` (default), or `none`. */
  tls?: 'implicit' | 'starttls' | 'opportunistic' | 'none';
  user?: string | null;
  password?: string | null;
  /** The From address (default `simscope@HOSTNAME`). */
  from?: string;
}

interface MailTransport {
  sendMail(message: { from: string; to: string[]; subject: string; text: string }): Promise<unknown>;
  close(): void;
}

/** Emails each notification through SMTP (nodemailer, an optional peer dependency loaded on first use). */
export class EmailNotifier implements Notifier {
  readonly #smtp: SmtpSettings;
  readonly #to: string[];
  readonly #subjectPrefix: string;
  #transport: Promise<MailTransport> | undefined;

  constructor(config: { smtp: SmtpSettings; to: string[]; subjectPrefix?: string }) {
    if (config.to.length === 0) throw new TypeError('EmailNotifier needs at least one address in `to`');
    this.#smtp = config.smtp;
    this.#to = config.to;
    this.#subjectPrefix = config.subjectPrefix ?? '[Simscope monitor]';
  }

  #open(): Promise<MailTransport> {
    this.#transport ??= (async () => {
      const name = 'nodemailer';
      let nodemailer: { createTransport(options: object): MailTransport };
      try {
        nodemailer = ((await import(name)) as { default: typeof nodemailer }).default;
      } catch (error) {
        this.#transport = undefined;
        throw new Error('email notifications need the nodemailer package: npm install nodemailer', {
          cause: error,
        });
      }
      const s = this.#smtp;
      const tls = s.tls ?? 'opportunistic';
      return nodemailer.createTransport({
        host: s.host,
        port: s.port ?? (tls === 'implicit' ? 465 : 587),
        secure: tls === 'implicit',
        requireTLS: tls === 'starttls',
        ignoreTLS: tls === 'none',
        auth: s.user ? { user: s.user, pass: s.password ?? '' } : undefined,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      });
    })();
    return this.#transport;
  }

  async notify(title: string, message: string): Promise<void> {
    const transport = await this.#open();
    const { hostname } = await import('node:os');
    await transport.sendMail({
      from: this.#smtp.from ?? `simscope@${hostname()}`,
      to: this.#to,
      subject: `${this.#subjectPrefix} ${title}`,
      text: `${message}\n\nHost: ${hostname()}\nTime: ${new Date().toISOString()}\n`,
    });
  }

  /** Closes the SMTP connection, if one was opened. */
  async close(): Promise<void> {
    const transport = this.#transport;
    this.#transport = undefined;
    if (transport) (await transport.catch(() => undefined))?.close();
  }
}
