import { spawnSync } from 'node:child_process';
import { TelemetryError } from './errors.js';

/** One HTTP request's worth of records for one service, ready to post (and to post again: it carries its seq). */
export interface PreparedBatch {
  /** Full URL of the service's ingest endpoint. */
  url: string;
  key: string;
  /** The service endpoint, for messages. */
  endpoint: string;
  body: string;
  count: number;
  attempts: number;
  /** Date.now() before which a retry waits. */
  notBefore: number;
}

/** What a send cycle made of queued calls: batches to post, calls that could not become records, calls left out. */
export interface BuildResult {
  batches: PreparedBatch[];
  failed: number;
  /** Calls a redaction hook chose not to send. */
  skipped: number;
}

/** Counters of a telemetry sender. */
export interface TelemetryStats {
  /** Calls recorded and not yet acknowledged by the server (queued, in flight, or waiting to retry). */
  pending: number;
  /** Records the server acknowledged. */
  sent: number;
  /** Calls not recorded because the queue was full. */
  dropped: number;
  /** Records given up: refused by the server, with no destination, or still unsent when time ran out at exit. */
  failed: number;
}

export interface SenderConfig<S> {
  /** Most calls held at once, queued or in unacknowledged batches; further calls are dropped and counted. */
  queueSize: number;
  /** Calls per send cycle, and so the most records in one request. */
  batchSize: number;
  flushIntervalMs: number;
  requestTimeoutMs: number;
  /** Time the process may spend at exit sending what is left. */
  exitTimeoutMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Turns queued calls into batches; runs off the caller's path, and must not throw. */
  build(sites: S[], args: unknown[][], times: number[]): BuildResult;
  onError(error: TelemetryError): void;
  /** Flush at `beforeExit` and, for `process.exit()` and crashes, synchronously at `exit`. */
  exitHooks: boolean;
}

const MAX_BACKOFF_MS = 30_000;

// Posts the batches given on stdin, each once, and exits; what `exit` runs when the event loop is gone.
const EXIT_SENDER = `
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c)).on('end', async () => {
  const { timeoutMs, batches } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const signal = AbortSignal.timeout(timeoutMs);
  await Promise.allSettled(batches.map((b) => fetch(b.url, { method: 'POST', headers: b.headers, body: b.body, signal })
    .then((r) => { if (r.ok) process.stdout.write(b.count + '\\n'); return r.arrayBuffer(); })));
  process.exit(0);
});
`;

/**
 * Holds recorded calls and posts them in batches off the caller's path: `push` only appends to arrays; building
 * records, HTTP, retries with backoff and the flush at exit all happen later, and no failure reaches the caller.
 */
export class BatchSender<S> {
  readonly #config: SenderConfig<S>;
  #sites: S[] = [];
  #args: unknown[][] = [];
  #times: number[] = [];
  /** Built batches waiting for their turn (or their retry time). */
  #ready: PreparedBatch[] = [];
  readonly #inFlight = new Set<PreparedBatch>();
  #pending = 0;
  #sent = 0;
  #dropped = 0;
  #failed = 0;
  #timer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #due = false;
  #waiters: (() => void)[] = [];
  #abort = new AbortController();
  /** At exit: one try per batch, no backoff. */
  #exiting = false;
  #exitDeadline: number | undefined;
  #hooked = false;
  #closed = false;
  readonly #reported = new Set<string>();

  constructor(config: SenderConfig<S>) {
    this.#config = config;
  }

