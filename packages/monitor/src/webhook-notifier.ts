import { hostname } from 'node:os';
import { signWebhook, WEBHOOK_DELIVERY_HEADER, WEBHOOK_SIGNATURE_HEADER } from '@simscope/protocol';
import type { Notifier } from './notifier.js';

/** JSON body a monitor's webhook receives. */
export interface MonitorWebhookPayload {
  type: 'monitor.notification';
  delivery: string;
  title: string;
  message: string;
  host: string;
  time: string;
}

export interface WebhookNotifierConfig {
  url: string;
  /** HMAC key of the `Simscope-Signature` header (as the server's alert webhooks); unsigned without one. */
  secret?: string | null;
  /** Further tries after a network error, a 5xx, 408 or 429 (default 3), waiting `backoffMs * 2^n` between. */
  retries?: number;
  backoffMs?: number;
  timeoutMs?: number;
}

/** POSTs each notification as signed JSON, retrying transient failures; throws once they are used up. */
export class WebhookNotifier implements Notifier {
  readonly #config: WebhookNotifierConfig;

  constructor(config: WebhookNotifierConfig) {
    if (!/^https?:\/\//.test(config.url)) throw new TypeError(`webhook: not an http(s) URL: ${config.url}`);
    this.#config = config;
  }

  async notify(title: string, message: string): Promise<void> {
    const { url, secret } = this.#config;
    const delivery = globalThis.crypto.randomUUID();
    const payload: MonitorWebhookPayload = {
      type: 'monitor.notification',
      delivery,
      title,
      message,
      host: hostname(),
      time: new Date().toISOString(),
    };
    const body = JSON.stringify(payload);
    const retries = this.#config.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'simscope-monitor',
        [WEBHOOK_DELIVERY_HEADER]: delivery,
      };
      if (secret)
        headers[WEBHOOK_SIGNATURE_HEADER] = await signWebhook(secret, body, Math.floor(Date.now() / 1000));
      let failure: Error;
      let transient = true;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(this.#config.timeoutMs ?? 10_000),
        });
        await res.body?.cancel();
        if (res.ok) return;
        failure = new Error(`POST ${url}: answered ${res.status}`);
        transient = res.status >= 500 || res.status === 408 || res.status === 429;
      } catch (error) {
        failure = new Error(`POST ${url}: ${(error as Error).message}`, { cause: error });
      }
      if (!transient || attempt >= retries) throw failure;
      await new Promise((r) => setTimeout(r, (this.#config.backoffMs ?? 500) * 2 ** attempt));
    }
  }
}
