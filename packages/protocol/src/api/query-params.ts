import { z } from 'zod';
import {
  ARTIFACT_CATEGORIES,
  ARTIFACT_LIMITS,
  type ArtifactCategory,
  artifactNameProblem,
  isSha256,
} from '../artifacts.js';
import { SimscopeError } from '../errors.js';
import {
  EVENT_LEVELS,
  type EventLevel,
  RUN_SORT_FIELDS,
  type RunSortField,
  SERIES_AXES,
  type SeriesAxis,
} from '../schemas.js';
import { parseDuration, parseMicrosParam } from '../time.js';

/** Thrown by a query reader: why the text is refused (the field is named by `parseInput`). */
class QueryProblem extends Error {}

const fail = (message: string): never => {
  throw new QueryProblem(message);
};

/**
 * A query parameter read from its text (undefined when absent) by `read`, which calls `fail` to refuse it. Text
 * only: a repeated parameter (an array) is refused by the schema.
 */
export function queryParam<T>(read: (text: string | undefined) => T) {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      try {
        return read(text);
      } catch (error) {
        if (!(error instanceof QueryProblem || error instanceof SimscopeError)) throw error;
        // A SimscopeError from a shared reader names the field itself ("query.from: …"); keep the reason only.
        ctx.addIssue({ code: 'custom', message: error.message.replace(/^query\.\w+: /, '') });
        return z.NEVER;
      }
    });
}

/** Text that must be given: `required, <hint>` when absent or empty. */
export const requiredParam = (hint: string) =>
  queryParam((text) => {
    if (text === undefined || text === '') return fail(`required, ${hint}`);
    return text;
  });

/** `limit`: a whole number from 1 to `max`, `fallback` when absent. */
export const limitParam = (fallback: number, max: number) =>
  queryParam((text) => {
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max)
      fail(`must be a whole number from 1 to ${max}, got '${text}'`);
    return n;
  });

/** A finite number, or null when absent. */
export const numberParam = () =>
  queryParam((text) => {
    if (text === undefined || text === '') return null;
    const n = Number(text);
    if (!Number.isFinite(n)) fail(`expected a number, got '${text}'`);
    return n;
  });

/** Microseconds since the epoch or an ISO date, as microseconds; null when absent. */
export const microsParam = () => queryParam((text) => parseMicrosParam(text, 'time'));

/** `true` or `false` (absent or empty: false). */
export const flagParam = () =>
  queryParam((text) => {
    if (text === undefined || text === '' || text === 'false') return false;
    if (text !== 'true') fail(`must be 'true' or 'false', got '${text}'`);
    return true;
  });

/** Text, or null when absent or empty. */
export const textParam = () => queryParam((text) => (text === undefined || text === '' ? null : text));

/** `asc` (default) or `desc`, as whether the order is descending. */
export const orderParam = () =>
  queryParam((text) => {
    if (text !== undefined && text !== 'asc' && text !== 'desc') fail("must be 'asc' or 'desc'");
    return text === 'desc';
  });

export const axisParam = () =>
  queryParam((text): SeriesAxis => {
    const axis = (text ?? 'step') as SeriesAxis;
    if (!SERIES_AXES.includes(axis)) fail(`must be one of ${SERIES_AXES.join(', ')}, got '${text}'`);
    return axis;
  });

/** Comma-separated event levels; null for all. */
export const levelsParam = () =>
  queryParam((text): EventLevel[] | null => {
    if (!text) return null;
    const levels = text.split(',').map((l) => l.trim()) as EventLevel[];
    const bad = levels.find((l) => !EVENT_LEVELS.includes(l));
    if (bad !== undefined) fail(`unknown level '${bad}'; use ${EVENT_LEVELS.join(', ')}`);
    return levels;
  });

/** Columns a series read can return. */
export const SERIES_COLUMNS = ['step', 'time', 'timestamp', 'value'] as const;
export type SeriesColumn = (typeof SERIES_COLUMNS)[number];

export const seriesColumnsParam = () =>
  queryParam((text): SeriesColumn[] => {
    if (!text) return [...SERIES_COLUMNS];
    const columns = text.split(',').map((c) => c.trim()) as SeriesColumn[];
    const bad = columns.find((c) => !SERIES_COLUMNS.includes(c));
    if (bad !== undefined) fail(`unknown column '${bad}'; use ${SERIES_COLUMNS.join(', ')}`);
    return columns;
  });

/** A run sort: a field, `-` before it for descending; `-created` when absent. */
export const sortParam = () =>
  queryParam((text): { field: RunSortField; descending: boolean } => {
    const sort = text ?? '-created';
    const descending = sort.startsWith('-');
    const field = (descending || sort.startsWith('+') ? sort.slice(1) : sort) as RunSortField;
    if (!RUN_SORT_FIELDS.includes(field)) {
      fail(
        `unknown sort field '${field}'; use one of ${RUN_SORT_FIELDS.join(', ')} (prefix '-' for descending)`,
      );
    }
    return { field, descending };
  });

