import { z } from 'zod';
import { LIMITS } from './limits.js';
import { writerIdSchema } from './schemas.js';
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

const micros = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 53);

/** One call as a library sends it: the function, its arguments, the session, and any extra fields. */
export const telemetryRecordSchema = z
  .object({
    function: z
      .string()
      .min(1, { message: 'must not be empty' })
      .max(TELEMETRY_LIMITS.functionLength, {
        message: `must be at most ${TELEMETRY_LIMITS.functionLength} characters`,
      })
      .refine((s) => !CONTROL.test(s), { message: 'must not contain control characters' }),
    args: z.array(z.json()).optional(),
    kwargs: z.record(z.string(), z.json()).optional(),
    session_id: z
      .string()
      .max(TELEMETRY_LIMITS.sessionIdLength, {
        message: `must be at most ${TELEMETRY_LIMITS.sessionIdLength} characters`,
      })
      .nullable()
      .optional(),
    timestamp: micros.optional(),
  })
  .catchall(z.json())
  .superRefine((record, ctx) => {
    let extra = 0;
    for (const key of Object.keys(record)) {
      if ((TELEMETRY_RECORD_FIELDS as readonly string[]).includes(key)) continue;
      extra++;
      if ((TELEMETRY_RESERVED_FIELDS as readonly string[]).includes(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `'${key}' is reserved; name the field otherwise`,
        });
      } else if (key.length === 0 || key.length > LIMITS.keyLength || CONTROL.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `extra field names must be 1 to ${LIMITS.keyLength} printable characters`,
        });
      }
    }
    if (extra > TELEMETRY_LIMITS.extraFields) {
      ctx.addIssue({ code: 'custom', message: `at most ${TELEMETRY_LIMITS.extraFields} extra fields` });
    }
    if (JSON.stringify(record).length > TELEMETRY_LIMITS.recordBytes) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${TELEMETRY_LIMITS.recordBytes} bytes as JSON`,
      });
    }
  });

/** A batch of records; (writer, seq) makes a retry harmless, as for metric and event batches. */
export const telemetryBatchSchema = z.strictObject({
  writer: writerIdSchema,
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  records: z.array(telemetryRecordSchema).max(TELEMETRY_LIMITS.recordsPerBatch, {
    message: `at most ${TELEMETRY_LIMITS.recordsPerBatch} records`,
  }),
});

/** An ingest-only key for one service, created by an admin. */
export const telemetryKeyCreateSchema = z.strictObject({
  service: telemetryServicePathSchema,
  name: z
    .string()
    .min(1)
    .max(LIMITS.nameLength)
    .refine((s) => !CONTROL.test(s), { message: 'must not contain control characters' }),
  /** Workspace name or id the records go to; default: the admin's workspace. */
  workspace: z.string().min(1).max(LIMITS.nameLength).optional(),
  /** Seconds from now until the key stops working. */
  expiresIn: z.number().positive().finite().optional(),
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
  session_id: string | null;
  [extra: string]: Json;
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
