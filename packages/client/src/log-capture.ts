import { Writable } from 'node:stream';
import { format } from 'node:util';
import { EVENT_LEVELS, type EventLevel } from '@simscope/protocol';

/** What log capture needs of a run. */
export interface EventSink {
  logEvent(message: string, options: { level: EventLevel; timestamp?: number }): void;
}

export interface LogCaptureOptions {
  /** Lines below this level are not recorded (default `debug`: all). */
  level?: EventLevel;
}

const RANK = new Map(EVENT_LEVELS.map((level, i) => [level, i]));

/** pino's numeric levels (10 trace … 60 fatal) as event levels. */
export function pinoLevel(level: number): EventLevel {
  if (level >= 60) return 'critical';
  if (level >= 50) return 'error';
  if (level >= 40) return 'warning';
  if (level >= 30) return 'info';
  return 'debug';
}

const LABELS: Record<string, EventLevel> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  warning: 'warning',
  error: 'error',
  fatal: 'critical',
  critical: 'critical',
};

/**
 * Turns one log line into an event: a pino JSON line gives its level, time (ms) and `msg` (other fields are
 * appended as JSON); any other line is recorded as it is, at `fallback` level.
 */
export function parseLogLine(
  line: string,
  fallback: EventLevel,
): { message: string; level: EventLevel; timestamp?: number } {
  if (line.startsWith('{')) {
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      const { level, time, msg, pid: _pid, hostname: _host, ...rest } = record;
      const parsed =
        typeof level === 'number'
          ? pinoLevel(level)
          : typeof level === 'string'
            ? (LABELS[level.toLowerCase()] ?? fallback)
            : fallback;
      const extra = Object.keys(rest).length > 0 ? JSON.stringify(rest) : '';
      const text = typeof msg === 'string' ? msg : '';
      return {
        message: text && extra ? `${text} ${extra}` : text || extra,
        level: parsed,
        ...(typeof time === 'number' ? { timestamp: Math.round(time * 1000) } : {}),
      };
    } catch {
      // not JSON after all: record the line as it is
    }
  }
  return { message: line, level: fallback };
}

/**
 * A writable stream of log lines that become events of `run`, for `pino(run.logStream())` or any logger that
 * writes lines to a stream.
 * @example
 * const logger = pino(pino.multistream([{ stream: process.stdout }, { stream: run.logStream() }]));
 */
export function eventStream(sink: EventSink, options: LogCaptureOptions = {}): Writable {
  const min = RANK.get(options.level ?? 'debug') ?? 0;
  let rest = '';
  const emit = (line: string) => {
    if (line.trim() === '') return;
    const event = parseLogLine(line, 'info');
    if ((RANK.get(event.level) ?? 0) >= min) sink.logEvent(event.message, event);
  };
  return new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) emit(line);
      done();
    },
    final(done) {
      emit(rest);
      rest = '';
      done();
    },
  });
}

const CONSOLE_LEVELS = {
  debug: 'debug',
  log: 'info',
  info: 'info',
  warn: 'warning',
  error: 'error',
} as const satisfies Record<string, EventLevel>;

/**
 * Records what `console.debug/log/info/warn/error` print as events (it is still printed), until the function it
 * returns is called.
 */
export function captureConsole(sink: EventSink, options: LogCaptureOptions = {}): () => void {
  const min = RANK.get(options.level ?? 'debug') ?? 0;
  const originals = new Map<keyof typeof CONSOLE_LEVELS, (...args: unknown[]) => void>();
  for (const [method, level] of Object.entries(CONSOLE_LEVELS) as [
    keyof typeof CONSOLE_LEVELS,
    EventLevel,
  ][]) {
    const original = console[method];
    originals.set(method, original);
    if ((RANK.get(level) ?? 0) < min) continue;
    console[method] = function recordedConsole(...args: unknown[]) {
      original.apply(console, args);
      sink.logEvent(format(...args), { level });
    };
  }
  return () => {
    for (const [method, original] of originals) console[method] = original;
  };
}
