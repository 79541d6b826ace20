import { type MetricSeries, SimscopeError } from '@simscope/protocol';
import type { JsonObject, RunRecord } from '../store/store.js';
import type { ServiceContext } from './context.js';

/** A writer whose clock is further than this from the server's (µs) has its timestamps shifted. */
const SKEW_THRESHOLD_MICROS = 5_000_000;
/** How far ahead of the server's clock a timestamp or `createdAt` may be, after correction (µs). */
const FUTURE_LIMIT_MICROS = 300_000_000;
/** The writer id under which the server logs its own events about a run's writers. */
const SERVER_WRITER = 'simscope.server';
const MAX_REMEMBERED = 10_000;
const MAX_WRITERS_KEPT = 256;

/** A writer's measured offset: what to add to its timestamps, and when the server measured it (µs). */
export interface ClockOffset {
  offsetMicros: number;
  measured: number;
}

/** `2m 0.3s`, `42s`: a duration in µs to a tenth of a second. */
function formatDuration(micros: number): string {
  const tenths = Math.round(Math.abs(micros) / 100_000);
  const minutes = Math.floor(tenths / 600);
  const seconds = `${(tenths - minutes * 600) / 10}s`;
  return minutes > 0 ? `${minutes}m ${seconds}` : seconds;
}

/** Refuses a time more than 5 minutes ahead of `now`, naming the field. */
export function checkNotFuture(micros: number, now: number, field: string): void {
  if (micros > now + FUTURE_LIMIT_MICROS) futureError(micros, now, field);
}

function futureError(micros: number, now: number, field: string): never {
  throw new SimscopeError(
    'invalid_field',
    `${field}: ${formatDuration(micros - now)} ahead of the server clock; at most 5 minutes ahead is accepted`,
    { details: { field } },
  );
}

/**
 * Adds `offset` to the timestamps of every series (in place, one pass, only when the offset is not 0) and
 * refuses a timestamp more than 5 minutes ahead of `now`.
 */
export function correctTimestamps(series: readonly MetricSeries[], offset: number, now: number): void {
  const limit = now + FUTURE_LIMIT_MICROS;
  for (const [s, one] of series.entries()) {
    const stamps = one.timestamps;
    if (stamps === null) continue;
    const n = stamps.length;
    let late = -1;
    if (offset === 0) {
      for (let i = 0; i < n; i++) if ((stamps[i] ?? 0) > limit) late = i;
    } else {
      for (let i = 0; i < n; i++) {
        const v = (stamps[i] ?? 0) + offset;
        stamps[i] = v;
        if (v > limit) late = i;
      }
    }
    if (late !== -1) futureError(stamps[late] ?? 0, now, `body.series[${s}].timestamps[${late}]`);
  }
}

function recorded(run: RunRecord, writer: string): ClockOffset | undefined {
  const skew = run.system.clockSkew;
  if (typeof skew !== 'object' || skew === null || Array.isArray(skew)) return undefined;
  const entry = (skew as JsonObject)[writer];
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const { offsetMicros, measured } = entry as JsonObject;
  if (typeof offsetMicros !== 'number' || typeof measured !== 'number') return undefined;
  return { offsetMicros, measured };
}

function skewMessage(writer: string, offset: number): string {
  if (offset === 0) {
    return `writer '${writer}' clock is back in step with the server (within 5 s); its timestamps are no longer shifted`;
  }
  const side = offset > 0 ? 'behind' : 'ahead of';
  const shift = `${offset > 0 ? '+' : '-'}${Math.round(Math.abs(offset) / 100_000) / 10} s`;
  return `writer '${writer}' clock is ${formatDuration(offset)} ${side} the server; its timestamps are shifted by ${shift}`;
}

/**
 * Each run's writers' clock offsets. A batch says when its writer sent it (`clock`); when that differs from the
 * server's clock by more than 5 s, the writer's timestamps are shifted by the difference. A new offset (the first,
 * or one that moved by more than 5 s) is kept in the run's `system.clockSkew` and logged as an event of the run;
 * a batch without a clock (sent later from a spool) takes the last offset kept.
 */
export class WriterClocks {
  /** This process's latest offsets by run and writer, so that concurrent batches record a new offset once. */
  readonly #latest = new Map<string, ClockOffset>();

  /** The offset (µs) to add to the timestamps of this batch of `writer`. */
  async offset(ctx: ServiceContext, run: RunRecord, writer: string, clock: number | null): Promise<number> {
    const key = `${run.pk}\u0000${writer}`;
    const mine = this.#latest.get(key);
    const stored = recorded(run, writer);
    const known = mine && (!stored || mine.measured >= stored.measured) ? mine : stored;
    const current = known?.offsetMicros ?? 0;
    if (clock === null) return current;
    const now = ctx.now();
    const measured = Math.round(now - clock);
    if (Math.abs(measured - current) <= SKEW_THRESHOLD_MICROS) return current;
    const offsetMicros = Math.abs(measured) > SKEW_THRESHOLD_MICROS ? measured : 0;
    const next = { offsetMicros, measured: now };
    this.#remember(key, next);
    try {
      await this.#record(ctx, run, writer, next);
    } catch (error) {
      if (this.#latest.get(key) === next) this.#latest.delete(key);
      throw error;
    }
    return offsetMicros;
  }

  #remember(key: string, offset: ClockOffset): void {
    this.#latest.delete(key);
    if (this.#latest.size >= MAX_REMEMBERED) {
      const oldest = this.#latest.keys().next();
      if (!oldest.done) this.#latest.delete(oldest.value);
    }
    this.#latest.set(key, offset);
  }

  async #record(ctx: ServiceContext, run: RunRecord, writer: string, offset: ClockOffset): Promise<void> {
    const before = run.system.clockSkew;
    const writers = typeof before === 'object' && before !== null && !Array.isArray(before) ? before : {};
    // Thousands of skewed ranks would bloat the run's system info: past a bound, only the events tell.
    if (writer in writers || Object.keys(writers).length < MAX_WRITERS_KEPT) {
      const system: JsonObject = { ...run.system, clockSkew: { ...writers, [writer]: { ...offset } } };
      await ctx.store.runs.updateRun(ctx.auth.workspace.id, run.pk, { system }, offset.measured);
    }
    await ctx.store.events.appendEvents(run.pk, { writer: SERVER_WRITER, seq: offset.measured }, [
      {
        timestamp: offset.measured,
        level: offset.offsetMicros === 0 ? 'info' : 'warning',
        message: skewMessage(writer, offset.offsetMicros),
      },
    ]);
  }
}
