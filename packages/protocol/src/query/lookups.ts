import { z } from 'zod';
import type { FilterValue } from '../filter/filter-ast.js';
import { FilterLexer } from '../filter/filter-lexer.js';
import { userPatternProblem } from '../user-pattern.js';

/**
 * Django-style lookups a typed filter key may end with: `created__gte`, `name__regex`, `status__in`. A key
 * without one means equality.
 */
export const LOOKUPS = [
  'ne',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'contains',
  'icontains',
  'startswith',
  'endswith',
  'regex',
  'isnull',
  'overlap',
] as const;
export type Lookup = (typeof LOOKUPS)[number];

const TEXT_LOOKUPS = ['contains', 'icontains', 'startswith', 'endswith', 'regex'] as const;
type TextLookup = (typeof TEXT_LOOKUPS)[number];

/** Values an `__in` list may hold at most. */
export const MAX_IN_VALUES = 1000;
/** Longest regular expression a filter takes, in characters. */
export const MAX_PATTERN_LENGTH = 1000;

/** A regular expression in RE2 syntax (see `compileUserPattern`) that compiles and is not too long. */
export const regexSchema = z
  .string()
  .max(MAX_PATTERN_LENGTH, { message: `must be at most ${MAX_PATTERN_LENGTH} characters` })
  .superRefine((pattern, ctx) => {
    const problem = userPatternProblem(pattern);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${problem}` });
  });

type LookupValue<O extends Lookup, V extends z.ZodType> = O extends 'in' | 'overlap'
  ? z.ZodArray<V>
  : O extends 'isnull'
    ? z.ZodBoolean
    : O extends TextLookup
      ? z.ZodString
      : V;

/** The zod shape of one field and its lookups: `{ name, name__in, name__regex, … }`, every key optional. */
export type LookupShape<F extends string, V extends z.ZodType, O extends Lookup> = {
  [K in F]: z.ZodOptional<V>;
} & { [K in O as `${F}__${K}`]: z.ZodOptional<LookupValue<K, V>> };

/** The schema of the value a lookup takes, given the field's own value schema. */
export function lookupValueSchema(op: Lookup | 'exact', value: z.ZodType): z.ZodType {
  switch (op) {
    case 'in':
    case 'overlap':
      return z
        .array(value)
        .min(1, { message: 'must list at least one value' })
        .max(MAX_IN_VALUES, { message: `must list at most ${MAX_IN_VALUES} values` });
    case 'isnull':
      return z.boolean();
    case 'regex':
      return regexSchema;
    case 'contains':
    case 'icontains':
    case 'startswith':
    case 'endswith':
      return z.string();
    default:
      return value;
  }
}

/**
 * The shape of a field with the lookups it supports.
 *
 * @example
 * z.strictObject({ ...lookups('name', z.string(), ['in', 'regex']) }); // name, name__in, name__regex
 */
export function lookups<const F extends string, V extends z.ZodType, const O extends Lookup>(
  field: F,
  value: V,
  ops: readonly O[],
): LookupShape<F, V, O> {
  const shape: Record<string, z.ZodType> = { [field]: value.optional() };
  for (const op of ops) shape[`${field}__${op}`] = lookupValueSchema(op, value).optional();
  return shape as LookupShape<F, V, O>;
}

/** Splits `metadata__beta__gt` into `['metadata', 'beta']` and `gt`; no known suffix means `exact`. */
export function splitLookup(key: string): { path: string[]; op: Lookup | 'exact' } {
  const parts = key.split('__');
  const last = parts.at(-1) ?? '';
  if (parts.length > 1 && (LOOKUPS as readonly string[]).includes(last)) {
    return { path: parts.slice(0, -1), op: last as Lookup };
  }
  return { path: parts, op: 'exact' };
}

/** A point in time for a filter: microseconds since the epoch, a `Date`, ISO text, or an age such as `'5h'`. */
export type TimeInput = number | Date | string;

/** Reads a `TimeInput` as a filter value: an instant (`timestamp`) or an age before now (`duration`). */
export const timeValueSchema = z
  .union([z.number(), z.date(), z.string()])
  .transform((input, ctx): FilterValue & { kind: 'timestamp' | 'duration' } => {
    if (typeof input === 'number') {
      if (Number.isSafeInteger(input)) return { kind: 'timestamp', micros: input };
      ctx.addIssue({ code: 'custom', message: 'microseconds since the epoch must be a whole number' });
      return z.NEVER;
    }
    if (input instanceof Date) {
      const ms = input.getTime();
      if (!Number.isNaN(ms)) return { kind: 'timestamp', micros: ms * 1000 };
      ctx.addIssue({ code: 'custom', message: 'invalid Date' });
      return z.NEVER;
    }
    try {
      const lexer = new FilterLexer(input.trim());
      const token = lexer.next();
      if (lexer.next().kind === 'eof') {
        if (token.kind === 'timestamp') return { kind: 'timestamp', micros: token.micros };
        if (token.kind === 'duration') return { kind: 'duration', seconds: token.seconds };
      }
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/ \(at column \d+\)$/, '') });
      return z.NEVER;
    }
    ctx.addIssue({
      code: 'custom',
      message: `expected microseconds since the epoch, a Date, an ISO date such as 2026-01-31T12:00:00Z or an age such as 5h, got '${input}'`,
    });
    return z.NEVER;
  });

/** A regular expression that matches `text` literally, written so RE2, JavaScript (`u`) and PostgreSQL read it alike. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
