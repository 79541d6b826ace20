import { parseDuration, SimscopeError } from '@simscope/protocol';

const SIZE = /^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)(i?)([bB]?)$/;
const POWER: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * Bytes in a size such as `500GB`, `1.5TiB`, `200M` or `1048576`: K, M, G, T, P (with or without B) are powers
 * of 1000, KiB, MiB, GiB, TiB, PiB powers of 1024.
 * @example
 * parseSize('500GB'); // 500_000_000_000
 */
export function parseSize(text: string | number, field = 'size'): number {
  if (typeof text === 'number') {
    if (Number.isFinite(text) && text >= 0) return text;
    throw new SimscopeError('invalid_field', `${field}: must be a number of bytes, got ${text}`);
  }
  const match = SIZE.exec(text.trim());
  if (!match || (match[3] === 'i' && match[2] === '')) {
    throw new SimscopeError(
      'invalid_field',
      `${field}: '${text}' is not a size; use bytes or forms like 500GB, 1.5TiB, 200M`,
    );
  }
  const base = match[3] === 'i' ? 1024 : 1000;
  return Math.round(Number(match[1]) * base ** (POWER[(match[2] ?? '').toLowerCase()] ?? 0));
}

/** Seconds in a duration such as `30s`, `5m`, `24h` or a bare number of seconds; must be above zero. */
export function parseSeconds(text: string | number, field = 'duration'): number {
  let seconds: number;
  if (typeof text === 'number') seconds = text;
  else {
    try {
      seconds = parseDuration(text);
    } catch (error) {
      throw new SimscopeError('invalid_field', `${field}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new SimscopeError('invalid_field', `${field}: must be more than zero seconds, got '${text}'`);
  }
  return seconds;
}

/** A byte count for people: `185.83 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(2)} ${units[unit]}`;
}
