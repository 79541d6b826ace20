import type { z } from 'zod';
import { SimscopeError } from './errors.js';

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path)
    out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

/** Parses `value` with `schema`, or throws an `invalid_field` error that names the first bad field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where = 'body'): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const field = formatPath([where, ...issue.path]);
    // A bad record key carries the reason in a nested issue; zod's own text is only "Invalid key in record".
    const nested = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
    return { field, message: nested ? `key ${nested}` : issue.message };
  });
  const first = issues[0];
  const message = first ? `${first.field}: ${first.message}` : `${where} is invalid`;
  throw new SimscopeError('invalid_field', message, { details: { issues } });
}

/**
 * Whether objects and arrays in `value` nest at most `limit` levels (`{}` is one level). Walks without recursion,
 * so a value nested 100 000 deep is refused rather than overflowing the stack.
 */
export function jsonDepthWithin(value: unknown, limit: number): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop() ?? 1;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return false;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return true;
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why `text` cannot be a name, or null when it can: a lone surrogate (not UTF-16) would be stored as U+FFFD,
 * and U+FFFD is what a decoder leaves where the bytes sent were not UTF-8; either way the name would not be the
 * one the writer meant, nor reachable by it.
 */
export function unicodeProblem(text: string): string | null {
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (no lone surrogates)';
  if (text.includes('\ufffd')) return 'must be valid UTF-8 (U+FFFD marks bytes that were not)';
  return null;
}
