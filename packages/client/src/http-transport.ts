import {
  API_PREFIX,
  type ErrorCode,
  IDEMPOTENCY_HEADER,
  MSGPACK_TYPE,
  WORKSPACE_HEADER,
} from '@simscope/protocol';
import { ClientError } from './errors.js';

/**
 * How a call is retried: up to `total` more tries after network errors and the statuses of `statusForcelist`,
 * waiting `backoffFactor * 2^n` seconds before try n + 1, or what the server's Retry-After says.
 */
export interface RetryOptions {
  total: number;
  backoffFactor: number;
  statusForcelist: readonly number[];
}

export const DEFAULT_RETRIES: RetryOptions = {
  total: 5,
  backoffFactor: 0.2,
  statusForcelist: [429, 502, 503, 504],
};

export interface TransportConfig {
  url: string;
  token: string | undefined;
  workspace?: string | undefined;
  retries?: Partial<RetryOptions>;
  /** Per-request time limit in ms. */
  timeoutMs?: number;
}

export interface RequestOptions {
  json?: unknown;
  msgpack?: Uint8Array;
  query?: Record<string, string | number | undefined>;
  /** Safe to send again: reads, and batches that carry (writer, seq). Default: GET, HEAD, or an idempotency key. */
  idempotent?: boolean;
  /** Sent as `Idempotency-Key`: the server runs the request once, so it may be retried. */
  idempotencyKey?: string;
  /** This call's retries, over the transport's. */
  retries?: Partial<RetryOptions>;
  /** False: a network error fails at once, for callers that keep the request elsewhere (the spool). */
  retryNetworkErrors?: boolean;
  accept?: string;
}

/** A request whose body or answer is a stream (artifacts). */
export interface StreamRequestOptions {
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** Makes the body afresh for each try. */
  body?: () => ReadableStream<Uint8Array> | Uint8Array;
  idempotent?: boolean;
  /** Ends the request; a stream has no overall time limit, so callers abort on their own idle timer. */
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** HTTP to the Simscope API: auth and workspace headers, JSON or msgpack bodies, retries with backoff. */
export class HttpTransport {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #retries: RetryOptions;
  readonly #timeoutMs: number;

  constructor(config: TransportConfig) {
    this.#base = `${config.url}${API_PREFIX}`;
    this.#headers = {};
    if (config.token) this.#headers.authorization = `Bearer ${config.token}`;
    if (config.workspace) this.#headers[WORKSPACE_HEADER] = config.workspace;
    this.#retries = { ...DEFAULT_RETRIES, ...config.retries };
    this.#timeoutMs = config.timeoutMs ?? 30_000;
  }

  /** The per-request time limit in ms; streams use it as the longest wait for their next chunk. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Sends one request and returns the decoded answer (JSON, or the raw bytes for msgpack). */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (options.idempotencyKey !== undefined) headers[IDEMPOTENCY_HEADER] = options.idempotencyKey;
    let body: string | Uint8Array | undefined;
    if (options.msgpack) {
      headers['content-type'] = MSGPACK_TYPE;
      body = options.msgpack;
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const res = await this.#send(method, path, {
      query: options.query,
      headers,
      init: () => ({ body, signal: AbortSignal.timeout(this.#timeoutMs) }),
      retryable:
        options.idempotent ?? (method === 'GET' || method === 'HEAD' || options.idempotencyKey !== undefined),
      retries: options.retries,
      retryNetworkErrors: options.retryNetworkErrors,
    });
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('content-type') ?? '';
    return (type.includes(MSGPACK_TYPE) ? new Uint8Array(await res.arrayBuffer()) : await res.json()) as T;
  }

  /** Sends a request whose body or answer is a stream, and returns the 2xx answer with its body unread. */
  stream(method: string, path: string, options: StreamRequestOptions = {}): Promise<Response> {
    return this.#send(method, path, {
      query: options.query,
      headers: options.headers ?? {},
      init: () => {
        const body = options.body?.();
        // A streamed body needs duplex 'half'; redirect 'error' stops fetch from teeing the body to replay it
        // on a redirect, which would keep every byte sent in memory.
        return body instanceof ReadableStream
          ? { body, signal: options.signal, duplex: 'half', redirect: 'error' }
          : { body, signal: options.signal };
      },
      retryable: options.idempotent ?? method === 'GET',
      signal: options.signal,
    });
  }

  async #send(
    method: string,
    path: string,
    options: {
      query: Record<string, string | number | undefined> | undefined;
      headers: Record<string, string>;
      init: () => RequestInit & { duplex?: 'half' };
      retryable: boolean;
      /** The caller's own signal: once it fires, no more tries. */
      signal?: AbortSignal | undefined;
      retries?: Partial<RetryOptions> | undefined;
      retryNetworkErrors?: boolean | undefined;
    },
  ): Promise<Response> {
    const url = new URL(`${this.#base}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers = { ...this.#headers, ...options.headers };
    const retryable = options.retryable;
    const retries = options.retries ? { ...this.#retries, ...options.retries } : this.#retries;
    for (let attempt = 0; ; attempt++) {
      let wait: number | undefined;
      try {
        const res = await fetch(url, { method, headers, ...options.init() });
        if (res.ok) return res;
        const text = await res.text();
        let error: { code?: ErrorCode; message?: string; details?: unknown } = {};
        try {
          error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
        } catch {
          // not our error body
        }
        const failure = new ClientError(
          error.code ?? (res.status >= 500 ? 'unavailable' : 'bad_request'),
          `${method} ${path}: ${res.status} ${error.message ?? text.slice(0, 200)}`,
          res.status,
          { details: error.details },
        );
        if (!retryable || !retries.statusForcelist.includes(res.status) || attempt >= retries.total) {
          throw failure;
        }
        wait = retryAfterMs(res.headers.get('retry-after'));
      } catch (error) {
        if (error instanceof ClientError) throw error;
        // A network error or time-out: the request may or may not have arrived.
        if (
          !retryable ||
          options.retryNetworkErrors === false ||
          attempt >= retries.total ||
          options.signal?.aborted
        ) {
          throw new ClientError('unavailable', `${method} ${path}: ${(error as Error).message}`, 0, {
            cause: error,
          });
        }
      }
      await sleep(wait ?? retries.backoffFactor * 1000 * 2 ** attempt);
    }
  }
}
