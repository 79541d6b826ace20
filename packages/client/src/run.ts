import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import {
  type AlertCreateInput,
  type AlertState,
  type AlertUpdateInput,
  type AlertView,
  type ArtifactCategory,
  type Json,
  type RunAlertView,
  type RunStatus,
  timestampMicros,
} from '@simscope/protocol';
import {
  ArraySender,
  type HistogramInput,
  histogramArray,
  type LogArrayOptions,
  type LogHistogramOptions,
  type NumericArray,
  pendingArray,
} from './arrays.js';
import { checkCategory } from './artifact-names.js';
import { type ArtifactInfo, type SaveManyOptions, type SaveOptions, uploadFile } from './artifacts.js';
import { BatchSender, type SendStats } from './batch-sender.js';
import { noTokenError, type ResolvedConnection, resolveConfig } from './config.js';
import { ClientError } from './errors.js';
import { HttpTransport } from './http-transport.js';
import { captureConsole, eventStream, type LogCaptureOptions } from './log-capture.js';
import { MetricQueue } from './metric-queue.js';
import { eventText, heartbeatTimeoutOf, saveOptions } from './run-arguments.js';
import { uploadMany, uploadObject } from './run-artifacts.js';
import {
  type CloseResult,
  checkRunConfig,
  type EventOptions,
  type InitOptions,
  type MetricOptions,
  RUN_DEFAULTS,
  type RunConfig,
} from './run-options.js';
import { joinMpiJob, publishRunId, type ReconnectOptions, takeUpRun } from './run-segments.js';
import { closedUnstarted, droppedWarnings, spooledNotice, spoolFor, systemInfo } from './run-support.js';
import { newRunId, type SpoolRecordKind } from './spool.js';
import { isTransient } from './spool-upload.js';

/** Bytes of logged arrays a run holds while they wait to be sent. */
const ARRAY_QUEUE_BYTES = 256 * 1024 * 1024;

type RunAnswer = { id: string; name: string | null; status: RunStatus };

function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * A simulation run: metadata, tags, metrics and events logged in the background so that logging never
 * slows or stops the simulation.
 * @example
 * const run = await new Run().init({ name: 'cavity-re100', metadata: { re: 100 } });
 * for (let step = 0; step < 1000; step++) run.logMetrics({ residual: solve() });
 * await run.close();
 */
export class Run implements AsyncDisposable {
  #config: RunConfig = { ...RUN_DEFAULTS };
  #transport: HttpTransport | undefined;
  #connection: ResolvedConnection | undefined;
  #sender: BatchSender | undefined;
  #queue = new MetricQueue(RUN_DEFAULTS.queueSize);
  #startClock = 0;
  #id: string | null = null;
  #name: string | null = null;
  #status: RunStatus | null = null;
  #heartbeat: NodeJS.Timeout | undefined;
  #aborted = false;
  #closing: Promise<CloseResult> | undefined;
  #dropped = 0;
  #droppedEvents = 0;
  #arrays: ArraySender | undefined;
  #rank: number | null = null;
  readonly #writer = `w-${randomBytes(6).toString('hex')}`;

  /** The server's id of this run, once `init` succeeded. */
  get id(): string | null {
    return this.#id;
  }

  get name(): string | null {
    return this.#name;
  }

