import { z } from 'zod';
import { durationSchema } from './durations.js';
import { SimscopeError } from './errors.js';
import { LIMITS } from './limits.js';
import { writerIdSchema } from './schemas.js';
import { unicodeProblem } from './validation.js';
import type { Json, JsonObject } from './views.js';

/** Limits on telemetry input; the telemetry sender keeps its batches and records within them. */
export const TELEMETRY_LIMITS = {
  /** Segments of a service path such as `intake/catalog`. */
  pathSegments: 8,
  pathLength: 255,
  functionLength: 255,
  sessionIdLength: 128,
  recordsPerBatch: 10_000,
  /** One record serialised as JSON. */
  recordBytes: 64 * 1024,
  extraFields: 64,
  /** Buckets one usage query may answer. */
  usageBuckets: 10_000,
} as const;

/** Record fields the wire gives a meaning; every other field of a record is an extra field. */
export const TELEMETRY_RECORD_FIELDS = ['function', 'args', 'kwargs', 'session_id', 'timestamp'] as const;

/** Field names a record may not use for an extra field, as the listing puts them beside the record's own. */
export const TELEMETRY_RESERVED_FIELDS = ['id'] as const;

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The service name of an endpoint path: `intake/catalog` → `intake_catalog`. */
export function telemetryServiceName(path: string): string {
  return path.replaceAll('/', '_');
}

/** Why `path` is not a service path, or null when it is one (`intake/catalog`: segments of letters, digits, `_ . -`). */
export function servicePathProblem(path: string): string | null {
  if (path.length === 0) return 'must not be empty';
  if (path.length > TELEMETRY_LIMITS.pathLength)
    return `must be at most ${TELEMETRY_LIMITS.pathLength} characters`;
  const segments = path.split('/');
  if (segments.length > TELEMETRY_LIMITS.pathSegments)
    return `must have at most ${TELEMETRY_LIMITS.pathSegments} segments`;
  if (segments.some((s) => !SEGMENT.test(s)))
    return "segments must be letters, digits, '_', '.' and '-', not starting with '.' or '-', and not empty";
  return null;
}

/** A service path such as `intake/catalog`. */
export const telemetryServicePathSchema = z.string().superRefine((path, ctx) => {
  const problem = servicePathProblem(path);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

function fail(field: string, message: string): never {
  throw new SimscopeError('invalid_field', `${field}: ${message}`, { details: { field } });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Checks that `value` is plain JSON (as msgpack can carry bytes, dates and non-finite numbers); names the spot. */
function checkJson(value: unknown, field: string, depth = 0): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(field, 'numbers must be finite');
      return;
    case 'object':
      if (value === null) return;
      // `depth` counts from 0 at the field, so objects and arrays nest at most `jsonDepth` levels, as in metadata.
      if (depth >= LIMITS.jsonDepth) fail(field, `must nest at most ${LIMITS.jsonDepth} levels deep`);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) checkJson(value[i], `${field}[${i}]`, depth + 1);
        return;
      }
      if (isObject(value) && Object.getPrototypeOf(value) === Object.prototype) {
        for (const key in value) checkJson(value[key], `${field}.${key}`, depth + 1);
        return;
      }
  }
  fail(field, 'expected a JSON value');
}

function readRecord(value: unknown, field: string): TelemetryRecordInput {
  if (!isObject(value)) fail(field, 'expected an object');
  const fn = value.function;
  if (typeof fn !== 'string') fail(`${field}.function`, 'required, a function name');
  if (fn.length === 0 || fn.length > TELEMETRY_LIMITS.functionLength || CONTROL.test(fn)) {
    fail(`${field}.function`, `must be 1 to ${TELEMETRY_LIMITS.functionLength} printable characters`);
  }
  let extra = 0;
  for (const key in value) {
    const v = value[key];
    const where = `${field}.${key}`;
    switch (key) {
      case 'function':
        break;
      case 'args':
        if (v !== undefined && !Array.isArray(v)) fail(where, 'expected an array');
        checkJson(v, where);
        break;
      case 'kwargs':
        if (v !== undefined && !isObject(v)) fail(where, 'expected an object');
        checkJson(v, where);
        break;
      case 'session_id':
        if (v !== undefined && v !== null && typeof v !== 'string') fail(where, 'expected a string or null');
        if (typeof v === 'string' && v.length > TELEMETRY_LIMITS.sessionIdLength) {
          fail(where, `must be at most ${TELEMETRY_LIMITS.sessionIdLength} characters`);
        }
        break;
      case 'timestamp':
        if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 2 ** 53)) {
          fail(where, 'expected microseconds since the epoch, a whole number from 0');
        }
        break;
      default:
        extra++;
        if ((TELEMETRY_RESERVED_FIELDS as readonly string[]).includes(key)) {
          fail(where, `'${key}' is reserved; name the field otherwise`);
        }
        if (key.length === 0 || key.length > LIMITS.keyLength || CONTROL.test(key)) {
          fail(where, `extra field names must be 1 to ${LIMITS.keyLength} printable characters`);
        }
        checkJson(v, where);
    }
  }
  if (extra > TELEMETRY_LIMITS.extraFields)
    fail(field, `at most ${TELEMETRY_LIMITS.extraFields} extra fields`);
  if (JSON.stringify(value).length > TELEMETRY_LIMITS.recordBytes) {
    fail(field, `must be at most ${TELEMETRY_LIMITS.recordBytes} bytes as JSON`);
  }
  return value as TelemetryRecordInput;
}

