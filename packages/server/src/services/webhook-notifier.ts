import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { signWebhook, WEBHOOK_DELIVERY_HEADER, WEBHOOK_SIGNATURE_HEADER } from '@simscope/protocol';
import type { NotificationJob } from '../store/alert-store.js';
import { AddressPolicy, urlHost } from './address-policy.js';
import { type AlertChannel, DeliveryError, webhookPayload } from './alert-notification.js';

export interface WebhookNotifierConfig {
  /** HMAC-SHA256 key of the `Simscope-Signature` header; without one, deliveries go unsigned. */
  secret: string | null;
  publicUrl: string | null;
  /** Per-attempt time limit in ms, name lookup included. */
  timeoutMs?: number;
  userAgent?: string;
  /** Hostnames and CIDR ranges of non-public addresses deliveries may reach (`--webhook-allow`); none when absent. */
  webhookAllow?: readonly string[];
}

/** Rejects with the signal's reason once it aborts; `dns.lookup` takes no signal. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** POSTs `body` to `target`, connecting only to `addresses`; resolves to the answer's status. */
function post(
  target: URL,
  addresses: readonly LookupAddress[],
  headers: OutgoingHttpHeaders,
  body: string,
  signal: AbortSignal,
): Promise<number> {
  // The addresses were checked against the policy: a second DNS answer (a rebind) must not replace them.
  const pinned: LookupFunction = (_hostname, options, callback) => {
    const usable = options.family ? addresses.filter((a) => a.family === options.family) : addresses;
    const first = usable[0];
    if (!first) {
      callback(Object.assign(new Error(`no IPv${options.family} address`), { code: 'ENOTFOUND' }), '', 0);
    } else if (options.all) callback(null, [...usable]);
    else callback(null, first.address, first.family);
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const request = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        // A fresh connection per delivery, so a pooled socket to an earlier address is never reused.
        agent: false,
        lookup: pinned,
        signal,
      },
      (response) => {
        response.on('error', () => {});
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * Posts a notification as JSON to the alert's webhook URL, signed; retried by the engine on failure. A host that
 * is, or resolves to, a non-public address the admin did not allow is not contacted, and fails for good.
 */
export class WebhookNotifier implements AlertChannel {
  readonly #config: WebhookNotifierConfig;
  readonly #policy: AddressPolicy;

  constructor(config: WebhookNotifierConfig) {
    this.#config = config;
    this.#policy = new AddressPolicy(config.webhookAllow);
  }

  async send(job: NotificationJob): Promise<void> {
    const url = job.alert.webhook;
    if (!url) throw new DeliveryError(`alert '${job.alert.name}' has no webhook URL`, true);
    let target: URL;
    try {
      target = new URL(url);
    } catch (error) {
      throw new DeliveryError(`webhook URL '${url}' is not valid`, true, { cause: error });
    }
    const signal = AbortSignal.timeout(this.#config.timeoutMs ?? 10_000);
    const addresses = await this.#resolve(url, target, signal);
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
    let status: number;
    try {
      status = await post(target, addresses, headers, body, signal);
    } catch (error) {
      throw new DeliveryError(`POST ${url}: ${(error as Error).message}`, false, { cause: error });
    }
    if (status >= 200 && status < 300) return;
    const transient = status >= 500 || status === 429 || status === 408;
    throw new DeliveryError(`POST ${url}: answered ${status}`, !transient);
  }

  /** The addresses of the URL's host, every one of them public or allowed; a refusal is permanent. */
  async #resolve(url: string, target: URL, signal: AbortSignal): Promise<LookupAddress[]> {
    const host = urlHost(target);
    const family = isIP(host);
    let addresses: LookupAddress[];
    if (family) addresses = [{ address: host, family }];
    else {
      try {
        addresses = await untilAborted(lookup(host, { all: true, verbatim: true }), signal);
      } catch (error) {
        throw new DeliveryError(`POST ${url}: cannot resolve ${host}: ${(error as Error).message}`, false, {
          cause: error,
        });
      }
    }
    const refusal = this.#policy.refuseAddresses(
      host,
      addresses.map((a) => a.address),
    );
    if (refusal) throw new DeliveryError(`POST ${url}: not sent: ${refusal}`, true);
    return addresses;
  }
}
