import type { Readable, Writable } from 'node:stream';
import type { EventLevel } from '@simscope/protocol';
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

export interface SidecarOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  lineMode: LineMode;
  /** Compiled `--metrics-regex` patterns. */
  metricPatterns: readonly RegExp[];
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
    const onSignal = (signal: NodeJS.Signals) => this.kill(signal);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
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
      for (const signal of FORWARDED_SIGNALS) process.removeListener(signal, onSignal);
    }
  }

  /** Copies a stream to where it is shown, unchanged, and hands its lines on; resolves at its end. */
  #pump(from: Readable, to: Writable, level: EventLevel | null): Promise<void> {
    const splitter =
      level === null
        ? null
        : new LineSplitter((line) => {
            if (level === 'error') this.#lines.stderr++;
            else this.#lines.stdout++;
            this.#onLine(line, level);
          });
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

  #onLine(line: string, level: EventLevel): void {
    this.#log.logEvent(line, { level });
    const protocol = parseProtocolLine(line);
    if (protocol) this.#record(protocol, 'the @simscope line');
    for (const pattern of this.#options.metricPatterns) {
      const sample = matchMetricPattern(pattern, line);
      if (sample) this.#record(sample, `--metrics-regex '${pattern.source}'`);
    }
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
