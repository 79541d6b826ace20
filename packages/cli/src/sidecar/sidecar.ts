import type { Readable, Writable } from 'node:stream';
import { type EventLevel, LIMITS } from '@simscope/protocol';
import {
  type ChildExit,
  type LaunchedChild,
  type LineMode,
  launchChild,
  resolveLineMode,
  shellExitCode,
} from './child-launcher.js';
import { FORWARDED_SIGNALS } from './forwarded-signals.js';
import { LineSplitter } from './line-splitter.js';
import { type MetricSample, matchMetricPattern, parseProtocolLine } from './metric-parser.js';
import { MetricsFileTail } from './metrics-file-tail.js';
import { ResourceSampler } from './resource-sampler.js';

/** Where the sidecar records what it sees: the part of the client's `Run` it uses. */
export interface SidecarLog {
  logMetrics(values: Record<string, number>, options?: { step?: number }): void;
  logEvent(message: string, options?: { level?: EventLevel }): void;
}

/**
 * Which output lines become events: `all`; `matched`, those that give a metric (a protocol line, a
 * `--metrics-regex` match) or match an event pattern; `none`. Metrics are read from every line in each mode.
 */
export const EVENT_MODES = ['all', 'matched', 'none'] as const;
type EventMode = (typeof EVENT_MODES)[number];

/** When the batch job's wall time runs out, and how long before that to warn. */
interface DeadlineWarning {
  /** The deadline, in ms since the epoch. */
  atMs: number;
  marginMs: number;
}

export interface SidecarOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  lineMode: LineMode;
  /** Compiled `--metrics-regex` patterns. */
  metricPatterns: readonly RegExp[];
  /** Default `all`. */
  events?: EventMode;
  /** Lines kept as events under `events: 'matched'`, besides those that give metrics. */
  eventPatterns?: readonly RegExp[];
  /** Logs a warning event (and warns) this long before the job's wall-time limit. */
  deadline?: DeadlineWarning;
  metricsFiles: readonly string[];
  metricsFileIntervalMs: number;
  /** 0 turns resource sampling off. */
  resourcesIntervalMs: number;
  /** Where the program's output is shown. */
  stdout: Writable;
  stderr: Writable;
  /** The sidecar's own warnings. */
  warn(message: string): void;
  columns?: number;
  rows?: number;
}

export type EndStatus = 'completed' | 'failed' | 'terminated';

export interface SidecarResult {
  exit: ChildExit;
  status: EndStatus;
  /** What `simscope run` exits with: the program's code, or 128 + the signal that ended it. */
  exitCode: number;
  lines: { stdout: number; stderr: number };
  /** The program's pid; undefined when it could not start. */
  pid: number | undefined;
  /** Seconds from the program's start to its exit (wall clock). */
  seconds: number;
  /** Signals passed on to the program. */
  forwarded: NodeJS.Signals[];
}

/** How long output may keep flowing after the program exited (a background process holding the pipe). */
const DRAIN_MS = 2000;
/** What every line-protocol line contains. */
const PROTOCOL_WORD = '@simscope';
/** The longest delay `setTimeout` keeps (about 24.8 days); a later deadline is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The run's end status for a program's exit; a code of 128 + a signal we passed on counts as that signal. */
export function endStatus(exit: ChildExit, forwarded: readonly NodeJS.Signals[]): EndStatus {
  if (exit.error !== undefined) return 'failed';
  if (exit.signal) return 'terminated';
  if (exit.code === 0) return 'completed';
  if (forwarded.some((s) => shellExitCode({ code: null, signal: s }) === exit.code)) return 'terminated';
  return 'failed';
}

/**
 * Runs a program and watches it: shows its output unchanged, records each line as an event (stderr at
 * level `error`), turns protocol lines, pattern matches and metrics-file rows into metrics, samples the
 * process tree's CPU and memory, and passes signals on.
 */
export class Sidecar {
  readonly #log: SidecarLog;
  readonly #options: SidecarOptions;
  readonly #warned = new Set<string>();
  readonly #forwarded: NodeJS.Signals[] = [];
  #child: LaunchedChild | undefined;
  #lines = { stdout: 0, stderr: 0 };

  constructor(log: SidecarLog, options: SidecarOptions) {
    this.#log = log;
    this.#options = options;
  }

  /** Sends a signal to the program (an abort request, say), as if the sidecar had received it. */
  kill(signal: NodeJS.Signals): void {
    this.#forwarded.push(signal);
    this.#child?.kill(signal);
  }

