import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  API_PREFIX,
  type ErrorCode,
  IDEMPOTENCY_HEADER,
  MSGPACK_TYPE,
  pathOf,
  ROUTES,
  type RouteName,
  type RouteParams,
  type RouteResponse,
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

const DEFAULT_RETRIES: RetryOptions = {
  total: 5,
  backoffFactor: 0.2,
  statusForcelist: [429, 502, 503, 504, 507],
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
  /** Called before each try; may change `json` or the `msgpack` bytes in place (a batch stamps its `clock`). */
  beforeTry?: () => void;
  accept?: string;
}

/** A request whose body or answer is a stream (artifacts). */
export interface StreamRequestOptions {
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /**
   * Makes the body afresh for each try: bytes, or chunks read as they are sent. A chunk's memory is the body's
   * to reuse once the chunk after the next one is asked for: the transport has handed it to the socket by then.
   */
  body?: () => Uint8Array | AsyncIterable<Uint8Array>;
  /** The body's length in bytes, when it is known before it is read (sent as Content-Length). */
  length?: number;
  idempotent?: boolean;
  /** Ends the request; a stream has no overall time limit, so callers abort on their own idle timer. */
  signal?: AbortSignal;
}

/** Query parameters as sent: absent ones (undefined) are left out. */
type QueryInput = Record<string, string | number | boolean | undefined>;

/** The `:name` parameters of a route, required where its path has some. */
type ParamsInput<R extends RouteName> = keyof RouteParams<R> extends never
  ? { params?: undefined }
  : { params: RouteParams<R> };

/** One call of a route of the table: its path parameters, its query, and a JSON `body` or `msgpack` bytes. */
export type CallInput<R extends RouteName> = ParamsInput<R> &
  Omit<RequestOptions, 'json' | 'query'> & { query?: QueryInput; body?: unknown };

/** A streamed call of a route of the table (artifact transfers). */
type StreamCallInput<R extends RouteName> = ParamsInput<R> &
  Omit<StreamRequestOptions, 'query'> & { query?: QueryInput };

/** The input argument of a call: optional where the route has no path parameters. */
export type CallArgs<R extends RouteName, I> = keyof RouteParams<R> extends never ? [input?: I] : [input: I];

/** What the retry loop reads of an answer: fetch's `Response` and `StreamResponse` both have it. */
interface Answer {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The 2xx answer to a streamed request, its body unread: a Node stream of the bytes as they arrive. */
export class StreamResponse implements Answer {
  readonly body: IncomingMessage;

  constructor(body: IncomingMessage) {
    this.body = body;
  }