  /** Queues one call; the only work done on the caller's path. */
  push(site: S, args: unknown[]): void {
    if (this.#pending >= this.#config.queueSize || this.#closed) {
      this.#dropped++;
      return;
    }
    this.#sites.push(site);
    this.#args.push(args);
    this.#times.push(Date.now());
    this.#pending++;
    if (this.#sites.length >= this.#config.batchSize) {
      if (this.#immediate === undefined) this.#immediate = setImmediate(this.#onDue).unref();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#onDue, this.#config.flushIntervalMs).unref();
    }
    if (!this.#hooked) this.#hook();
  }

  stats(): TelemetryStats {
    return { pending: this.#pending, sent: this.#sent, dropped: this.#dropped, failed: this.#failed };
  }

  /** Sends everything queued; resolves when all is acknowledged or given up, or after `timeoutMs`. Never rejects. */
  async flush(timeoutMs = Number.POSITIVE_INFINITY): Promise<TelemetryStats> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending > 0 && Date.now() < deadline) {
      this.#due = true;
      this.#pump();
      if (this.#pending === 0) break;
      await this.#progress(deadline - Date.now());
    }
    return this.stats();
  }

  /** Flushes for at most `timeoutMs`, then gives up what is left, stops the timers and removes the exit hooks. */
  async close(timeoutMs: number): Promise<TelemetryStats> {
    if (!this.#closed) {
      await this.flush(timeoutMs);
      this.#closed = true;
      this.#giveUp();
      this.#unhook();
    }
    return this.stats();
  }

  readonly #onDue = (): void => {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#due = true;
    this.#pump();
  };

  #build(): void {
    const { batchSize } = this.#config;
    while (this.#sites.length > 0) {
      const n = Math.min(batchSize, this.#sites.length);
      const sites = this.#sites.length === n ? this.#sites : this.#sites.slice(0, n);
      const args = this.#args.length === n ? this.#args : this.#args.slice(0, n);
      const times = this.#times.length === n ? this.#times : this.#times.slice(0, n);
      if (sites === this.#sites) {
        this.#sites = [];
        this.#args = [];
        this.#times = [];
      } else {
        this.#sites = this.#sites.slice(n);
        this.#args = this.#args.slice(n);
        this.#times = this.#times.slice(n);
      }
      let result: BuildResult;
      try {
        result = this.#config.build(sites, args, times);
      } catch (error) {
        result = { batches: [], failed: n, skipped: 0 };
        this.#report(new TelemetryError('internal', `building records failed: ${(error as Error).message}`));
      }
      this.#pending -= result.failed + result.skipped;
      this.#failed += result.failed;
      for (const batch of result.batches) this.#ready.push(batch);
    }
  }

  #pump(): void {
    if (this.#due && this.#sites.length > 0) {
      this.#due = false;
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      this.#build();
    }
    const now = Date.now();
    let wait = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.#ready.length && this.#inFlight.size < this.#config.concurrency; ) {
      const batch = this.#ready[i];
      if (!batch) break;
      if (batch.notBefore > now && !this.#exiting) {
        wait = Math.min(wait, batch.notBefore - now);
        i++;
        continue;
      }
      this.#ready.splice(i, 1);
      this.#send(batch);
    }
    if (wait !== Number.POSITIVE_INFINITY && this.#retryTimer === undefined) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#pump();
        this.#notify();
      }, wait).unref();
    }
  }

  #send(batch: PreparedBatch): void {
    this.#inFlight.add(batch);
    this.#post(batch)
      .then((outcome) => {
        this.#inFlight.delete(batch);
        if (outcome === 'sent') {
          this.#pending -= batch.count;
          this.#sent += batch.count;
        } else if (outcome === 'retry' && !this.#exiting && !this.#closed) {
          batch.attempts++;
          batch.notBefore = Date.now() + Math.min(MAX_BACKOFF_MS, 250 * 2 ** batch.attempts);
          this.#ready.push(batch);
        } else {
          this.#pending -= batch.count;
          this.#failed += batch.count;
        }
        this.#pump();
        this.#notify();
      })
      .catch(() => undefined);
  }

  async #post(batch: PreparedBatch): Promise<'sent' | 'retry' | 'failed'> {
    let response: Response;
    try {
      response = await fetch(batch.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${batch.key}` },
        body: batch.body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#config.requestTimeoutMs)]),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      this.#report(
        new TelemetryError(
          'unavailable',
          `service '${batch.endpoint}': cannot reach ${batch.url} (${cause})`,
          {
            cause: error,
          },
        ),
      );
      return 'retry';
    }
    let text = '';
    try {
      text = await response.text();
    } catch {
      // the status is what counts
    }
    if (response.ok) return 'sent';
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      this.#report(
        new TelemetryError('unavailable', `service '${batch.endpoint}': server answered ${response.status}`),
      );
      return 'retry';
    }
    let code: TelemetryError['code'] = 'bad_request';
    let message = text.slice(0, 500);
    try {
      const body = JSON.parse(text) as { error?: { code?: TelemetryError['code']; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not a Simscope error body
    }
    this.#report(
      new TelemetryError(code, `service '${batch.endpoint}': server refused records: ${message}`, {
        details: { status: response.status, records: batch.count },
      }),
    );
    return 'failed';
  }

  #progress(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.min(Math.max(0, timeoutMs), 2 ** 31 - 1));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Reports each distinct problem once, so a server that stays down does not flood `onError`. */
  #report(error: TelemetryError): void {
    if (this.#reported.has(error.message)) return;
    if (this.#reported.size > 100) this.#reported.clear();
    this.#reported.add(error.message);
    try {
      this.#config.onError(error);
    } catch {
      // a failing hook must not reach the caller either
    }
  }

  #giveUp(): void {
    this.#abort.abort();
    this.#failed += this.#pending;
    this.#pending = 0;
    this.#sites = [];
    this.#args = [];
    this.#times = [];
    this.#ready = [];
    this.#inFlight.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = this.#retryTimer = this.#immediate = undefined;
  }

  #hook(): void {
    this.#hooked = true;
    if (!this.#config.exitHooks) return;
    process.on('beforeExit', this.#onBeforeExit);
    process.on('exit', this.#onExit);
  }

  #unhook(): void {
    process.off('beforeExit', this.#onBeforeExit);
    process.off('exit', this.#onExit);
  }

  // The event loop is empty (only our unref'd timers remain): send what is left, one try per batch.
  readonly #onBeforeExit = (): void => {
    if (this.#pending === 0 || this.#exitDeadline !== undefined) return;
    this.#exiting = true;
    this.#exitDeadline = Date.now() + this.#config.exitTimeoutMs;
    void this.flush(this.#config.exitTimeoutMs).then(() => {
      if (this.#pending > 0) this.#giveUp();
    });
  };

  // `process.exit()` or a crash: no event loop any more, so a short-lived child process posts what is left.
  readonly #onExit = (): void => {
    if (this.#pending === 0 || this.#closed) return;
    const left = (this.#exitDeadline ?? Date.now() + this.#config.exitTimeoutMs) - Date.now();
    const pending = this.#pending;
    if (left < 50) {
      this.#giveUp();
      return;
    }
    this.#build();
    const batches = [...this.#inFlight, ...this.#ready];
    this.#giveUp();
    this.#failed -= pending;
    let acknowledged = 0;
    try {
      const result = spawnSync(process.execPath, ['-e', EXIT_SENDER], {
        input: JSON.stringify({
          timeoutMs: left,
          batches: batches.map((b) => ({
            url: b.url,
            count: b.count,
            body: b.body,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${b.key}` },
          })),
        }),
        timeout: left + 200,
        stdio: ['pipe', 'pipe', 'ignore'],
        encoding: 'utf8',
      });
      for (const line of (result.stdout ?? '').split('\n')) acknowledged += Number(line) || 0;
    } catch {
      // nothing more can be done at exit
    }
    this.#sent += acknowledged;
    this.#failed += pending - acknowledged;
  };
}