  async run(): Promise<SidecarResult> {
    const o = this.#options;
    const started = performance.now();
    const child = launchChild({
      argv: o.argv,
      env: o.env,
      mode: resolveLineMode(o.lineMode),
      columns: o.columns,
      rows: o.rows,
    });
    this.#child = child;
    const onSignal = (signal: NodeJS.Signals) => {
      // A scheduler's notice before the end (SLURM --signal, PBS's SIGTERM) is worth a mark on the run.
      this.#log.logEvent(`simscope: received ${signal}; passed on to the program`, { level: 'warning' });
      this.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
    const stopDeadline = o.deadline ? this.#watchDeadline(o.deadline) : () => {};
    try {
      const streams = [
        this.#pump(child.stdout, o.stdout, 'info'),
        this.#pump(child.stderr, o.stderr, 'error'),
        ...(child.launcherStderr ? [this.#pump(child.launcherStderr, o.stderr, null)] : []),
      ];
      const tails = o.metricsFiles.map(
        (path) => new MetricsFileTail(path, (sample) => this.#record(sample, path)),
      );
      const tailTimer = tails.length > 0 ? this.#pollTails(tails) : undefined;
      const sampler =
        o.resourcesIntervalMs > 0 ? new ResourceSampler((values) => this.#log.logMetrics(values)) : undefined;
      child.pid.then((pid) => {
        if (pid !== undefined) sampler?.start(pid, o.resourcesIntervalMs);
      });

      const exit = await child.exit;
      const seconds = (performance.now() - started) / 1000;
      sampler?.stop();
      await this.#drain(streams, [child.stdout, child.stderr, child.launcherStderr]);
      if (tailTimer) await tailTimer.stop();
      for (const tail of tails) await tail.poll(true).catch((error) => this.#warnOnce(tail.path, error));
      const status = endStatus(exit, this.#forwarded);
      return {
        exit,
        status,
        exitCode: shellExitCode(exit),
        lines: { ...this.#lines },
        pid: await child.pid,
        seconds,
        forwarded: [...this.#forwarded],
      };
    } finally {
      stopDeadline();
      for (const signal of FORWARDED_SIGNALS) process.removeListener(signal, onSignal);
    }
  }

  /** Copies a stream to where it is shown, unchanged, and hands its lines on; resolves at its end. */
  #pump(from: Readable, to: Writable, level: EventLevel | null): Promise<void> {
    const { events = 'all', metricPatterns, eventPatterns = [] } = this.#options;
    // Only protocol lines matter when no pattern is given and not every line is an event: chunks without
    // one are counted, not cut into lines (a program printing millions of lines keeps its speed).
    const needle =
      events !== 'all' && metricPatterns.length === 0 && eventPatterns.length === 0
        ? PROTOCOL_WORD
        : undefined;
    const splitter =
      level === null
        ? null
        : new LineSplitter(
            (lines, skipped) => this.#onLines(lines, skipped, level),
            LIMITS.eventMessageLength,
            needle,
          );
    return new Promise((resolve) => {
      from.on('data', (chunk: Buffer) => {
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
        splitter?.push(chunk);
      });
      const done = () => {
        splitter?.end();
        resolve();
      };
      from.once('end', done);
      from.once('close', done);
      from.once('error', done);
    });
  }

  async #drain(streams: Promise<void>[], readables: (Readable | null)[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const r of readables) r?.destroy();
        resolve();
      }, DRAIN_MS);
    });
    await Promise.race([Promise.all(streams), late]);
    clearTimeout(timer);
    await Promise.all(streams);
  }

  #pollTails(tails: MetricsFileTail[]): { stop(): Promise<void> } {
    let running: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(async () => {
        for (const tail of tails) await tail.poll().catch((error) => this.#warnOnce(tail.path, error));
      });
    }, this.#options.metricsFileIntervalMs);
    return {
      stop: async () => {
        clearInterval(timer);
        await running;
      },
    };
  }

  /** The lines of one chunk of output: metrics from each, and events as `events` says. */
  #onLines(lines: readonly string[], skipped: number, level: EventLevel): void {
    if (level === 'error') this.#lines.stderr += lines.length + skipped;
    else this.#lines.stdout += lines.length + skipped;
    const { metricPatterns, eventPatterns = [] } = this.#options;
    const events = this.#options.events ?? 'all';
    for (const line of lines) {
      let matched = false;
      const protocol = parseProtocolLine(line);
      if (protocol) {
        matched = true;
        this.#record(protocol, 'the @simscope line');
      }
      for (const pattern of metricPatterns) {
        const sample = matchMetricPattern(pattern, line);
        if (!sample) continue;
        matched = true;
        this.#record(sample, `--metrics-regex '${pattern.source}'`);
      }
      if (
        events === 'all' ||
        (events === 'matched' && (matched || eventPatterns.some((p) => p.test(line))))
      ) {
        this.#log.logEvent(line, { level });
      }
    }
  }

  /** Warns once, `marginMs` before the deadline (at once when that is past); returns what cancels it. */
  #watchDeadline({ atMs, marginMs }: DeadlineWarning): () => void {
    let timer: NodeJS.Timeout | undefined;
    const fire = () => {
      const left = Math.max(0, Math.round((atMs - Date.now()) / 60_000));
      const message = `wall-time limit in ${left} min (at ${new Date(atMs).toISOString()}); time to checkpoint`;
      this.#log.logEvent(`simscope: ${message}`, { level: 'warning' });
      this.#options.warn(message);
    };
    const wait = () => {
      const delay = atMs - marginMs - Date.now();
      if (delay <= 0) fire();
      else timer = setTimeout(wait, Math.min(delay, MAX_TIMER_MS)).unref();
    };
    wait();
    return () => clearTimeout(timer);
  }

  #record(sample: MetricSample, source: string): void {
    if (Object.keys(sample.values).length > 0) {
      this.#log.logMetrics(sample.values, sample.step === undefined ? undefined : { step: sample.step });
    }
    for (const part of sample.invalid ?? []) {
      const name = part.split('=')[0] ?? part;
      this.#warnOnce(
        `${source}\u0000${name}`,
        `${source}: '${part}' is not NAME=NUMBER; skipped (said once per name)`,
      );
    }
  }

  #warnOnce(key: string, error: unknown): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#options.warn(typeof error === 'string' ? error : `${key}: ${(error as Error).message}`);
  }
}
