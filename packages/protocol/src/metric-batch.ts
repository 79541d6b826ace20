import { SimscopeError } from './errors.js';
import { LIMITS } from './limits.js';
import { writerIdSchema } from './schemas.js';
import { unicodeProblem } from './validation.js';

/**
 * One metric's points in a batch, as columns of equal length.
 * A missing step, time or timestamp is NaN; a whole missing column is null.
 */
export interface MetricSeries {
  name: string;
  steps: Float64Array | null;
  times: Float64Array | null;
  timestamps: Float64Array | null;
  values: Float64Array;
}

/** A metric batch from one writer: `(run, writer, seq)` is stored once. */
export interface MetricBatch {
  writer: string;
  seq: number;
  /** The writer's clock when it sent the batch (µs since the epoch), or null when it did not say. */
  clock: number | null;
  series: MetricSeries[];
}

/** In binary columns, this int64 stands for a missing step or timestamp. */
export const MISSING_INT64 = -(2 ** 63);

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };
const TWO_32 = 4294967296;
/** The high word of 2^53: int64s beyond ±(2^53 − 1) are refused, as JSON numbers there are not exact. */
const SAFE_HIGH = 0x200000;
// One text for both encodings: a client sees the same refusal whether it sent JSON or msgpack.
const INTEGER_RANGE = 'expected a whole number from -(2^53 − 1) to 2^53 − 1, or null';
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

function fail(field: string, message: string): never {
  throw new SimscopeError('invalid_field', `${field}: ${message}`, { details: { field } });
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function float64FromBytes(bytes: Uint8Array, field: string): Float64Array {
  if (bytes.byteLength % 8 !== 0)
    fail(field, `binary column must be a multiple of 8 bytes, got ${bytes.byteLength}`);
  if (bytes.byteOffset % 8 === 0)
    return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  return new Float64Array(Uint8Array.prototype.slice.call(bytes).buffer);
}

function int64FromBytes(bytes: Uint8Array, field: string): Float64Array {
  if (bytes.byteLength % 8 !== 0)
    fail(field, `binary column must be a multiple of 8 bytes, got ${bytes.byteLength}`);
  const n = bytes.byteLength / 8;
  const words =
    bytes.byteOffset % 4 === 0
      ? new Int32Array(bytes.buffer, bytes.byteOffset, n * 2)
      : new Int32Array(Uint8Array.prototype.slice.call(bytes).buffer);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const hi = words[2 * i + 1] ?? 0;
    const lo = (words[2 * i] ?? 0) >>> 0;
    if (hi === -2147483648 && lo === 0) {
      out[i] = Number.NaN;
      continue;
    }
    if (hi >= SAFE_HIGH || hi < -SAFE_HIGH || (hi === -SAFE_HIGH && lo === 0)) {
      fail(`${field}[${i}]`, `${INTEGER_RANGE}, got ${hi * TWO_32 + lo}`);
    }
    out[i] = hi * TWO_32 + lo;
  }
  return out;
}

function valuesFromJson(raw: unknown[], field: string): Float64Array {
  const out = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (typeof v === 'number') out[i] = v;
    else if (typeof v === 'string' && v in NON_FINITE) out[i] = NON_FINITE[v] ?? Number.NaN;
    else
      fail(`${field}[${i}]`, `expected a number or "NaN", "Infinity", "-Infinity", got ${JSON.stringify(v)}`);
  }
  return out;
}

function integersFromJson(raw: unknown[], field: string): Float64Array {
  const out = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (v === null) out[i] = Number.NaN;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) out[i] = v;
    else fail(`${field}[${i}]`, `${INTEGER_RANGE}, got ${JSON.stringify(v)}`);
  }
  return out;
}

function timesFromJson(raw: unknown[], field: string): Float64Array {
  const out = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (v === null) out[i] = Number.NaN;
    else if (typeof v === 'number' && Number.isFinite(v)) out[i] = v;
    else fail(`${field}[${i}]`, `expected a finite number of seconds or null, got ${JSON.stringify(v)}`);
  }
  return out;
}

