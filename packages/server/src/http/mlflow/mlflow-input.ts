import { LIMITS } from '@simscope/protocol';
import { invalid, MlflowError, missing } from './mlflow-errors.js';
import type { KeyValue } from './mlflow-views.js';

/** MLflow's limits on one `log-batch` request (mlflow/utils/validation.py). */
export const MLFLOW_LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 5000,
  maxResults: 50_000,
  historyPage: 25_000,
  /** Points one `get-history` without `max_results` answers (then a `next_page_token`). */
  historyAll: 1_000_000,
} as const;

export type Input = Record<string, unknown>;

const KEY_PATTERN = /^[/\w.\- ]*$/;

export function str(input: Input, field: string, required: true): string;
export function str(input: Input, field: string, required?: false): string | undefined;
export function str(input: Input, field: string, required = false): string | undefined {
  const value = input[field];
  if (value === undefined || value === null || value === '') {
    if (required) throw missing(field);
    return undefined;
  }
  if (typeof value !== 'string') throw invalid(field, value, 'expected a string');
  return value;
}

export function int(input: Input, field: string): number | undefined {
  const raw = input[field];
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw invalid(field, raw, 'expected an integer');
  return value;
}

export function list(input: Input, field: string): unknown[] {
  const value = input[field];
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) throw invalid(field, value, 'expected a list');
  return value;
}

/** `metrics[3].value`, or `value` for the fields of a request's top level (`field` empty). */
const at = (field: string, name: string) => (field ? `${field}.${name}` : name);

/** Kinds of named entries MLflow checks alike, as its messages name them. */
type EntryKind = 'metric' | 'parameter' | 'tag';

const VALUE_LIMIT: Record<Exclude<EntryKind, 'metric'>, { label: string; limit: number }> = {
  parameter: { label: 'Param', limit: MLFLOW_LIMITS.paramValueLength },
  tag: { label: 'Tag', limit: MLFLOW_LIMITS.tagValueLength },
};

/** `posixpath.normpath` for the names MLflow accepts (no backslashes): a name must be its own normal form. */
function normalPath(name: string): string {
  const absolute = name.startsWith('/');
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && parts.length > 0 && parts.at(-1) !== '..') parts.pop();
    else if (part !== '..' || !absolute) parts.push(part);
  }
  const joined = parts.join('/');
  return absolute ? `/${joined}` : joined || '.';
}

function lengthLimit(label: string, value: string, limit: number): void {
  if (value.length > limit) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `${label} '${value.slice(0, 250)}' had length ${value.length}, which exceeded length limit of ${limit}`,
    );
  }
}

/** A metric, param or tag name as MLflow's validation accepts it. */
function checkKey(key: unknown, kind: EntryKind, field: string): string {
  if (key === undefined || key === null || key === '') throw missing(at(field, 'key'));
  if (typeof key !== 'string') throw invalid(at(field, 'key'), key, 'expected a string');
  if (!KEY_PATTERN.test(key)) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid ${kind} name: '${key}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).`,
    );
  }
  const norm = normalPath(key);
  if (norm !== key || norm === '.' || norm.startsWith('..') || norm.startsWith('/')) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid ${kind} name: '${key}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${norm}'`,
    );
  }
  const label = kind === 'metric' ? 'Metric name' : `${VALUE_LIMIT[kind].label} key`;
  lengthLimit(label, key, MLFLOW_LIMITS.keyLength);
  return key;
}

/** A param or tag: `{ key, value }`, the value a string within MLflow's length limit. */
export function keyValue(raw: unknown, kind: 'parameter' | 'tag', field: string): KeyValue {
  if (typeof raw !== 'object' || raw === null) throw invalid(field, raw, 'expected an object');
  const entry = raw as Input;
  const key = checkKey(entry.key, kind, field);
  const value = entry.value === undefined || entry.value === null ? '' : entry.value;
  if (typeof value !== 'string') throw invalid(at(field, 'value'), value, 'expected a string');
  lengthLimit(`${VALUE_LIMIT[kind].label} value`, value, VALUE_LIMIT[kind].limit);
  return { key, value };
}

export interface Point {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** A metric point `{ key, value, timestamp, step }`; MLflow's JSON writes non-finite values as strings. */
export function metricPoint(raw: unknown, field: string): Point {
  if (typeof raw !== 'object' || raw === null) throw invalid(field, raw, 'expected an object');
  const entry = raw as Input;
  const key = checkKey(entry.key, 'metric', field);
  let value = entry.value;
  if (typeof value === 'string' && value in NON_FINITE) value = NON_FINITE[value];
  const timestamp = entry.timestamp;
  if (typeof value !== 'number') {
    if (value === undefined || value === null) throw missing(at(field, 'value'));
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Got invalid value ${JSON.stringify(value)} for metric '${key}' (timestamp=${String(timestamp)}). Please specify value as a valid double (64-bit floating point)`,
    );
  }
  const ms = int(entry, 'timestamp');
  if (ms === undefined) throw missing(at(field, 'timestamp'));
  if (ms < 0 || ms > LIMITS.maxMicros / 1000) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Got invalid timestamp ${ms} for metric '${key}' (value=${value}). Timestamp must be a nonnegative long (64-bit integer) `,
    );
  }
  return { key, value, timestamp: ms, step: int(entry, 'step') ?? 0 };
}

export function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Where MLflow keeps a page position: our cursor, opaque to the client. */
export function pageToken(input: Input): string | undefined {
  return str(input, 'page_token');
}

function tooMany(what: string, got: number, max: number): MlflowError {
  return new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `A batch logging request can contain at most ${max} ${what}. Got ${got} ${what}. Please split up ${what} across multiple requests and try again.`,
  );
}

/** MLflow's counts per `log-batch` request: metrics, params and tags each, then all together. */
export function checkBatchLimits(metrics: number, params: number, tags: number): void {
  if (metrics > MLFLOW_LIMITS.metricsPerBatch)
    throw tooMany('metrics', metrics, MLFLOW_LIMITS.metricsPerBatch);
  if (params > MLFLOW_LIMITS.paramsPerBatch) throw tooMany('params', params, MLFLOW_LIMITS.paramsPerBatch);
  if (tags > MLFLOW_LIMITS.tagsPerBatch) throw tooMany('tags', tags, MLFLOW_LIMITS.tagsPerBatch);
  const total = metrics + params + tags;
  if (total > MLFLOW_LIMITS.entitiesPerBatch) {
    throw tooMany('metrics, params, and tags', total, MLFLOW_LIMITS.entitiesPerBatch);
  }
}

/** One value per param key in a batch (MLflow refuses a repeated key even with the same value). */
export function checkUniqueParams(params: readonly KeyValue[]): void {
  const seen = new Set<string>();
  const dupes: string[] = [];
  for (const { key } of params) {
    if (seen.has(key)) dupes.push(key);
    seen.add(key);
  }
  if (dupes.length > 0) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Duplicate parameter keys have been submitted: [${dupes.map((k) => `'${k}'`).join(', ')}]. Please ensure the request contains only one param value per param key.`,
    );
  }
}
