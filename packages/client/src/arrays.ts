import {
  ARRAY_LIMITS,
  type ArrayAxis,
  type ArrayDtype,
  DTYPE_BYTES,
  dtypeOfNumericArray,
  MSGPACK_TYPE,
  type NumericArray,
  numericArrayView,
  parseShape,
} from '@simscope/protocol';
import { unpack } from 'msgpackr';
import { ClientError } from './errors.js';
import type { HttpTransport } from './http-transport.js';

/** The typed arrays `logArray` takes; the dtype follows from the kind. */
export type { NumericArray };

export interface LogArrayOptions {
  step: number;
  /** Simulation time of the step. */
  time?: number;
  /** Dimensions in C order (default: one dimension of the array's length). */
  shape?: readonly number[];
  /** One `{ label, values }` per dimension (values: a coordinate per index; `edges`: one more than the length). */
  axes?: ArrayAxis[];
}

export interface LogHistogramOptions {
  step: number;
  time?: number;
  /** Bins per dimension when raw values are given (default 64). */
  bins?: number;
  /** `[low, high]` per dimension (default: the finite values' min and max). */
  range?: [number, number] | [[number, number], [number, number]];
}

/** Histogram input: raw values (1-D), `{ x, y }` raw pairs (2-D), or bins already counted. */
export type HistogramInput =
  | ArrayLike<number>
  | { x: ArrayLike<number>; y: ArrayLike<number> }
  | { edges: ArrayLike<number> | [ArrayLike<number>, ArrayLike<number>]; counts: ArrayLike<number> };

/** An array step read back: its elements as the typed array of its dtype. */
export interface ArrayData {
  step: number;
  /** Simulation time, or null. */
  time: number | null;
  dtype: ArrayDtype;
  shape: number[];
  values: NumericArray;
}

function fail(field: string, message: string): never {
  throw new ClientError('invalid_field', `${field}: ${message}`, 0);
}

/** The dtype of a typed array, or an error naming `field`. */
function dtypeOf(array: unknown, field = 'logArray array'): ArrayDtype {
  return dtypeOfNumericArray(array) ?? fail(field, 'expected a typed array such as Float32Array');
}

/** A typed array of `dtype` over little-endian `bytes` (copied when not aligned). */
function typedArrayOf(dtype: ArrayDtype, bytes: Uint8Array): NumericArray {
  const size = DTYPE_BYTES[dtype];
  // A copy where the bytes sit at an odd offset (Buffer.slice would share them, offset and all).
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  return numericArrayView(dtype, aligned);
}

/** One array step waiting to be sent: its query and a copy of its bytes (the caller may reuse its array). */
export interface PendingArray {
  query: Record<string, string | number | undefined>;
  bytes: Uint8Array;
}

/** Checks an array and its options and copies it into a pending upload. */
export function pendingArray(name: string, array: NumericArray, options: LogArrayOptions): PendingArray {
  const dtype = dtypeOf(array);
  if (!Number.isSafeInteger(options.step) || options.step < 0)
    fail('logArray options.step', `must be a whole number ≥ 0, got ${options.step}`);
  const shape = parseShape((options.shape ?? [array.length]).join(','), 'logArray options.shape');
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== array.length)
    fail('logArray options.shape', `${shape.join('×')} is ${count} elements, the array has ${array.length}`);
  // A copy, so that the simulation may overwrite its array at once.
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength).slice();
  return {
    query: {
      name,
      step: options.step,
      time: options.time,
      shape: shape.join(','),
      dtype,
      axes: options.axes === undefined ? undefined : JSON.stringify(options.axes),
    },
    bytes,
  };
}

function finiteRange(values: ArrayLike<number>): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

function edgesOf([lo, hi]: [number, number], bins: number): Float64Array {
  return Float64Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
}

/** The bin of `v` among `bins` equal bins over [lo, hi] (the last bin holds hi), or -1 outside. */
function binOf(v: number, lo: number, hi: number, bins: number): number {
  if (!(v >= lo && v <= hi)) return -1;
  return v === hi ? bins - 1 : Math.floor(((v - lo) / (hi - lo)) * bins);
}

/**
 * A histogram as an array step: counts (float64) with the bin edges on its axes (`edges`, one more than the
 * bins). Raw values are binned here, over `range` (default: their finite min and max); NaN, ±Infinity and
 * values outside the range are left out.
 */
export function histogramArray(
  input: HistogramInput,
  options: LogHistogramOptions,
): { counts: Float64Array; shape: number[]; axes: ArrayAxis[] } {
  const bins = options.bins ?? 64;
  if (!Number.isSafeInteger(bins) || bins < 1 || bins > ARRAY_LIMITS.side2d)
    fail('logHistogram options.bins', `must be a whole number from 1 to ${ARRAY_LIMITS.side2d}`);
  if ('counts' in input) {
    const twoD = Array.isArray(input.edges) && typeof input.edges[0] !== 'number';
    const edges = (twoD ? input.edges : [input.edges]) as ArrayLike<number>[];
    const shape = edges.map((e) => e.length - 1);
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== input.counts.length)
      fail('logHistogram counts', `expected ${count} counts for these edges, got ${input.counts.length}`);
    return {
      counts: Float64Array.from(input.counts),
      shape,
      axes: edges.map((e) => ({ edges: Array.from(e) })),
    };
  }
  if ('x' in input) {
    if (input.x.length !== input.y.length) fail('logHistogram values', 'x and y must have the same length');
    const [rx, ry] = (options.range as [[number, number], [number, number]] | undefined) ?? [
      finiteRange(input.x),
      finiteRange(input.y),
    ];
    const counts = new Float64Array(bins * bins);
    for (let i = 0; i < input.x.length; i++) {
      const bx = binOf(input.x[i] ?? Number.NaN, rx[0], rx[1], bins);
      const by = binOf(input.y[i] ?? Number.NaN, ry[0], ry[1], bins);
      if (bx >= 0 && by >= 0) counts[bx * bins + by] = (counts[bx * bins + by] ?? 0) + 1;
    }
    return {
      counts,
      shape: [bins, bins],
      axes: [{ edges: Array.from(edgesOf(rx, bins)) }, { edges: Array.from(edgesOf(ry, bins)) }],
    };
  }
  const range = (options.range as [number, number] | undefined) ?? finiteRange(input);
  const counts = new Float64Array(bins);
  for (let i = 0; i < input.length; i++) {
    const b = binOf(input[i] ?? Number.NaN, range[0], range[1], bins);
    if (b >= 0) counts[b] = (counts[b] ?? 0) + 1;
  }
  return { counts, shape: [bins], axes: [{ edges: Array.from(edgesOf(range, bins)) }] };
}