function checkIntegers(column: Float64Array, field: string): void {
  for (let i = 0; i < column.length; i++) {
    const v = column[i] ?? Number.NaN;
    if (Number.isNaN(v)) continue;
    if (!Number.isSafeInteger(v)) fail(`${field}[${i}]`, `${INTEGER_RANGE}, got ${v}`);
  }
}

function checkFinite(column: Float64Array, field: string): void {
  for (let i = 0; i < column.length; i++) {
    const v = column[i] ?? Number.NaN;
    if (v === Infinity || v === -Infinity) fail(`${field}[${i}]`, `expected a finite number, got ${v}`);
  }
}

type ColumnKind = 'values' | 'integers' | 'times';

function readColumn(raw: unknown, kind: ColumnKind, field: string): Float64Array {
  if (isBytes(raw)) {
    if (kind === 'integers') return int64FromBytes(raw, field);
    const column = float64FromBytes(raw, field);
    if (kind === 'times') checkFinite(column, field);
    return column;
  }
  if (Array.isArray(raw)) {
    if (kind === 'values') return valuesFromJson(raw, field);
    if (kind === 'integers') return integersFromJson(raw, field);
    return timesFromJson(raw, field);
  }
  if (raw instanceof Float64Array) {
    if (kind === 'integers') checkIntegers(raw, field);
    if (kind === 'times') checkFinite(raw, field);
    return raw;
  }
  return fail(field, 'expected an array of numbers or a binary column');
}

const SERIES_FIELDS = new Set([
  'name',
  'steps',
  'stepStart',
  'times',
  'timestamps',
  'timestampOrigin',
  'values',
]);

/**
 * The timestamps of points `times` seconds after `origin` (µs since the epoch): `round(origin + time × 10⁶)`.
 * A writer that sends `timestampOrigin` instead of timestamps computes its own the same way, so both agree.
 * Origins and timestamps outside 0 to `LIMITS.maxMicros` are refused, naming `field` or `timesField`.
 */
export function timestampsFromOrigin(
  origin: number,
  times: Float64Array,
  field = 'timestampOrigin',
  timesField = 'times',
): Float64Array {
  if (typeof origin !== 'number' || !(origin >= 0 && origin <= LIMITS.maxMicros)) {
    fail(field, `expected microseconds since the epoch, 0 to 2^53 − 1, got ${JSON.stringify(origin)}`);
  }
  const out = new Float64Array(times.length);
  for (let i = 0; i < out.length; i++) {
    const t = times[i] ?? Number.NaN;
    const ts = Math.round(origin + t * 1e6);
    if (ts < 0 || ts > LIMITS.maxMicros) {
      fail(`${timesField}[${i}]`, `gives timestamp ${ts} with timestampOrigin, outside 0 to 2^53 − 1`);
    }
    out[i] = Number.isNaN(t) ? Number.NaN : ts;
  }
  return out;
}

