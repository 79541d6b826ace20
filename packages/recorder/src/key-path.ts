import { RecorderError } from './errors.js';

const MAX_KEY_LENGTH = 1024;

/**
 * Checks a `/`-separated key and returns its segments.
 * Rejects empty keys and segments (so no leading, trailing or doubled `/`), `.` and `..`, and NUL.
 */
export function parseKey(key: unknown): string[] {
  if (typeof key !== 'string' || key.length === 0) {
    throw new RecorderError('invalid_key', `key must be a non-empty string, got ${describe(key)}`);
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new RecorderError(
      'invalid_key',
      `key is ${key.length} characters long; the limit is ${MAX_KEY_LENGTH}`,
    );
  }
  if (key.includes('\0')) {
    throw new RecorderError('invalid_key', `key ${JSON.stringify(key)} contains a NUL character`);
  }
  const segments = key.split('/');
  for (const segment of segments) {
    if (segment === '') {
      throw new RecorderError(
        'invalid_key',
        `key ${JSON.stringify(key)} has an empty segment (no leading, trailing or doubled '/')`,
      );
    }
    if (segment === '.' || segment === '..') {
      throw new RecorderError('invalid_key', `key ${JSON.stringify(key)} has a '${segment}' segment`);
    }
  }
  return segments;
}

/** The group paths above a key: `a/b/c` gives `['a', 'a/b']`. */
export function parentPaths(segments: readonly string[]): string[] {
  const parents: string[] = [];
  for (let i = 1; i < segments.length; i++) parents.push(segments.slice(0, i).join('/'));
  return parents;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return 'an empty string';
  return value === null ? 'null' : typeof value;
}