  /** Points waiting to be sent, and the bytes their columns take (spare room included). */
  get queued(): { points: number; bytes: number } {
    return { points: this.#queue.size, bytes: this.#queue.allocatedBytes };
  }

  /** True once an abort was requested for this run. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Sets logging options; call before `init`. Throws on a size or interval that cannot work. */
  config(options: Partial<RunConfig>): this {
    checkRunConfig(options);
    this.#config = { ...this.#config, ...options };
    this.#queue = new MetricQueue(this.#config.queueSize);
    return this;
  }

  #fail(error: unknown): void {
    if (!this.#config.suppressErrors) throw error;
    this.#config.onError(error);
  }

  #connect(): HttpTransport {
    const resolved = resolveConfig(this.#config);
    this.#connection = resolved;
    if (!resolved.token && this.#config.mode !== 'offline') throw noTokenError(resolved);
    return new HttpTransport({ ...resolved, retries: this.#config.retries });
  }

  /**
   * Creates the run and starts the sender. Every argument is optional. When the server cannot be reached (or with
   * `mode: 'offline'`) the run starts in the spool instead, and reaches the server when it is back or at `sync`.
   */
  async init(options: InitOptions = {}): Promise<this> {
    try {
      const transport = this.#connect();
      const mpi = await joinMpiJob(this.#config, this.#queue);
      this.#rank = mpi?.rank ?? null;
      if (mpi?.runId) {
        this.#start(transport, await takeUpRun(transport, mpi.runId, { newSegment: false }));
        return this;
      }
      const system = this.#config.systemInfo ? await systemInfo() : undefined;
      const { running, heartbeatTimeout, ...fields } = options;
      const body = {
        id: newRunId(),
        ...fields,
        heartbeatTimeout: heartbeatTimeoutOf(heartbeatTimeout, this.#config.heartbeatIntervalMs),
        status: running === false ? 'created' : 'running',
        ...(system ? { system } : {}),
      } as const;
      const spooled = { id: body.id, name: options.name ?? null, status: body.status };
      // Only a run created later says when it began; a live create takes the server's clock.
      const later = { kind: 'create' as const, body: { ...body, createdAt: nowMicros() } };
      if (this.#config.mode === 'offline') {
        this.#start(transport, spooled, later);
        return this;
      }
      try {
        const created = await transport.call('createRun', { body, idempotent: true });
        this.#start(transport, created);
        if (mpi) publishRunId(mpi, created.id);
      } catch (error) {
        if (!isTransient(error)) throw error;
        this.#config.onError(spooledNotice(error, body.id));
        this.#start(transport, spooled, later);
      }
    } catch (error) {
      this.#fail(error);
    }
    return this;
  }

  /** Takes up a run: a restarting job appends a segment, a `created` run starts, a running one is attached to. */
  static async reconnect(runId: string, options: Partial<RunConfig> & ReconnectOptions = {}): Promise<Run> {
    const { rewindTo, jobId, host, newSegment, ...config } = options;
    const run = new Run().config(config);
    try {
      const transport = run.#connect();
      run.#start(transport, await takeUpRun(transport, runId, { rewindTo, jobId, host, newSegment }));
    } catch (error) {
      run.#fail(error);
    }
    return run;
  }

  /** `reconnect` that always appends a segment: the next job of a run, restarting from step `rewindTo`. */
  static resume(runId: string, options: Partial<RunConfig> & ReconnectOptions = {}): Promise<Run> {
    return Run.reconnect(runId, { ...options, newSegment: true });
  }

  #start(
    transport: HttpTransport,
    run: RunAnswer,
    initial?: { kind: SpoolRecordKind; body: Record<string, unknown> },
  ): void {
    this.#transport = transport;
    this.#id = run.id;
    this.#name = run.name;
    this.#status = run.status;
    this.#startClock = performance.now();
    const connection = this.#connection;
    if (!connection) throw new Error('a run starts only after its connection is resolved');
    this.#sender = new BatchSender({
      transport,
      runId: run.id,
      writer: this.#writer,
      queue: this.#queue,
      startClock: this.#startClock,
      batchPoints: this.#config.batchPoints,
      flushIntervalMs: this.#config.flushIntervalMs,
      sendClock: this.#config.sendClock,
      spool: spoolFor(this.#config, run.id, connection, initial !== undefined, nowMicros()),
      initial: initial && [
        { kind: initial.kind, body: new TextEncoder().encode(JSON.stringify(initial.body)) },
      ],
      onError: (error) => this.#config.onError(error),
    });
    this.#heartbeat = setInterval(() => {
      this.#beat().catch((error) => this.#config.onError(error));
    }, this.#config.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  async #beat(): Promise<void> {
    if (!this.#transport || !this.#id || this.#closing || this.#sender?.spooling) return;
    const answer = await this.#transport.call('heartbeat', { params: { run: this.#id }, idempotent: true });
    if (answer.abort.requested && !this.#aborted) {
      this.#aborted = true;
      await this.#config.onAbort(this, answer.abort.reason);
    }
  }

  /** Checks now for an abort request (the heartbeat timer also does, every `heartbeatIntervalMs`). */
  async pollAbort(): Promise<boolean> {
    await this.#beat().catch((error) => this.#config.onError(error));
    return this.#aborted;
  }

  /**
   * Logs metric values for one step: `run.logMetrics({ loss: 0.1, lr: 1e-3 })`. Never waits for the network;
   * a point that finds the queue full is dropped and counted unless `queueBlocking` is set.
   */
  logMetrics(values: Record<string, number>, options?: MetricOptions): void {
    const sender = this.#sender;
    if (sender === undefined || this.#closing !== undefined) return;
    const clock = performance.now();
    const queue = this.#queue;
    const taken = options === undefined ? queue.pushAll(values, clock) : 0;
    if (taken !== -1) this.#logEach(sender, values, clock, options, taken);
    if (queue.size >= this.#config.batchPoints) sender.notify();
  }

  /** The slow path of `logMetrics`: options, values that are not numbers, a full queue. */
  #logEach(
    sender: BatchSender,
    values: Record<string, number>,
    clock: number,
    options: MetricOptions | undefined,
    skip: number,
  ): void {
    const queue = this.#queue;
    let timestamp = Number.NaN;
    try {
      if (options?.timestamp !== undefined) {
        timestamp = timestampMicros(options.timestamp, 'logMetrics options.timestamp');
      }
    } catch (error) {
      this.#fail(error);
      return;
    }
    let index = 0;
    for (const name in values) {
      if (index++ < skip) continue;
      const value = values[name];
      if (typeof value !== 'number') {
        this.#fail(
          new ClientError('invalid_field', `metric '${name}': expected a number, got ${typeof value}`, 0),
        );
        continue;
      }
      if (queue.full) {
        if (!this.#config.queueBlocking) {
          this.#dropped++;
          continue;
        }
        sender.spill();
      }
      queue.pushWith(name, value, clock, options?.step ?? Number.NaN, options?.time ?? Number.NaN, timestamp);
    }
    if (queue.full) sender.notify();
  }

  /**
   * Logs an event (a log line) with the time now or the one given. An `Error` is logged as its stack (its name
   * and message first), at level `error` unless told otherwise, as Simvue's `log_event(exc)`. When the event queue
   * holds `queueSize` events, the event is dropped and counted, or with `queueBlocking` the queue is spooled.
   */
  logEvent(message: string | Error, options: EventOptions = {}): void {
    const sender = this.#sender;
    if (sender === undefined || this.#closing !== undefined) return;
    let text: string;
    let timestamp: number;
    try {
      text = eventText(message);
      timestamp =
        options.timestamp === undefined
          ? nowMicros()
          : timestampMicros(options.timestamp, 'logEvent options.timestamp');
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (sender.queuedEvents >= this.#config.queueSize) {
      if (!this.#config.queueBlocking) {
        this.#droppedEvents++;
        return;
      }
      sender.spill();
    }
    sender.addEvent({
      message: text,
      level: options.level ?? (typeof message === 'string' ? 'info' : 'error'),
      timestamp,
    });
  }

  /**
   * A writable stream whose lines become events: pino's JSON lines keep their level, time and fields, other lines
   * are recorded at `info`.
   * @example
   * const logger = pino(pino.multistream([{ stream: process.stdout }, { stream: run.logStream() }]));
   */
  logStream(options: LogCaptureOptions = {}): Writable {
    return eventStream(this, options);
  }

  /** Records what `console.log/info/warn/error/debug` print as events until the returned function is called. */
  captureConsole(options: LogCaptureOptions = {}): () => void {
    return captureConsole(this, options);
  }

  async #patch(body: { status?: RunStatus } & Record<string, unknown>): Promise<void> {
    if (!this.#sender) return;
    try {
      const updated = (await this.#sender.submit(
        'patch',
        body,
        body.status ? { ...body, statusAt: nowMicros() } : undefined,
      )) as RunAnswer | undefined;
      this.#status = updated?.status ?? body.status ?? this.#status;
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Adds tags to the run's tags. */
  updateTags(tags: string[]): Promise<void> {
    return this.#patch({ addTags: tags });
  }

  /** Replaces the run's tags. */
  setTags(tags: string[]): Promise<void> {
    return this.#patch({ tags });
  }

  /** Merges metadata into the run's; a key set to null is removed. */
  updateMetadata(metadata: Record<string, Json>): Promise<void> {
    return this.#patch({ metadata });
  }

  /** Merges system information into the run's (a sidecar adds the program it runs); a key set to null is removed. */
  updateSystem(system: Record<string, Json>): Promise<void> {
    return this.#patch({ system });
  }

  /** Sets the status; `completed`, `failed` and `terminated` end the run (prefer `close`). */
  setStatus(status: RunStatus): Promise<void> {
    return this.#patch({ status });
  }

  /** Describes a folder (created if missing): metadata is merged, tags and description replaced. */
  async folderDetails(
    path: string,
    details: { metadata?: Record<string, Json>; tags?: string[]; description?: string },
  ): Promise<void> {
    if (!this.#sender) return;
    try {
      await this.#sender.submit('folder', { path, ...details });
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * Attaches an alert to the run, creating its definition or reusing the identical one of that name (a
   * different one of that name is an error). Durations are seconds. Resolves to the run's state for it.
   * @example
   * await run.addAlert({ name: 'loss diverging', metric: 'loss', rule: 'is above', threshold: 10,
   *   window: 60, frequency: 30, notification: 'email', abortOnCritical: true });
   */
  addAlert(alert: AlertCreateInput): Promise<RunAlertView | null> {
    return this.#callOrNull(true, (t, run) => t.call('attachAlert', { params: { run }, body: alert }));
  }

  /**
   * Changes fields of an alert definition by id or name (`null` removes one), for every run it is attached to:
   * what Simvue's `add_alert` with a new definition under an old name does. Durations are seconds or text.
   * @example
   * await run.updateAlert('loss diverging', { threshold: 20, window: '2m' });
   */
  updateAlert(name: string, changes: AlertUpdateInput): Promise<AlertView | null> {
    return this.#callOrNull(false, (t) => t.call('updateAlert', { params: { alert: name }, body: changes }));
  }

  /**
   * Sets the state of a user alert (one added with `source: 'user'`) on this run; a change is recorded and
   * notified like any alert's, and `critical` asks the run to abort when the alert says so.
   */
  logAlert(name: string, state: AlertState, message?: string): Promise<RunAlertView | null> {
    const body = message === undefined ? { state } : { state, message };
    return this.#callOrNull(true, (t, run) =>
      t.call('setAlertState', { params: { run, alert: name }, body, idempotent: true }),
    );
  }

  /** A call while the run is connected (and has its id, with `needsId`): null before, and null on failure. */
  async #callOrNull<T>(
    needsId: boolean,
    call: (transport: HttpTransport, run: string) => Promise<T>,
  ): Promise<T | null> {
    if (!this.#transport || (needsId && !this.#id)) return null;
    try {
      return await call(this.#transport, this.#id ?? '');
    } catch (error) {
      this.#fail(error);
      return null;
    }
  }

  /**
   * Logs one step of an array series (a 1-, 2- or 3-D field): `run.logArray('T', field, { step, shape: [ny, nx] })`.
   * The array is copied and sent in the background, never waiting for the network; its min, max and mean also
   * become metrics `T.min`, `T.max`, `T.mean`. Arrays are not spooled: see docs/fields.md.
   */
  logArray(name: string, array: NumericArray, options: LogArrayOptions): void {
    if (this.#closing !== undefined) return;
    try {
      const { transport, id } = this.#artifactTarget();
      const pending = pendingArray(name, array, options);
      this.#arrays ??= new ArraySender(transport, id, ARRAY_QUEUE_BYTES, (error) => this.#fail(error));
      this.#arrays.add(pending);
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * Logs a histogram for one step: raw values (binned here, `bins` per dimension), `{ x, y }` pairs for a 2-D one,
   * or `{ edges, counts }` already counted. Stored as an array of counts with the edges on its axes.
   */
  logHistogram(name: string, values: HistogramInput, options: LogHistogramOptions): void {
    try {
      const { counts, shape, axes } = histogramArray(values, options);
      this.logArray(name, counts, { step: options.step, time: options.time, shape, axes });
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Sends what is queued and waits for it, without ending the run. */
  async flush(): Promise<SendStats | null> {
    await this.#arrays?.flush();
    return this.#sender ? this.#sender.flush() : null;
  }

  /** Sends everything queued, then ends the run with `status` (default `completed`). */
  close(status: RunStatus = 'completed'): Promise<CloseResult> {
    this.#closing ??= this.#close(status);
    return this.#closing;
  }

  async #close(status: RunStatus): Promise<CloseResult> {
    clearInterval(this.#heartbeat);
    const sender = this.#sender;
    if (!sender) return closedUnstarted(this.#status, this.#dropped, this.#droppedEvents);
    const { queueSize } = this.#config;
    for (const warning of droppedWarnings(this.#dropped, this.#droppedEvents, queueSize, nowMicros())) {
      sender.addEvent(warning);
    }
    await this.#arrays?.flush();
    if (!this.#rank) await this.#patch({ status });
    const stats = await sender.close();
    return {
      ...stats,
      droppedPoints: this.#dropped,
      droppedEvents: this.#droppedEvents,
      status: this.#status,
    };
  }

  #artifactTarget(): { transport: HttpTransport; id: string } {
    if (!this.#transport || !this.#id) {
      throw new ClientError(
        'invalid_transition',
        'the run has no id yet: call init() before saving artifacts',
        0,
      );
    }
    return { transport: this.#transport, id: this.#id };
  }

  /**
   * Saves a file as an artifact, streamed with its sha256: `run.save('data.png', 'output')`. Its name is the
   * file's base name, or with `preservePath` its path as given (normalised); saving a name again replaces that
   * artifact. Simvue's positional form `run.save('in.lj', 'input', 'text/plain', true)` (MIME type, preserve
   * path) works too. Resolves to the artifact, or undefined when an error went to `onError`.
   */
  async save(
    path: string,
    category: ArtifactCategory,
    options: SaveOptions | string = {},
    preservePath?: boolean,
  ): Promise<ArtifactInfo | undefined> {
    try {
      const { transport, id } = this.#artifactTarget();
      // biome-ignore lint/complexity/noArguments: a fifth argument would be dropped silently otherwise
      const given = saveOptions('save', options, preservePath, arguments.length);
      return await uploadFile(transport, id, path, checkCategory(category), given);
    } catch (error) {
      this.#fail(error);
      return undefined;
    }
  }

  /**
   * Saves every file under a directory (subdirectories included; links to directories are not followed), with
   * one MIME type for all when `mimeType` is given. With `preservePath`, `system/controlDict` keeps its directory.
   */
  saveDirectory(
    dir: string,
    category: ArtifactCategory,
    options: SaveManyOptions | string = {},
    preservePath?: boolean,
  ): Promise<ArtifactInfo[]> {
    // biome-ignore lint/complexity/noArguments: a fifth argument would be dropped silently otherwise
    return this.#saveMany('saveDirectory', [dir], category, options, preservePath, arguments.length);
  }

  /** Saves a mix of files and directories, several at a time; refuses two files that would get the same name. */
  saveAll(
    paths: readonly string[],
    category: ArtifactCategory,
    options: SaveManyOptions | string = {},
    preservePath?: boolean,
  ): Promise<ArtifactInfo[]> {
    // biome-ignore lint/complexity/noArguments: a fifth argument would be dropped silently otherwise
    return this.#saveMany('saveAll', paths, category, options, preservePath, arguments.length);
  }

  async #saveMany(
    method: string,
    paths: readonly string[],
    category: ArtifactCategory,
    positional: SaveManyOptions | string,
    preservePath: boolean | undefined,
    count: number,
  ): Promise<ArtifactInfo[]> {
    try {
      const { transport, id } = this.#artifactTarget();
      checkCategory(category);
      const options = saveOptions(method, positional, preservePath, count);
      return await uploadMany(transport, id, paths, category, options);
    } catch (error) {
      this.#fail(error);
      return [];
    }
  }

  /**
   * Saves a value as an artifact: typed arrays as NumPy `.npy` (`application/x-npy`), Buffers and ArrayBuffers
   * as raw bytes, anything else as JSON. `client.getArtifactAsObject` reads it back.
   */
  async saveObject(
    value: unknown,
    category: ArtifactCategory,
    name: string,
    options: { metadata?: Record<string, Json> } = {},
  ): Promise<ArtifactInfo | undefined> {
    try {
      const { transport, id } = this.#artifactTarget();
      return await uploadObject(transport, id, value, { ...options, category, name });
    } catch (error) {
      this.#fail(error);
      return undefined;
    }
  }

  /** `await using run = …` closes the run when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
