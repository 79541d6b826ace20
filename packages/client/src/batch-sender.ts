import { join } from 'node:path';
import { type EventLevel, float64Bytes, int64Bytes, LIMITS } from '@simscope/protocol';
import { clockMicros, withoutClock, writeClock } from './batch-clock.js';
import { ClientError } from './errors.js';
import type { HttpTransport } from './http-transport.js';
import type { DrainedSeries, MetricQueue } from './metric-queue.js';
import { MsgpackWriter } from './msgpack-writer.js';
import { retireSpool, type SpoolMeta, type SpoolRecordKind, SpoolWriter, spoolRecords } from './spool.js';
import { isTransient, sendRecord } from './spool-upload.js';

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
  /** Events refused because the event queue was full (`queueBlocking: false`). */
  droppedEvents: number;
  /** Points and events the server refused for good (a 4xx), or that could be neither sent nor spooled. */
  failedPoints: number;
  failedEvents: number;
  /** Points and events in the on-disk spool, waiting for the server (see `spoolDir`). */
  spooledPoints: number;
  spooledEvents: number;
}

/** Where the sender keeps what the server cannot take now. */
export interface SenderSpool {
  /** The spool directory root. */
  root: string;
  meta: SpoolMeta;
  /** Never contact the server: everything goes to the spool (`mode: 'offline'`). */
  offline: boolean;
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
  /** Send `clock` with each batch (see `RunConfig.sendClock`). */
  sendClock: boolean;
  spool: SenderSpool;
  /** Records to spool before anything else (the run's `create` when the server could not be reached). */
  initial?: { kind: SpoolRecordKind; body: Uint8Array }[];
  onError(error: unknown): void;
}

const encoder = new TextEncoder();
const jsonBytes = (value: unknown) => encoder.encode(JSON.stringify(value));
const PROBE_MIN_MS = 250;
const MAX_IN_FLIGHT = 2;
const PROBE_MAX_MS = 10_000;

function slice(series: DrainedSeries, start: number, end: number): DrainedSeries {
  return {
    name: series.name,
    values: series.values.subarray(start, end),
    times: series.times.subarray(start, end),
    steps: series.steps?.subarray(start, end) ?? null,
    stepStart: series.stepStart + start,
    timestamps: series.timestamps?.subarray(start, end) ?? null,
    timestampOrigin: series.timestampOrigin,
  };
}

/** Cuts series into batches of at most `size` points, splitting a long series where needed. */
export function cutBatches(series: readonly DrainedSeries[], size: number): DrainedSeries[][] {
  const batches: DrainedSeries[][] = [];
  let current: DrainedSeries[] = [];
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
    chars += (events[i]?.message.length ?? 0) + 64;
    if (chars > EVENT_BATCH_CHARS) return Math.max(1, i);
  }
  return most;
}

/**
 * The msgpack body of a metric batch (see docs/api.md), written straight into one buffer: each column is copied
 * once, from the queue into the body. Steps that count up go as `stepStart`, and timestamps that follow from
 * the times as `timestampOrigin`. Its `clock` is `clockMicros()` now; the sender stamps it again at each try.
 */
export function encodeMetricBatch(writer: string, seq: number, series: readonly DrainedSeries[]): Uint8Array {
  let size = 80 + 3 * writer.length;
  for (const s of series) {
    const n = s.values.length;
    size += 128 + 3 * s.name.length + 16 * n + (s.steps ? 8 * n : 0) + (s.timestamps ? 8 * n : 0);
  }
  const w = new MsgpackWriter(size);
  w.map(4);
  writeClock(w);
  w.str('writer');
  w.str(writer);
  w.str('seq');
  w.uint(seq);
  w.str('series');
  w.array(series.length);
  for (const s of series) {
    w.map(5);
    w.str('name');
    w.str(s.name);
    w.str('values');
    w.bin(float64Bytes(s.values));
    w.str('times');
    w.bin(float64Bytes(s.times));
    if (s.steps) {
      w.str('steps');
      w.bin(int64Bytes(s.steps));
    } else {
      w.str('stepStart');
      w.uint(s.stepStart);
    }
    if (s.timestamps) {
      w.str('timestamps');
      w.bin(int64Bytes(s.timestamps));
    } else {
      w.str('timestampOrigin');
      w.float64(s.timestampOrigin);
    }
  }
  return w.bytes();
}