/**
 * Reads a batch of telemetry records (JSON or msgpack), or throws an `invalid_field` error naming the first bad
 * field. Written out by hand rather than as a schema: a batch holds up to 10 000 records of arbitrary JSON.
 */
export function readTelemetryBatch(body: unknown): TelemetryBatchInput {
  if (!isObject(body)) fail('body', 'expected an object { writer, seq, records }');
  for (const key of Object.keys(body)) {
    if (key !== 'writer' && key !== 'seq' && key !== 'records') fail(`body.${key}`, 'unknown field');
  }
  const writer = writerIdSchema.safeParse(body.writer);
  if (!writer.success) fail('body.writer', writer.error.issues[0]?.message ?? 'invalid');
  const seq = body.seq;
  if (!Number.isInteger(seq) || (seq as number) < 0 || (seq as number) > Number.MAX_SAFE_INTEGER) {
    fail('body.seq', 'expected a whole number from 0');
  }
  const records = body.records;
  if (!Array.isArray(records)) fail('body.records', 'expected an array');
  if (records.length > TELEMETRY_LIMITS.recordsPerBatch) {
    fail('body.records', `at most ${TELEMETRY_LIMITS.recordsPerBatch} records`);
  }
  const out: TelemetryRecordInput[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) out[i] = readRecord(records[i], `body.records[${i}]`);
  return { writer: writer.data, seq: seq as number, records: out };
}

/** An ingest-only key for one service, created by an admin. */
export const telemetryKeyCreateSchema = z.strictObject({
  service: telemetryServicePathSchema,
  name: z
    .string()
    .min(1)
    .max(LIMITS.nameLength)
    .refine((s) => !CONTROL.test(s), { message: 'must not contain control characters' })
    .refine((s) => unicodeProblem(s) === null, { message: 'must be well-formed Unicode' }),
  /** Workspace name or id the records go to; default: the admin's workspace. */
  workspace: z.string().min(1).max(LIMITS.nameLength).optional(),
  /** How long from now until the key stops working: seconds, or text such as '90d'. */
  expiresIn: durationSchema().optional(),
});

/** A record on the wire, as the telemetry sender posts it. */
export interface TelemetryRecordInput {
  function: string;
  args?: Json[];
  kwargs?: JsonObject;
  session_id?: string | null;
  /** Microseconds since the epoch; the server's receive time when absent. */
  timestamp?: number;
  [extra: string]: Json | undefined;
}

export interface TelemetryBatchInput {
  writer: string;
  seq: number;
  records: TelemetryRecordInput[];
}

/** A stored record as the API lists it: its own fields, then its extra fields. */
export interface TelemetryRecordView {
  id: number;
  timestamp: number;
  function: string;
  args: Json[];
  kwargs: JsonObject;
  /** Absent when the sender left it out (`popFields(service, ['session_id'])`). */
  session_id?: string;
  [extra: string]: Json | undefined;
}

export interface TelemetryServiceView {
  /** Endpoint path, `intake/catalog`. */
  path: string;
  /** Service name, `intake_catalog`. */
  name: string;
  records: number;
  /** Timestamp of the first and last record; null when there is none. */
  first: number | null;
  last: number | null;
  created: number;
}

export interface TelemetryKeyView {
  id: string;
  service: string;
  workspace: string;
  name: string;
  created: number;
  expires: number | null;
  revoked: number | null;
}

/**
 * Calls per function over time, columnar for charting: `times[i]` is the start of bucket i (µs), and each
 * function's `counts[i]` the calls in `[times[i], times[i] + bucket)`.
 */
export interface TelemetryUsageView {
  service: string;
  from: number;
  to: number;
  /** Bucket width in seconds. */
  bucket: number;
  times: number[];
  functions: { function: string; total: number; counts: number[] }[];
}
