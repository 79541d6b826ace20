import { SimscopeError } from './errors.js';

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
