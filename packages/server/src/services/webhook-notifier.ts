import { signWebhook, WEBHOOK_DELIVERY_HEADER, WEBHOOK_SIGNATURE_HEADER } from '@simscope/protocol';
import type { NotificationJob } from '../store/alert-store.js';
import { type AlertChannel, DeliveryError, webhookPayload } from './alert-notification.js';

export interface WebhookNotifierConfig {
  /** HMAC-SHA256 key of the `Simscope-Signature` header; without one, deliveries go unsigned. */
  secret: string | null;
  publicUrl: string | null;
  /** Per-attempt time limit in ms. */
  timeoutMs?: number;
  userAgent?: string;
}

/** Posts a notification as JSON to the alert's webhook URL, signed; retried by the engine on failure. */
export class WebhookNotifier implements AlertChannel {
  readonly #config: WebhookNotifierConfig;

  constructor(config: WebhookNotifierConfig) {
    this.#config = config;
  }

  async send(job: NotificationJob): Promise<void> {
    const url = job.alert.webhook;
    if (!url) throw new DeliveryError(`alert '${job.alert.name}' has no webhook URL`, true);
    const body = JSON.stringify(webhookPayload(job, this.#config.publicUrl));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.#config.userAgent ?? 'simscope',
      [WEBHOOK_DELIVERY_HEADER]: job.id,
      'simscope-event': job.transition.to === 'critical' ? 'alert.critical' : 'alert.ok',
    };
    if (this.#config.secret) {
      headers[WEBHOOK_SIGNATURE_HEADER] = await signWebhook(
        this.#config.secret,
        body,
        Math.floor(Date.now() / 1000),
      );
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#config.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new DeliveryError(`POST ${url}: ${(error as Error).message}`, false, { cause: error });
    }
    await response.body?.cancel();
    if (response.ok) return;
    const transient = response.status >= 500 || response.status === 429 || response.status === 408;
    throw new DeliveryError(`POST ${url}: answered ${response.status}`, !transient);
  }
}
