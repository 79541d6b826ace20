import { SimscopeError } from './errors.js';
import { LIMITS } from './limits.js';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const DURATION = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** Parses `30s`, `5m`, `1h30m`, `2.5d` or a bare number of seconds into seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (!DURATION.test(trimmed)) {
    throw new SimscopeError(
      'invalid_field',
      `'${text}' is not a duration; use seconds or forms like 30s, 5m, 24h, 7d`,
    );
  }
  let seconds = 0;
  for (const match of trimmed.matchAll(PART))
    seconds += Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
  return seconds;
}

/** Microseconds since the Unix epoch, now. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** ISO 8601 text (UTC, microsecond precision) of a microsecond timestamp. */
export function microsToIso(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const rest = String(Math.round(micros - ms * 1000)).padStart(3, '0');
  return new Date(ms).toISOString().replace('Z', `${rest}Z`);
}

/** A time query parameter: microseconds since the epoch, or an ISO date; null when absent or empty. */
export function parseMicrosParam(value: string | undefined, field: string): number | null {
  if (value === undefined || value === '') return null;
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new SimscopeError(
      'invalid_field',
      `query.${field}: expected microseconds since the epoch or an ISO date, got '${value}'`,
    );
  }
  return ms * 1000;
}

/** A timestamp as `logMetrics` and `logEvent` take it: a `Date`, ISO 8601 text, or microseconds since the epoch. */
export type TimestampInput = Date | string | number;

/** 2000-01-01T00:00:00Z in microseconds: a smaller number is taken for milliseconds or seconds, and refused. */
export const EARLIEST_MICROS = 946_684_800_000_000;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function isoMicros(text: string): number | null {
  const m = ISO.exec(text.trim());
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return null;
  const fraction = Math.round(Number(`0.${m[7] ?? '0'}`) * 1e6);
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes =
      (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * (zone[0] === '-' ? -1 : 1);
  }
  return (ms - offsetMinutes * 60_000) * 1000 + fraction;
}

/**
 * Microseconds since the epoch of a timestamp given to `logMetrics`/`logEvent`: a `Date`, ISO 8601 text (UTC when
 * it names no zone, as Simvue's `'2021-05-03 14:13:27.281920'`), or a number of microseconds from 2000 on.
 * Throws `invalid_field` naming `field` for anything else, milliseconds (`Date.now()`) included.
 */
export function timestampMicros(value: unknown, field: string): number {
  let micros: number | null = null;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= EARLIEST_MICROS && value <= LIMITS.maxMicros)
      return Math.round(value);
    throw new SimscopeError(
      'invalid_field',
      `${field}: ${value} is not microseconds since the epoch from the year 2000 on` +
        (Number.isFinite(value) && value > 0 && value < EARLIEST_MICROS
          ? ' (milliseconds such as Date.now()? pass a Date, or Date.now() * 1000)'
          : ''),
    );
  }
  if (value instanceof Date) micros = value.getTime() * 1000;
  else if (typeof value === 'string') micros = isoMicros(value);
  else {
    throw new SimscopeError(
      'invalid_field',
      `${field}: expected a Date, ISO 8601 text or microseconds since the epoch, got ${value === null ? 'null' : typeof value}`,
    );
  }
  if (micros === null || !Number.isFinite(micros) || micros < 0 || micros > LIMITS.maxMicros) {
    throw new SimscopeError(
      'invalid_field',
      `${field}: ${typeof value === 'string' ? `'${value}'` : 'an invalid Date'} is not a timestamp; use ISO 8601 such as '2021-05-03 14:13:27.281920' (UTC) or '2021-05-03T14:13:27+02:00'`,
    );
  }
  return micros;
}
