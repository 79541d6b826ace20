import { type EventLevel, float64Bytes, int64Bytes, LIMITS, type MetricSeries } from '@simscope/protocol';
import { Packr } from 'msgpackr';
import type { HttpTransport } from './http-transport.js';
import type { MetricQueue } from './metric-queue.js';

const packr = new Packr({ useRecords: false });

export interface QueuedEvent {
  message: string;
  level: EventLevel;
  timestamp: number;
}

/** What the sender did, as `flush()` and `close()` report it. */
export interface SendStats {
  sentPoints: number;
  sentEvents: number;
  /** Points refused because the queue was full (`queueBlocking: false`). */
  droppedPoints: number;
  /** Points and events in batches that still failed after every retry. */
  failedPoints: number;
  failedEvents: number;
}

export interface SenderConfig {
  transport: HttpTransport;
  runId: string;
  writer: string;
  queue: MetricQueue;
  /** `performance.now()` at init: times are seconds since then. */
  startClock: number;
  /** Points per request. */
  batchPoints: number;
  flushIntervalMs: number;
  onError(error: unknown): void;
}

function slice(series: MetricSeries, start: number, end: number): MetricSeries {
  return {
    name: series.name,
    steps: series.steps?.subarray(start, end) ?? null,
    times: series.times?.subarray(start, end) ?? null,
    timestamps: series.timestamps?.subarray(start, end) ?? null,
    values: series.values.subarray(start, end),
  };
}

/** Cuts series into batches of at most `size` points, splitting a long series where needed. */
export function cutBatches(series: readonly MetricSeries[], size: number): MetricSeries[][] {
  const batches: MetricSeries[][] = [];
  let current: MetricSeries[] = [];
  let room = size;
  for (const s of series) {
    let start = 0;
    while (start < s.values.length) {
      const take = Math.min(room, s.values.length - start);
      current.push(start === 0 && take === s.values.length ? s : slice(s, start, start + take));
      start += take;
      room -= take;
      if (room === 0) {
        batches.push(current);
        current = [];
        room = size;
      }
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Message characters per event request, well under the server's default body limit. */
const EVENT_BATCH_CHARS = 8 * 1024 * 1024;

/** How many of the queued events go in the next request: at most the server's per-batch count and about 8 MiB. */
export function eventBatchSize(events: readonly QueuedEvent[]): number {
  let chars = 0;
  const most = Math.min(events.length, LIMITS.eventsPerBatch);
  for (let i = 0; i < most; i++) {
    chars += events[i]!.message.length + 64;
    if (chars > EVENT_BATCH_CHARS) return Math.max(1, i);
  }
  return most;
}

/** The binary msgpack body of a metric batch. */
export function encodeMetricBatch(writer: string, seq: number, series: readonly MetricSeries[]): Uint8Array {
  return packr.pack({
    writer,
    seq,
    series: series.map((s) => ({
      name: s.name,
      ...(s.steps ? { steps: int64Bytes(s.steps) } : {}),
      ...(s.times ? { times: float64Bytes(s.times) } : {}),
      ...(s.timestamps ? { timestamps: int64Bytes(s.timestamps) } : {}),
      values: float64Bytes(s.values),
    })),
  });
}

/**
 * Sends queued metrics and events in the background, in order, one request at a time: by size (`notify`) and
 * by time (an unref'd timer). Every batch carries (writer, seq), so the transport's retries never duplicate.
 */
export class BatchSender {
  readonly #config: SenderConfig;
  readonly #events: QueuedEvent[] = [];
  readonly stats: SendStats = {
    sentPoints: 0,
    sentEvents: 0,
    droppedPoints: 0,
    failedPoints: 0,
    failedEvents: 0,
  };
  #seq = 0;
  #chain: Promise<void> = Promise.resolve();
  #scheduled = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(config: SenderConfig) {
    this.#config = config;
    this.#timer = setInterval(() => this.#schedule(), config.flushIntervalMs);
    this.#timer.unref();
  }

  addEvent(event: QueuedEvent): void {
    this.#events.push(event);
  }

  /** Called when the queue reached a batch: sends soon, off the caller's path. */
  notify(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#schedule());
    }
  }

  #schedule(): void {
    this.#scheduled = false;
    if (this.#config.queue.size === 0 && this.#events.length === 0) return;
    this.#chain = this.#chain.then(() => this.#sendQueued());
  }

  async #sendQueued(): Promise<void> {
    const { queue, transport, runId, writer, batchPoints, startClock } = this.#config;
    const series = queue.drain(startClock);
    for (const batch of cutBatches(series, batchPoints)) {
      let points = 0;
      for (const s of batch) points += s.values.length;
      try {
        await transport.request('POST', `/runs/${runId}/metrics`, {
          msgpack: encodeMetricBatch(writer, this.#seq++, batch),
          idempotent: true,
        });
        this.stats.sentPoints += points;
      } catch (error) {
        this.stats.failedPoints += points;
        this.#config.onError(error);
      }
    }
    while (this.#events.length > 0) {
      const events = this.#events.splice(0, eventBatchSize(this.#events));
      try {
        await transport.request('POST', `/runs/${runId}/events`, {
          json: { writer, seq: this.#seq++, events },
          idempotent: true,
        });
        this.stats.sentEvents += events.length;
      } catch (error) {
        this.stats.failedEvents += events.length;
        this.#config.onError(error);
      }
    }
  }

  /** Sends everything queued so far and waits for it. */
  async flush(): Promise<SendStats> {
    this.#schedule();
    await this.#chain;
    return { ...this.stats };
  }

  /** Flushes and stops the timer. */
  async close(): Promise<SendStats> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return this.flush();
  }
}
