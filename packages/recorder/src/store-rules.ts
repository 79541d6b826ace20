import type { KeyMode } from './datastore.js';
import { RecorderError } from './errors.js';

/** Turns `start`/`end` (Array.prototype.slice rules, negatives from the end) into a clamped `[from, to)`. */
export function resolveRange(length: number, start = 0, end = length): [number, number] {
  if (!Number.isInteger(start) || !Number.isInteger(end)) {
    throw new RecorderError('invalid_option', `range bounds must be integers, got ${start} and ${end}`);
  }
  const from = start < 0 ? Math.max(0, length + start) : Math.min(start, length);
  const to = end < 0 ? Math.max(0, length + end) : Math.min(end, length);
  return [from, Math.max(from, to)];
}

/** Throws `key_conflict` when a key written with `set` is used as a list, or the other way round. */
export function assertMode(key: string, actual: KeyMode, wanted: KeyMode): void {
  if (actual === wanted) return;
  const hint = actual === 'single' ? 'use get/set' : `use record, and getAll("${key}") to read it`;
  throw new RecorderError(
    'key_conflict',
    `key "${key}" holds a ${actual} value, not a ${wanted} value (${hint})`,
  );
}

export function keyNotFound(key: string, store: string): RecorderError {
  return new RecorderError('key_not_found', `key "${key}" not found in datastore "${store}"`);
}

export function groupConflict(key: string, other: string, store: string): RecorderError {
  return key.length < other.length
    ? new RecorderError(
        'key_conflict',
        `key "${key}" is a group of "${other}" in datastore "${store}"; a key cannot hold values and keys`,
      )
    : new RecorderError(
        'key_conflict',
        `key "${key}" lies under "${other}", which holds values in datastore "${store}"`,
      );
}

export function closedError(store: string): RecorderError {
  return new RecorderError('closed', `datastore "${store}" is closed`);
}