export const artifactNameParam = () =>
  queryParam((text) => {
    if (text === undefined) return fail('required');
    const problem = artifactNameProblem(text);
    if (problem) fail(problem);
    return text;
  });

export const categoryParam = () =>
  queryParam((text): ArtifactCategory | null => {
    if (text === undefined || text === '') return null;
    if (!(ARTIFACT_CATEGORIES as readonly string[]).includes(text)) {
      fail(`must be one of ${ARTIFACT_CATEGORIES.join(', ')}, got '${text}'`);
    }
    return text as ArtifactCategory;
  });

/** Text an artifact name is matched against; null when absent. */
export const nameFilterParam = () =>
  queryParam((text) => {
    if (text === undefined || text === '') return null;
    if (text.length > ARTIFACT_LIMITS.nameLength)
      fail(`must be at most ${ARTIFACT_LIMITS.nameLength} characters`);
    return text;
  });

/** A sha256 in hex (lowercased), `trailer` when it ends the body, or null. */
export const sha256Param = () =>
  queryParam((text): string | 'trailer' | null => {
    if (text === 'trailer') return 'trailer';
    if (text === undefined || text === '') return null;
    const hex = text.toLowerCase();
    if (!isSha256(hex)) fail("must be 64 hexadecimal digits, or 'trailer' when they end the body");
    return hex;
  });

/** A byte count, or null. */
export const sizeParam = () =>
  queryParam((text) => {
    if (text === undefined || text === '') return null;
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
      fail(`must be a whole number of bytes, got '${text}'`);
    return n;
  });

/** A JSON object of at most `maxBytes` bytes; `{}` when absent. */
export const jsonObjectParam = (maxBytes: number) =>
  queryParam((text): Record<string, unknown> => {
    if (text === undefined || text === '') return {};
    if (new TextEncoder().encode(text).length > maxBytes) fail(`must be at most ${maxBytes} bytes of JSON`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      fail(`not valid JSON: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('must be a JSON object');
    return value as Record<string, unknown>;
  });

/** A comma-separated list of names; null when absent or empty. */
export const listParam = () =>
  queryParam((text) => (text === undefined || text === '' ? null : text.split(',').map((f) => f.trim())));

/** A duration (`30s`, `5m`, `1h`, or seconds) as whole seconds, at least 1; null when absent or empty. */
export const durationParam = () =>
  queryParam((text) => {
    if (text === undefined || text === '') return null;
    const seconds = parseDuration(text);
    if (!(seconds >= 1) || !Number.isInteger(seconds))
      fail(`must be a whole number of seconds, at least 1, got '${text}'`);
    return seconds;
  });

/** Summaries of a metric a run-table column can hold: `metrics.NAME` is the last value, `min:metrics.NAME` the least. */
export const RUN_TABLE_STATS = ['last', 'min', 'max', 'mean'] as const;
export type RunTableStat = (typeof RUN_TABLE_STATS)[number];

/** A column of the run table: a metadata key or a summary of a metric (its last value unless a `STAT:` prefix says). */
export type RunTableColumn =
  | { name: string; kind: 'metadata'; key: string }
  | { name: string; kind: 'metric'; metric: string; stat: RunTableStat };

/**
 * `columns` of the run table: a JSON array of `metadata.KEY` and `metrics.NAME`, at most `max`; [] when absent.
 * Refused with an error that names `query.columns` and carries no details, as the run table always answered.
 */
export const runTableColumnsParam = (max: number) =>
  z
    .string()
    .optional()
    .transform((text) => readRunTableColumns(text, max));

function readRunTableColumns(text: string | undefined, max: number): RunTableColumn[] {
  if (text === undefined || text === '') return [];
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    list = undefined;
  }
  if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) {
    throw new SimscopeError(
      'invalid_field',
      'query.columns: must be a JSON array of strings such as ["metadata.re","metrics.loss"]',
    );
  }
  if (list.length > max) throw new SimscopeError('invalid_field', `query.columns: at most ${max} columns`);
  return (list as string[]).map((name, i): RunTableColumn => {
    const colon = name.indexOf(':');
    const prefix = colon > 0 ? name.slice(0, colon) : '';
    const stat = (RUN_TABLE_STATS as readonly string[]).includes(prefix) ? (prefix as RunTableStat) : null;
    const rest = stat ? name.slice(colon + 1) : name;
    if (!stat && name.startsWith('metadata.') && name.length > 9)
      return { name, kind: 'metadata', key: name.slice(9) };
    if (rest.startsWith('metrics.') && rest.length > 8)
      return { name, kind: 'metric', metric: rest.slice(8), stat: stat ?? 'last' };
    throw new SimscopeError(
      'invalid_field',
      `query.columns[${i}]: '${name}' is neither metadata.KEY nor metrics.NAME`,
    );
  });
}