const sendingKey = (p: PendingArray) => `${p.query.name}\u0000${p.query.step}`;

/** Uploads of logged arrays under way at once. */
const ARRAY_UPLOADS = 3;

/**
 * Sends logged arrays in the background, up to `ARRAY_UPLOADS` at a time, taken in the order logged; holds at most `maxBytes` waiting
 * (an array that finds it full is dropped and counted). Not spooled to disk: arrays logged while the server is
 * unreachable are retried by the transport, then reported through `onError`.
 */
export class ArraySender {
  readonly #transport: HttpTransport;
  readonly #runId: string;
  readonly #maxBytes: number;
  readonly #onError: (error: unknown) => void;
  readonly #queue: PendingArray[] = [];
  /** The upload loops running now, at most `ARRAY_UPLOADS`. */
  readonly #drains = new Set<Promise<void>>();
  /** Name and step of each upload under way: a step logged again goes out once the one before it is stored. */
  readonly #sending = new Set<string>();
  #queuedBytes = 0;
  dropped = 0;
  sent = 0;

  constructor(transport: HttpTransport, runId: string, maxBytes: number, onError: (error: unknown) => void) {
    this.#transport = transport;
    this.#runId = runId;
    this.#maxBytes = maxBytes;
    this.#onError = onError;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  add(pending: PendingArray): void {
    if (this.#queuedBytes + pending.bytes.byteLength > this.#maxBytes && this.#queue.length > 0) {
      this.dropped++;
      return;
    }
    this.#queue.push(pending);
    this.#queuedBytes += pending.bytes.byteLength;
    this.#startUploads();
  }

  /**
   * A few uploads at once, so the server stores several steps in parallel; each step stands alone. A loop starts
   * for each array that can go now, up to `ARRAY_UPLOADS` loops.
   */
  #startUploads(): void {
    while (this.#drains.size < ARRAY_UPLOADS) {
      const first = this.#take();
      if (!first) return;
      const drain: Promise<void> = this.#drain(first).finally(() => {
        this.#drains.delete(drain);
        // An array added while this loop was ending found every place taken, or waited for this loop's step.
        this.#startUploads();
      });
      this.#drains.add(drain);
    }
  }

  /** Takes the first array waiting whose step is not being uploaded now (the later one must be stored last). */
  #take(): PendingArray | undefined {
    const at = this.#queue.findIndex((p) => !this.#sending.has(sendingKey(p)));
    if (at === -1) return undefined;
    const next = at === 0 ? this.#queue.shift() : this.#queue.splice(at, 1)[0];
    if (next) this.#sending.add(sendingKey(next));
    return next;
  }

  async #drain(first: PendingArray): Promise<void> {
    for (let next: PendingArray | undefined = first; next; next = this.#take()) {
      try {
        const bytes = next.bytes;
        const answer = await this.#transport.streamCall('saveArray', {
          params: { run: this.#runId },
          query: next.query,
          headers: { 'content-type': 'application/octet-stream' },
          body: () => bytes,
          length: bytes.byteLength,
          // Saving a step again replaces it, so a retry is safe.
          idempotent: true,
        });
        answer.body.resume();
        await new Promise((resolve) => answer.body.once('end', resolve));
        this.sent++;
      } catch (error) {
        this.#onError(error);
      } finally {
        this.#queuedBytes -= next.bytes.byteLength;
        this.#sending.delete(sendingKey(next));
      }
    }
  }

  /** Waits until every array logged so far is sent (or has failed). */
  async flush(): Promise<void> {
    while (this.#drains.size > 0) await Promise.all(this.#drains);
  }
}

/** The msgpack answer of a step read: the JSON answer's fields, with the elements' little-endian bytes as `data`. */
interface PackedArray {
  step: number;
  time: number | null;
  dtype: ArrayDtype;
  shape: number[];
  data: Uint8Array;
}

/**
 * Reads one step of an array series (the last when `step` is absent) as a typed array, asking for msgpack: one
 * map with the step, its time, dtype and shape beside the elements' bytes.
 */
export async function readArray(
  transport: HttpTransport,
  run: string,
  name: string,
  step: number | undefined,
  options: { region?: string; nearest?: boolean } = {},
): Promise<ArrayData> {
  const answer = await transport.streamCall('readArray', {
    params: { run },
    query: { name, step, region: options.region, nearest: options.nearest ? 'true' : undefined },
    headers: { accept: MSGPACK_TYPE },
  });
  const parts: Buffer[] = [];
  for await (const part of answer.body) parts.push(part as Buffer);
  const packed = unpack(Buffer.concat(parts)) as PackedArray;
  return {
    step: packed.step,
    time: packed.time,
    dtype: packed.dtype,
    shape: packed.shape,
    values: typedArrayOf(packed.dtype, packed.data),
  };
}