interface Outgoing {
  kind: SpoolRecordKind;
  body: Uint8Array;
  /** What to spool instead of `body`, when sent later: a change that says when it happened. */
  later?: Uint8Array;
  points: number;
  events: number;
}

/**
 * Sends queued metrics and events in the background, in order, one request at a time: by size (`notify`) and
 * by time (an unref'd timer). Every batch carries (writer, seq), so the transport's retries never duplicate.
 * When the server cannot be reached, batches go to the run's on-disk spool; while the spool holds anything,
 * every new batch joins it there (order is kept), and each round first tries to send the spool, backing off.
 */
export class BatchSender {
  readonly #config: SenderConfig;
  readonly #events: QueuedEvent[] = [];
  readonly stats: SendStats = {
    sentPoints: 0,
    sentEvents: 0,
    droppedPoints: 0,
    droppedEvents: 0,
    failedPoints: 0,
    failedEvents: 0,
    spooledPoints: 0,
    spooledEvents: 0,
  };
  #seq = 0;
  #chain: Promise<unknown> = Promise.resolve();
  readonly #inFlight = new Set<Promise<void>>();
  #scheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #spool: SpoolWriter | undefined;
  /** Offset of the first spooled record not yet sent, and the counts of those records in order. */
  #replayFrom = 0;
  readonly #pending: { points: number; events: number }[] = [];
  #probeAt = 0;
  #probeDelay = PROBE_MIN_MS;

  constructor(config: SenderConfig) {
    this.#config = config;
    for (const record of config.initial ?? []) this.#append({ ...record, points: 0, events: 0 });
    this.#timer = setInterval(() => this.#schedule(), config.flushIntervalMs);
    this.#timer.unref();
  }

  /** True while records wait in the spool (the server was unreachable, or the run is offline). */
  get spooling(): boolean {
    return this.#spool !== undefined;
  }

  /** The run's spool directory, once anything was spooled. */
  get spoolDir(): string | undefined {
    return this.#spool?.dir;
  }

  /** Events waiting to be sent. */
  get queuedEvents(): number {
    return this.#events.length;
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

  /**
   * Moves everything queued to the spool now, on the caller's time: what a full queue does with
   * `queueBlocking`, so that no point is dropped and memory stays bounded.
   */
  spill(): void {
    for (const out of this.#drain()) this.#append(out);
  }

  #schedule(): void {
    this.#scheduled = false;
    if (this.#config.queue.size === 0 && this.#events.length === 0 && this.#spool === undefined) return;
    this.#chain = this.#chain.then(() => this.#round()).catch((error) => this.#config.onError(error));
  }

  /** Drains the queue and the events into encoded batches. */
  #drain(): Outgoing[] {
    const { queue, writer, batchPoints, startClock, sendClock } = this.#config;
    const out: Outgoing[] = [];
    if (queue.size > 0) {
      for (const batch of cutBatches(queue.drain(startClock), batchPoints)) {
        let points = 0;
        for (const s of batch) points += s.values.length;
        const body = encodeMetricBatch(writer, this.#seq++, batch);
        out.push({ kind: 'metrics', body: sendClock ? body : withoutClock(body), points, events: 0 });
      }
    }
    while (this.#events.length > 0) {
      const events = this.#events.splice(0, eventBatchSize(this.#events));
      out.push({
        kind: 'events',
        body: jsonBytes({ writer, seq: this.#seq++, events }),
        points: 0,
        events: events.length,
      });
    }
    return out;
  }

  async #round(): Promise<void> {
    await this.#deliverQueued();
    if (this.#spool !== undefined) await this.#replay();
  }

  /**
   * Delivers what is queued. Metric batches go out up to `MAX_IN_FLIGHT` at a time, so the server ingests one
   * while the next is encoded and on the wire (the server orders points by step whatever order batches land in);
   * everything else waits for them, so events and run changes keep their order.
   */
  async #deliverQueued(): Promise<void> {
    for (const out of this.#drain()) {
      if (out.kind !== 'metrics' || this.#spool !== undefined || this.#config.spool.offline) {
        await this.#idle();
        await this.#deliver(out).catch((error) => this.#config.onError(error));
        continue;
      }
      while (this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight);
      const sending: Promise<void> = this.#deliver(out)
        .then(
          () => {},
          (error) => this.#config.onError(error),
        )
        .finally(() => this.#inFlight.delete(sending));
      this.#inFlight.add(sending);
    }
  }

  async #idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /** Sends one record now, or spools it when the spool is in use or the server cannot be reached. */
  async #deliver(out: Outgoing): Promise<unknown> {
    if (this.#spool !== undefined || this.#config.spool.offline) {
      this.#append(out);
      return undefined;
    }
    try {
      const answer = await sendRecord(this.#config.transport, this.#config.runId, out, {
        retryNetworkErrors: false,
        ...(this.#config.sendClock ? { clock: clockMicros } : {}),
      });
      this.#count(out, 'sent');
      return answer;
    } catch (error) {
      if (!isTransient(error)) {
        this.#count(out, 'failed');
        throw error;
      }
      this.#config.onError(
        new ClientError(
          'unavailable',
          `server unreachable (${(error as Error).message}); spooling to ${join(this.#config.spool.root, this.#config.runId)} until it is back`,
          0,
          { cause: error },
        ),
      );
      this.#append(out);
      return undefined;
    }
  }

  #count(out: { points: number; events: number }, as: 'sent' | 'failed'): void {
    if (as === 'sent') {
      this.stats.sentPoints += out.points;
      this.stats.sentEvents += out.events;
    } else {
      this.stats.failedPoints += out.points;
      this.stats.failedEvents += out.events;
    }
  }

  #append(out: Outgoing): void {
    try {
      this.#spool ??= SpoolWriter.open(this.#config.spool.root, this.#config.spool.meta);
      const body = out.later ?? (out.kind === 'metrics' ? withoutClock(out.body) : out.body);
      this.#spool.append(out.kind, body);
    } catch (error) {
      this.#count(out, 'failed');
      this.#config.onError(error);
      return;
    }
    this.#pending.push({ points: out.points, events: out.events });
    this.stats.spooledPoints += out.points;
    this.stats.spooledEvents += out.events;
  }

