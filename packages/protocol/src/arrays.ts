import { SimscopeError } from './errors.js';
import { LIMITS } from './limits.js';
import { unicodeProblem } from './validation.js';

/** Element types of an array, stored little-endian. */
export const ARRAY_DTYPES = [
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float32',
  'float64',
] as const;
export type ArrayDtype = (typeof ARRAY_DTYPES)[number];

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<ArrayDtype, number> = {
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  float32: 4,
  float64: 8,
};

/** Limits on arrays; server and client check the same numbers. */
/** The typed arrays that hold an array series' elements: one kind per dtype. */
export type NumericArray =
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

type NumericArrayKind = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => NumericArray;

const NUMERIC_ARRAY_KINDS: Record<ArrayDtype, NumericArrayKind> = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** The dtype of a typed array, or null when `value` is none of the kinds an array series holds. */
export function dtypeOfNumericArray(value: unknown): ArrayDtype | null {
  for (const dtype of ARRAY_DTYPES) if (value instanceof NUMERIC_ARRAY_KINDS[dtype]) return dtype;
  return null;
}

/**
 * The elements of `dtype` in `bytes`, without copying: `bytes.byteOffset` must be a multiple of the element size
 * (copy first when it may not be).
 */
export function numericArrayView(dtype: ArrayDtype, bytes: Uint8Array): NumericArray {
  const kind = NUMERIC_ARRAY_KINDS[dtype];
  return new kind(bytes.buffer, bytes.byteOffset, bytes.byteLength / DTYPE_BYTES[dtype]);
}

export const ARRAY_LIMITS = {
  /** Elements of a 1-D array. */
  length1d: 16 * 1024 * 1024,
  /** Each side of a 2-D array. */
  side2d: 4096,
  /** Each side of a 3-D array. */
  side3d: 256,
  /** Raw bytes per stored chunk (a multiple of every element size); each is deflated on its own. */
  chunkBytes: 1024 * 1024,
  /** Axes (coordinates and labels) of one array, as JSON. */
  axesBytes: 256 * 1024,
  /** Elements one JSON read may return (a raw read may return the whole array). */
  jsonElements: 1024 * 1024,
} as const;

/** Coordinates and a label of one dimension. */
export interface ArrayAxis {
  label?: string;
  /** One coordinate per index of the dimension. */
  values?: number[];
  /** Bin edges of a histogram dimension: one more than its length, increasing. */
  edges?: number[];
}

/** One stored step of an array series, as the API returns it. */
export interface ArrayStepView {
  name: string;
  step: number;
  /** Simulation time, or null. */
  time: number | null;
  shape: number[];
  dtype: ArrayDtype;
  axes: ArrayAxis[] | null;
  /** Over the finite elements; null when there are none. */
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Compressed bytes stored. */
  storedBytes: number;
  created: number;
}

/** One array series of a run, as listed. */
export interface ArraySeriesView {
  name: string;
  steps: number;
  firstStep: number;
  lastStep: number;
  dtype: ArrayDtype;
  shape: number[];
}

/** A region read in JSON: values in C order, NaN and ±Infinity as the strings 'NaN', 'Infinity', '-Infinity'. */
export interface ArrayDataView {
  name: string;
  step: number;
  time: number | null;
  dtype: ArrayDtype;
  shape: number[];
  values: (number | string)[];
}

/** `start:stop:stride` of one dimension, stop exclusive. */
export interface DimRange {
  start: number;
  stop: number;
  stride: number;
}

function fail(field: string, message: string): never {
  throw new SimscopeError('invalid_field', `${field}: ${message}`, { details: { field } });
}

/** An array series name: the metric-name rules (its summaries are metrics `name.min` …). */
export function arrayNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > LIMITS.nameLength - 5) return `must be at most ${LIMITS.nameLength - 5} characters`;
  return unicodeProblem(name);
}

/** Reads `512,512` into a shape, checking the limits per number of dimensions. */
export function parseShape(text: string, field = 'query.shape'): number[] {
  const parts = text.split(',');
  if (parts.length < 1 || parts.length > 3) fail(field, `must have 1 to 3 dimensions, got ${parts.length}`);
  const shape = parts.map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p.trim()) || !Number.isSafeInteger(n) || n < 1)
      fail(field, `each dimension must be a whole number ≥ 1, got '${p}'`);
    return n;
  });
  const max =
    shape.length === 1
      ? ARRAY_LIMITS.length1d
      : shape.length === 2
        ? ARRAY_LIMITS.side2d
        : ARRAY_LIMITS.side3d;
  const over = shape.find((n) => n > max);
  if (over !== undefined)
    fail(field, `a ${shape.length}-D array may have at most ${max} elements per dimension, got ${over}`);
  return shape;
}