  get status(): number {
    return this.body.statusCode ?? 0;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  readonly headers = {
    get: (name: string): string | null => {
      const value = this.body.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };

  /** The whole body, in an ArrayBuffer of its own (as views of typed arrays need). */
  async bytes(): Promise<Uint8Array> {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of this.body) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return bytes;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }
}

/**
 * Writes a streamed body with at most two chunks in flight: the next chunk is made while one goes out, and the
 * one before that has reached the socket, so memory stays bounded and a body may reuse its buffers.
 */
async function sendBody(req: ClientRequest, body: AsyncIterable<Uint8Array>): Promise<void> {
  const closed = new Promise<never>((_, reject) =>
    req.once('close', () => reject(new Error('the request closed before its body was sent'))),
  );
  closed.catch(() => {});
  const write = (chunk: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      req.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
  let previous: Promise<void> | null = null;
  for await (const chunk of body) {
    const written = write(chunk);
    written.catch(() => {});
    if (previous) await Promise.race([previous, closed]);
    previous = written;
  }
  if (previous) await Promise.race([previous, closed]);
  req.end();
}

/**
 * One streamed exchange over node:http(s). Streams skip `fetch`: its web streams cost 30–100% more CPU per
 * byte at each end of a transfer, and an artifact transfer on a busy node is bound by CPU. The answer comes as
 * soon as its head does, even while the body is still being sent (a server may refuse early); an error from the
 * body itself (a file that changed as it was read) ends a request not yet answered with that error.
 */
function exchange(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: Uint8Array | AsyncIterable<Uint8Array> | undefined,
  signal: AbortSignal | undefined,
): Promise<StreamResponse> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method, headers });
    let answer: IncomingMessage | undefined;
    // An abort ends the request, or the body of its answer, with the signal's reason as the error.
    const abort = () => {
      req.destroy(signal?.reason);
      answer?.destroy(signal?.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
    req.once('close', () => {
      if (!answer) signal?.removeEventListener('abort', abort);
    });
    req.once('response', (res) => {
      answer = res;
      res.once('close', () => signal?.removeEventListener('abort', abort));
      resolve(new StreamResponse(res));
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else {
      sendBody(req, body).catch((error: unknown) => {
        // Once answered (a refusal that came early), the answer is what counts: leave it to be read.
        if (answer) return;
        req.destroy(error as Error);
        reject(error);
      });
    }
  });
}

function stringQuery(query: QueryInput): Record<string, string | number | undefined> {
  const out: Record<string, string | number | undefined> = {};
  for (const [k, v] of Object.entries(query)) out[k] = typeof v === 'boolean' ? String(v) : v;
  return out;
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

  /** For a 401 sent without a token: where one comes from, as the CLI says when it has none. */
  #noTokenHint(): string {
    if (this.#headers.authorization) return '';
    const url = this.#base.slice(0, -API_PREFIX.length);
    return `; no token found for ${url}: run 'simscope login --url ${url}', set SIMSCOPE_TOKEN, or pass { token }`;
  }

  /** The per-request time limit in ms; streams use it as the longest wait for their next chunk. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * Calls one route of the protocol's table: the path is built from the route and `params`, the query and body
   * go where the route takes them, and the answer has the route's type (the raw bytes when `accept` is msgpack).
   * @example const run = await transport.call('getRun', { params: { run: 'cavity-1' } });
   */
  call<R extends RouteName>(
    route: R,
    input: CallInput<R> & { accept: typeof MSGPACK_TYPE },
  ): Promise<Uint8Array>;
  call<R extends RouteName>(route: R, ...args: CallArgs<R, CallInput<R>>): Promise<RouteResponse<R>>;
  call(route: RouteName, input: CallInput<RouteName> = {}): Promise<unknown> {
    const { params, query, body, ...options } = input;
    return this.request(ROUTES[route].method, pathOf(ROUTES[route], params ?? {}), {
      ...options,
      query: query && stringQuery(query),
      json: body,
    });
  }

  /** Calls a route whose body or answer is a stream, and returns the 2xx answer with its body unread. */
  streamCall<R extends RouteName>(
    route: R,
    ...[input]: CallArgs<R, StreamCallInput<R>>
  ): Promise<StreamResponse> {
    const { params, query, ...options } = (input ?? {}) as StreamCallInput<RouteName>;
    return this.stream(ROUTES[route].method, pathOf(ROUTES[route], params ?? {}), {
      ...options,
      query: query && stringQuery(query),
    });
  }

  /**
   * Sends one request and returns the decoded answer (JSON, or the raw bytes for msgpack). The low-level form
   * of `call`, for a path the caller already holds.
   */
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
      exchange: (url, all) => {
        if (options.beforeTry) {
          options.beforeTry();
          if (!options.msgpack) body = JSON.stringify(options.json);
        }
        return fetch(url, { method, headers: all, body, signal: AbortSignal.timeout(this.#timeoutMs) });
      },
      retryable:
        options.idempotent ?? (method === 'GET' || method === 'HEAD' || options.idempotencyKey !== undefined),
      retries: options.retries,
      retryNetworkErrors: options.retryNetworkErrors,
    });
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('content-type') ?? '';
    return (type.includes(MSGPACK_TYPE) ? new Uint8Array(await res.arrayBuffer()) : await res.json()) as T;
  }

  /** The low-level form of `streamCall`: sends a request whose body or answer is a stream, and returns the 2xx answer with its body unread. */
  stream(method: string, path: string, options: StreamRequestOptions = {}): Promise<StreamResponse> {
    const headers = { ...options.headers };
    if (options.length !== undefined) headers['content-length'] = String(options.length);
    return this.#send(method, path, {
      query: options.query,
      headers,
      exchange: (url, all) => exchange(method, url, all, options.body?.(), options.signal),
      retryable: options.idempotent ?? method === 'GET',
      signal: options.signal,
    });
  }

  async #send<A extends Answer>(
    method: string,
    path: string,
    options: {
      query: Record<string, string | number | undefined> | undefined;
      headers: Record<string, string>;
      /** Makes one try. */
      exchange: (url: URL, headers: Record<string, string>) => Promise<A>;
      retryable: boolean;
      /** The caller's own signal: once it fires, no more tries. */
      signal?: AbortSignal | undefined;
      retries?: Partial<RetryOptions> | undefined;
      retryNetworkErrors?: boolean | undefined;
    },
  ): Promise<A> {
    const url = new URL(`${this.#base}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers = { ...this.#headers, ...options.headers };
    const retryable = options.retryable;
    const retries = options.retries ? { ...this.#retries, ...options.retries } : this.#retries;
    for (let attempt = 0; ; attempt++) {
      let wait: number | undefined;
      try {
        const res = await options.exchange(url, headers);
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
          `${method} ${path}: ${res.status} ${error.message ?? text.slice(0, 200)}${res.status === 401 ? this.#noTokenHint() : ''}`,
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