  /** Sends spooled records in order until one fails to reach the server; retires the spool when all did. */
  async #replay(): Promise<void> {
    const spool = this.#spool;
    if (!spool || this.#config.spool.offline || performance.now() < this.#probeAt) return;
    for (const record of spoolRecords(spool.dir, this.#replayFrom)) {
      const counts = this.#pending[0] ?? { points: 0, events: 0 };
      try {
        await sendRecord(this.#config.transport, this.#config.runId, record, { retries: { total: 0 } });
        this.#count(counts, 'sent');
      } catch (error) {
        if (isTransient(error)) {
          this.#probeAt = performance.now() + this.#probeDelay;
          this.#probeDelay = Math.min(this.#probeDelay * 2, PROBE_MAX_MS);
          return;
        }
        this.#count(counts, 'failed');
        this.#config.onError(error);
      }
      this.#pending.shift();
      this.stats.spooledPoints -= counts.points;
      this.stats.spooledEvents -= counts.events;
      this.#replayFrom = record.end;
    }
    this.#probeDelay = PROBE_MIN_MS;
    if (this.#replayFrom === spool.size) {
      spool.close();
      retireSpool(spool.dir);
      this.#spool = undefined;
      this.#replayFrom = 0;
    }
  }

  /**
   * Sends a run change (`patch`, `folder`) in order with the batches: the server's answer, or undefined when it
   * was spooled (as `later`, when given). A refusal (4xx) is thrown.
   */
  submit(kind: 'patch' | 'folder', body: unknown, later?: unknown): Promise<unknown> {
    const result = this.#chain.then(async () => {
      await this.#deliverQueued();
      await this.#idle();
      return this.#deliver({
        kind,
        body: jsonBytes(body),
        ...(later === undefined ? {} : { later: jsonBytes(later) }),
        points: 0,
        events: 0,
      });
    });
    this.#chain = result.catch(() => {});
    return result;
  }

  /** Sends everything queued so far and waits for it (what cannot be sent is spooled). */
  async flush(): Promise<SendStats> {
    this.#probeAt = 0;
    this.#schedule();
    await this.#chain;
    await this.#idle();
    return { ...this.stats };
  }

  /** Flushes, stops the timer and closes the spool, whose records stay on disk for `sync`. */
  async close(): Promise<SendStats> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const stats = await this.flush();
    this.#spool?.close();
    return stats;
  }
}
