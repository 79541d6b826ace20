import type { DurationInput, EventLevel, Json, RunStatus, TimestampInput } from '@simscope/protocol';
import { LIMITS } from '@simscope/protocol';
import type { SendStats } from './batch-sender.js';
import type { ConnectionOptions } from './config.js';
import { ClientError } from './errors.js';
import type { RetryOptions } from './http-transport.js';
import type { Run } from './run.js';

/** Settings of a run's logging, set with `config()` before `init()`. */
export interface RunConfig extends ConnectionOptions {
  /** Errors go to `onError` and the simulation carries on (default); false: they are thrown. */
  suppressErrors: boolean;
  /**
   * When a queue is full: false drops the point or event and counts it (default); true never drops: what is
   * queued moves to the on-disk spool at once, on the caller's time (see README).
   */
  queueBlocking: boolean;
  /**
   * Metric points the metric queue holds, and events the event queue holds, before each is full. Simvue's
   * `queue_size` counts calls: one `logMetrics` of ten metrics is one item there and ten points here.
   */
  queueSize: number;
  /** Points per request to the server. */
  batchPoints: number;
  /** Longest wait before queued points are sent, in ms. */
  flushIntervalMs: number;
  /** Heartbeat and abort poll interval, in ms. */
  heartbeatIntervalMs: number;
  retries: Partial<RetryOptions>;
  onError(error: unknown): void;
  /** Called once when someone asks the run to abort; default: close the run as `terminated`. */
  onAbort(run: Run, reason: string | null): void | Promise<void>;
  /** Collects system info at init (host, CPU, GPUs, git…); false to skip. */
  systemInfo: boolean;
  /**
   * Sends this host's clock with each batch, so that the server shifts the timestamps of a node whose clock is
   * off (default); false when the timestamps logged come from another clock (data recorded elsewhere).
   */
  sendClock: boolean;
  /** `offline`: never contact the server; everything goes to the spool for a later `client.sync()`. */
  mode: 'online' | 'offline';
  /** Where runs are spooled (`SIMSCOPE_SPOOL_DIR` wins); default `$XDG_DATA_HOME/simscope/spool`. */
  spoolDir: string | undefined;
  /**
   * This process's MPI rank and the job's size; default (null) from OMPI_COMM_WORLD_RANK, PMI_RANK or SLURM_PROCID
   * and their sizes. A rank logs its metrics as `NAME@rank=R` and attaches to the job's run (see README).
   */
  rank?: number | null;
  size?: number | null;
}

export interface InitOptions {
  name?: string;
  metadata?: Record<string, Json>;
  tags?: string[];
  description?: string;
  folder?: string;
  /** False makes a `created` run (a job waiting in a queue) that the job later takes up with `Run.reconnect`. */
  running?: boolean;
  /**
   * How long without a heartbeat before the server marks the run `lost`: seconds or text such as `'5m'`;
   * default 300 s (at least 4 heartbeat intervals); `null`: never.
   */
  heartbeatTimeout?: DurationInput | null;
}

export interface MetricOptions {
  step?: number;
  /** Seconds since init; default: measured. */
  time?: number;
  /**
   * When the values were measured: a `Date`, ISO 8601 text (UTC when it names no zone) or microseconds since the
   * epoch; default: now. Milliseconds (`Date.now()`) are refused.
   */
  timestamp?: TimestampInput;
}

export interface EventOptions {
  /** As `MetricOptions.timestamp`. */
  timestamp?: TimestampInput;
  /** Default `info`, `error` for an `Error`. */
  level?: EventLevel;
}

/** What `close()` reports. */
export interface CloseResult extends SendStats {
  status: RunStatus | null;
}

/** The heartbeat timeout a run asks for when `init` is given none, in seconds. */
export const DEFAULT_HEARTBEAT_TIMEOUT = 300;

/** The settings a run starts with. */
export const RUN_DEFAULTS: RunConfig = {
  suppressErrors: true,
  queueBlocking: false,
  queueSize: 10_000,
  batchPoints: 50_000,
  flushIntervalMs: 1000,
  heartbeatIntervalMs: 15_000,
  retries: {},
  onError: (error) => process.stderr.write(`simscope: ${(error as Error).message ?? String(error)}\n`),
  onAbort: async (run) => {
    await run.close('terminated');
  },
  systemInfo: true,
  sendClock: true,
  mode: 'online',
  spoolDir: undefined,
};

/** Throws on a size or interval in `options` that cannot work. */
export function checkRunConfig(options: Partial<RunConfig>): void {
  const whole = (
    key: 'queueSize' | 'batchPoints' | 'flushIntervalMs' | 'heartbeatIntervalMs',
    most: number,
  ) => {
    const v = options[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1 && v <= most)) {
      throw new ClientError(
        'invalid_field',
        `config.${key}: must be a whole number from 1 to ${most}, got ${v}`,
        0,
      );
    }
  };
  whole('queueSize', Number.MAX_SAFE_INTEGER);
  // The server takes at most this many points in one batch.
  whole('batchPoints', LIMITS.pointsPerBatch);
  whole('flushIntervalMs', 2 ** 31 - 1);
  whole('heartbeatIntervalMs', 2 ** 31 - 1);
}
