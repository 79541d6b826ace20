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
