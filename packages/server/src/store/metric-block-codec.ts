import type { Points } from './metric-store.js';

/**
 * A block as stored. Values are little-endian float64. Steps are left out when evenly spaced, and steps and
 * timestamps are int32 offsets from their minimum when those fit (4 bytes a point instead of 8: the byte
 * length tells which). Times are left out when they are derived from the timestamps (`timeOrigin`).
 */
export interface EncodedBlock {
  n: number;
  stepMin: number;
  stepMax: number;
  stepStride: number | null;
  timeMin: number;
  timeMax: number;
  tsMin: number;
  tsMax: number;
  timeOrigin: number | null;
  steps: Uint8Array | null;
  times: Uint8Array | null;
  timestamps: Uint8Array;
  values: Uint8Array;
}

const INT32_SPAN = 2 ** 31 - 1;

/** Integers as int32 offsets from `min` when the span fits, else float64. */
function integerBytes(column: Float64Array, min: number, max: number): Uint8Array {
  if (max - min > INT32_SPAN) return bytes(column);
  const out = new Int32Array(column.length);
  for (let i = 0; i < column.length; i++) out[i] = (column[i] ?? Number.NaN) - min;
  return new Uint8Array(out.buffer);
}

/** Reads a column written by `integerBytes` for a block of `n` points. */
export function integerColumn(raw: Uint8Array, n: number, min: number): Float64Array {
  if (raw.byteLength === n * 8) return float64Column(raw);
  const offsets =
    raw.byteOffset % 4 === 0
      ? new Int32Array(raw.buffer, raw.byteOffset, n)
      : new Int32Array(Uint8Array.prototype.slice.call(raw).buffer);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (offsets[i] ?? Number.NaN) + min;
  return out;
}

/** Times of a block: stored, or recomputed from its timestamps exactly as `fillPoints` computed them. */
export function timeColumn(
  raw: Uint8Array | null,
  timestamps: Float64Array,
  origin: number | null,
): Float64Array {
  if (raw) return float64Column(raw);
  const out = new Float64Array(timestamps.length);
  const o = origin ?? 0;
  for (let i = 0; i < out.length; i++) out[i] = ((timestamps[i] ?? Number.NaN) - o) / 1e6;
  return out;
}

function bytes(column: Float64Array): Uint8Array {
  return new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
}

function range(column: Float64Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < column.length; i++) {
    const v = column[i] ?? Number.NaN;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

function strideOf(steps: Float64Array): number | null {
  const n = steps.length;
  if (n === 1) return 0;
  const first = steps[0] ?? Number.NaN;
  const stride = (steps[1] ?? Number.NaN) - first;
  for (let i = 2; i < n; i++) if (steps[i] !== first + i * stride) return null;
  return stride;
}

/** Encodes filled points (at least one) as a block row. */
export function encodeBlock(p: Points): EncodedBlock {
  const [stepMin, stepMax] = range(p.steps);
  const [timeMin, timeMax] = range(p.times);
  const [tsMin, tsMax] = range(p.timestamps);
  const stride = strideOf(p.steps);
  const timeOrigin = p.timeOrigin ?? null;
  return {
    n: p.values.length,
    stepMin,
    stepMax,
    stepStride: stride,
    timeMin,
    timeMax,
    tsMin,
    tsMax,
    timeOrigin,
    steps: stride === null ? integerBytes(p.steps, stepMin, stepMax) : null,
    times: timeOrigin === null ? bytes(p.times) : null,
    timestamps: integerBytes(p.timestamps, tsMin, tsMax),
    values: bytes(p.values),
  };
}

/** A float64 column over stored bytes, copied only when the driver's buffer is not 8-byte aligned. */
export function float64Column(raw: Uint8Array): Float64Array {
  if (raw.byteOffset % 8 === 0) return new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
  return new Float64Array(Uint8Array.prototype.slice.call(raw).buffer);
}

/** Steps of a block: stored, or rebuilt from its first step and stride. */
export function stepColumn(
  raw: Uint8Array | null,
  n: number,
  stepMin: number,
  stride: number | null,
): Float64Array {
  if (raw) return integerColumn(raw, n, stepMin);
  const out = new Float64Array(n);
  const s = stride ?? 0;
  const first = s < 0 ? stepMin - (n - 1) * s : stepMin;
  for (let i = 0; i < n; i++) out[i] = first + i * s;
  return out;
}