function readSeries(raw: unknown, field: string): MetricSeries {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(field, 'expected an object');
  const s = raw as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!SERIES_FIELDS.has(key)) {
      fail(`${field}.${key}`, `unknown field; a series has ${[...SERIES_FIELDS].join(', ')}`);
    }
  }
  const name = s.name;
  if (typeof name !== 'string' || name.length === 0) fail(`${field}.name`, 'expected a non-empty string');
  if (name.length > LIMITS.nameLength)
    fail(`${field}.name`, `must be at most ${LIMITS.nameLength} characters`);
  if (CONTROL.test(name)) fail(`${field}.name`, 'must not contain control characters');
  const problem = unicodeProblem(name);
  if (problem) fail(`${field}.name`, problem);
  if (s.values === undefined) fail(`${field}.values`, 'is required');
  const values = readColumn(s.values, 'values', `${field}.values`);
  const optional = (key: 'steps' | 'times' | 'timestamps', kind: ColumnKind) => {
    const col = s[key];
    if (col === undefined || col === null) return null;
    const out = readColumn(col, kind, `${field}.${key}`);
    if (out.length !== values.length) {
      fail(`${field}.${key}`, `has ${out.length} entries but values has ${values.length}`);
    }
    return out;
  };
  let steps = optional('steps', 'integers');
  const times = optional('times', 'times');
  let timestamps = optional('timestamps', 'integers');
  if (s.stepStart !== undefined) {
    if (steps) fail(`${field}.stepStart`, 'give steps or stepStart, not both');
    const start = s.stepStart;
    if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) {
      fail(`${field}.stepStart`, `expected an integer ≥ 0, got ${JSON.stringify(start)}`);
    }
    if (values.length > 0 && start > Number.MAX_SAFE_INTEGER - (values.length - 1)) {
      fail(`${field}.stepStart`, `steps from ${start} for ${values.length} values pass 2^53 − 1`);
    }
    steps = new Float64Array(values.length);
    for (let i = 0; i < steps.length; i++) steps[i] = start + i;
  }
  if (s.timestampOrigin !== undefined) {
    if (timestamps) fail(`${field}.timestampOrigin`, 'give timestamps or timestampOrigin, not both');
    if (!times) fail(`${field}.timestampOrigin`, 'needs times');
    timestamps = timestampsFromOrigin(
      s.timestampOrigin as number,
      times,
      `${field}.timestampOrigin`,
      `${field}.times`,
    );
  }
  if (timestamps) {
    for (let i = 0; i < timestamps.length; i++) {
      const t = timestamps[i] ?? Number.NaN;
      if (t < 0) fail(`${field}.timestamps[${i}]`, `expected microseconds since the epoch, got ${t}`);
    }
  }
  return { name, steps, times, timestamps, values };
}

/**
 * Checks a decoded metric batch (from JSON or msgpack) and returns its columns as Float64Arrays.
 * Throws an `invalid_field` error naming the first bad field.
 */
export function readMetricBatch(raw: unknown): MetricBatch {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('body', 'expected an object');
  const body = raw as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key !== 'writer' && key !== 'seq' && key !== 'series' && key !== 'clock') {
      fail(`body.${key}`, 'unknown field; a metric batch has writer, seq, clock, series');
    }
  }
  const clock = body.clock ?? null;
  if (
    clock !== null &&
    (typeof clock !== 'number' || !Number.isFinite(clock) || clock < 0 || clock > 2 ** 53)
  ) {
    fail('body.clock', `expected microseconds since the epoch, got ${JSON.stringify(clock)}`);
  }
  const writer = writerIdSchema.safeParse(body.writer);
  if (!writer.success) fail('body.writer', writer.error.issues[0]?.message ?? 'invalid');
  const seq = body.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    fail('body.seq', 'expected a non-negative integer');
  }
  const rawSeries = body.series;
  if (!Array.isArray(rawSeries)) fail('body.series', 'expected an array');
  if (rawSeries.length > LIMITS.seriesPerBatch)
    fail('body.series', `at most ${LIMITS.seriesPerBatch} series per batch`);
  const series: MetricSeries[] = [];
  let points = 0;
  for (let i = 0; i < rawSeries.length; i++) {
    const one = readSeries(rawSeries[i], `body.series[${i}]`);
    points += one.values.length;
    if (points > LIMITS.pointsPerBatch)
      fail('body.series', `at most ${LIMITS.pointsPerBatch} points per batch`);
    series.push(one);
  }
  return { writer: writer.data, seq, clock: clock === null ? null : Math.round(clock), series };
}

/** Little-endian int64 bytes of integer-valued doubles; NaN becomes `MISSING_INT64`. */
export function int64Bytes(column: Float64Array): Uint8Array {
  const words = new Int32Array(column.length * 2);
  for (let i = 0; i < column.length; i++) {
    const v = column[i] ?? Number.NaN;
    if (Number.isNaN(v)) {
      words[2 * i] = 0;
      words[2 * i + 1] = -2147483648;
      continue;
    }
    const hi = Math.floor(v / TWO_32);
    words[2 * i] = v - hi * TWO_32;
    words[2 * i + 1] = hi;
  }
  return new Uint8Array(words.buffer);
}

/** Little-endian float64 bytes of a column (a view, no copy). */
export function float64Bytes(column: Float64Array): Uint8Array {
  return new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
}

/** A number as JSON allows it: finite numbers as they are, NaN and ±Infinity as strings. */
export function jsonNumber(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}