export function parseDtype(text: string, field = 'query.dtype'): ArrayDtype {
  if (!(ARRAY_DTYPES as readonly string[]).includes(text))
    fail(field, `must be one of ${ARRAY_DTYPES.join(', ')}, got '${text.slice(0, 40)}'`);
  return text as ArrayDtype;
}

/** Checks axes (JSON text): one entry per dimension, coordinates as many as the dimension's length. */
export function parseAxes(text: string, shape: readonly number[], field = 'query.axes'): ArrayAxis[] {
  if (text.length > ARRAY_LIMITS.axesBytes) fail(field, `must be at most ${ARRAY_LIMITS.axesBytes} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    fail(field, 'must be JSON');
  }
  if (!Array.isArray(raw) || raw.length !== shape.length)
    fail(field, `must be a list of ${shape.length} axes, one per dimension`);
  return raw.map((axis, i) => {
    if (axis === null || typeof axis !== 'object' || Array.isArray(axis))
      fail(`${field}[${i}]`, 'must be an object');
    const { label, values, edges, ...rest } = axis as Record<string, unknown>;
    if (Object.keys(rest).length > 0) fail(`${field}[${i}]`, `unknown key '${Object.keys(rest)[0]}'`);
    const out: ArrayAxis = {};
    if (label !== undefined) {
      if (typeof label !== 'string' || label.length > 255)
        fail(`${field}[${i}].label`, 'must be text of ≤ 255 characters');
      out.label = label;
    }
    if (values !== undefined) {
      if (!Array.isArray(values) || values.length !== shape[i])
        fail(`${field}[${i}].values`, `must list ${shape[i]} numbers`);
      if (values.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
        fail(`${field}[${i}].values`, 'must be finite numbers');
      out.values = values as number[];
    }
    if (edges !== undefined) {
      if (!Array.isArray(edges) || edges.length !== (shape[i] ?? 0) + 1)
        fail(`${field}[${i}].edges`, `must list ${(shape[i] ?? 0) + 1} numbers`);
      if (edges.some((v, k) => typeof v !== 'number' || !Number.isFinite(v) || (k > 0 && v <= edges[k - 1])))
        fail(`${field}[${i}].edges`, 'must be finite increasing numbers');
      out.edges = edges as number[];
    }
    return out;
  });
}

/**
 * Reads a region such as `::4,100:200` (numpy's basic slicing, one part per dimension, missing parts whole)
 * against `shape`; an index past the end is clamped, a negative one counts from the end.
 */
export function parseRegion(
  text: string | null,
  shape: readonly number[],
  field = 'query.region',
): DimRange[] {
  const parts = text === null || text === '' ? [] : text.split(',');
  if (parts.length > shape.length) fail(field, `has ${parts.length} parts for a ${shape.length}-D array`);
  return shape.map((n, d) => {
    const part = (parts[d] ?? ':').trim();
    const bits = part.split(':');
    if (bits.length > 3) fail(field, `'${part}' is not start:stop:stride`);
    const num = (s: string | undefined, fallback: number): number => {
      if (s === undefined || s.trim() === '') return fallback;
      if (!/^-?\d+$/.test(s.trim())) fail(field, `'${part}' is not start:stop:stride`);
      const v = Number(s);
      return Math.min(n, Math.max(0, v < 0 ? n + v : v));
    };
    if (bits.length === 1) {
      const i = num(bits[0], 0);
      if (i >= n) fail(field, `index ${bits[0]} is outside dimension ${d} of length ${n}`);
      return { start: i, stop: i + 1, stride: 1 };
    }
    const stride = bits[2] === undefined || bits[2].trim() === '' ? 1 : Number(bits[2]);
    if (!Number.isSafeInteger(stride) || stride < 1)
      fail(field, `stride in '${part}' must be a whole number ≥ 1`);
    const start = num(bits[0], 0);
    const stop = Math.max(start, num(bits[1], n));
    if (stop === start) fail(field, `'${part}' selects nothing in dimension ${d} of length ${n}`);
    return { start, stop, stride };
  });
}

/** Length of each dimension of a region. */
export function regionShape(region: readonly DimRange[]): number[] {
  return region.map((r) => Math.ceil((r.stop - r.start) / r.stride));
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The values of one element of an array series across its steps (`GET /runs/:run/arrays/cell`). */
export interface ArrayCellView {
  name: string;
  /** The element's index per dimension. */
  cell: number[];
  dtype: ArrayDtype | null;
  steps: number[];
  times: (number | null)[];
  /** NaN and ±Infinity as strings; null where a step's shape does not hold the cell. */
  values: (number | string | null)[];
  next: string | null;
}

/** An HDF5 export of an array series, made in the background (`POST /runs/:run/arrays/exports`). */
export interface ArrayExportView {
  id: string;
  name: string;
  state: 'running' | 'done' | 'failed';
  /** Steps written so far, of `steps`. */
  written: number;
  steps: number;
  /** Size of the finished file. */
  bytes: number | null;
  error: string | null;
}
