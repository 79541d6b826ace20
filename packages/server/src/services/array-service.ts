import { Readable } from 'node:stream';
import {
  ARRAY_LIMITS,
  type ArrayAxis,
  type ArrayDataView,
  type ArrayDtype,
  type ArraySeriesView,
  type ArrayStepView,
  type DimRange,
  DTYPE_BYTES,
  elementCount,
  type NumericArray,
  numericArrayView,
  parseAxes,
  parseRegion,
  regionShape,
  SimscopeError,
} from '@simscope/protocol';
import type { BlobStore } from '../blob/blob-store.js';
import type { ArrayChunk, ArrayStepRecord, StepMetrics } from '../store/array-store.js';
import type { RunRecord } from '../store/store.js';
import { ChunkBuffers, decodePlanes, encodeChunk, unshuffle } from './array-chunk-codec.js';
import { LevelGatherer, levelShape, regionInLevel, splitLevels } from './array-levels.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, pageOf } from './cursor.js';
import { NotFoundError } from './errors.js';

/** The writer under which array summaries are stored as metrics. */
const ARRAY_SUMMARY_WRITER = 'simscope.arrays';

export interface SaveArrayInput {
  name: string;
  step: number;
  time: number | null;
  shape: number[];
  dtype: ArrayDtype;
  axes: string | null;
}

export interface ReadArrayInput {
  name: string;
  step: number | null;
  nearest: boolean;
  region: string | null;
  format: 'raw' | 'json';
}

/** A read's answer: JSON, or raw little-endian bytes streamed with their dtype and shape. */
export type ArrayRead =
  | { format: 'json'; data: ArrayDataView }
  | { format: 'raw'; step: ArrayStepRecord; shape: number[]; stream: Readable };

/** The elements of `bytes` (aligned: offset 0 of its own buffer) as a typed array of `dtype`. */
export function typedView(dtype: ArrayDtype, bytes: Buffer): NumericArray {
  return numericArrayView(dtype, bytes);
}

/** Min, max and sum over the finite elements seen so far. */
class Summary {
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  sum = 0;
  count = 0;

  add(values: NumericArray): void {
    if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
      this.#add(Float64Array.from(values, Number));
      return;
    }
    this.#add(values);
  }

  #add(values: Exclude<NumericArray, BigInt64Array | BigUint64Array>): void {
    if (Number.isFinite(this.sum)) {
      // Most chunks hold only finite values: one pass without a check per element, in the same order (so the
      // same sum). A NaN or ±Infinity leaves the sum not finite, and the checked pass below runs instead.
      let { min: lo, max: hi, sum: total } = this;
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        total += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (Number.isFinite(total)) {
        Object.assign(this, { min: lo, max: hi, sum: total, count: this.count + values.length });
        return;
      }
    }
    let { min, max, sum, count } = this;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      count++;
    }
    Object.assign(this, { min, max, sum, count });
  }

  get result(): { min: number | null; max: number | null; mean: number | null } {
    if (this.count === 0) return { min: null, max: null, mean: null };
    return { min: this.min, max: this.max, mean: this.sum / this.count };
  }
}

function arrayStepView(s: ArrayStepRecord): ArrayStepView {
  return {
    name: s.name,
    step: s.step,
    time: s.time,
    shape: s.shape,
    dtype: s.dtype,
    axes: s.axes,
    min: s.min,
    max: s.max,
    mean: s.mean,
    storedBytes: s.storedBytes,
    created: s.createdAt,
  };
}

function jsonNumber(v: number | bigint): number | string {
  const n = Number(v);
  return Number.isFinite(n) ? n : String(n);
}

/** The blob store arrays live in, or 503 when the server has none. */
export function blobStoreOf(blobs: BlobStore | null): BlobStore {
  if (!blobs)
    throw new SimscopeError(
      'unavailable',
      'arrays need a blob store; start the server with one (--blob-dir or S3)',
    );
  return blobs;
}

/**
 * Array series: steps arrive as streamed little-endian bytes, are cut into chunks of `ARRAY_LIMITS.chunkBytes`,
 * summarised, deflated and stored as blobs one chunk at a time, so a field never sits in memory whole.
 */
export class ArrayService {
  readonly #blobs: BlobStore | null;
  readonly #buffers = new ChunkBuffers();

  constructor(options: { blobs: BlobStore | null | undefined }) {
    this.#blobs = options.blobs ?? null;
  }

  #store(): BlobStore {
    return blobStoreOf(this.#blobs);
  }

  async save(
    ctx: ServiceContext,
    run: RunRecord,
    input: SaveArrayInput,
    body: AsyncIterable<Buffer> | undefined,
  ): Promise<ArrayStepView> {
    const blobs = this.#store();
    const axes: ArrayAxis[] | null = input.axes === null ? null : parseAxes(input.axes, input.shape);
    const size = DTYPE_BYTES[input.dtype];
    const expected = elementCount(input.shape) * size;
    const summary = new Summary();
    const level = levelShape(input.shape) ? new LevelGatherer(input.shape, input.dtype) : null;
    const chunks: ArrayChunk[] = [];
    // One buffer for every chunk: storing a chunk takes what it needs of it before returning (encodeChunk copies
    // while shuffling). Unsafe: every byte is written before a chunk is stored (the byte count is enforced).
    const buffer = Buffer.allocUnsafe(Math.min(ARRAY_LIMITS.chunkBytes, expected));
    let pending = buffer;
    let filled = 0;
    let received = 0;
    // Up to CHUNKS_IN_FLIGHT chunks are compressed and stored at once (zlib runs in the thread pool); the
    // request is not read further meanwhile, so memory stays bounded.
    const stored: Promise<ArrayChunk>[] = [];
    const flush = async () => {
      const raw = pending.subarray(0, filled);
      summary.add(typedView(input.dtype, raw));
      level?.add(raw, (received - filled) / size);
      const chunk = storeChunk(blobs, raw, size, this.#buffers);
      chunk.catch(() => {}); // awaited below; a refused upload may leave it unawaited
      stored.push(chunk);
      if (stored.length > CHUNKS_IN_FLIGHT) await stored[stored.length - 1 - CHUNKS_IN_FLIGHT];
      pending = buffer.subarray(0, Math.min(ARRAY_LIMITS.chunkBytes, expected - received));
      filled = 0;
    };
    // Read by hand, not with for-await: leaving that loop would destroy the request, and a refused upload's
    // sender still has to get the answer (the route lingers to read the rest).
    const pieces = (body ?? Readable.from([]))[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    for (let next = await pieces.next(); !next.done; next = await pieces.next()) {
      const piece = next.value;
      let at = 0;
      while (at < piece.length) {
        if (received >= expected) {
          throw new SimscopeError(
            'invalid_body',
            `body: more than the ${expected} bytes that shape ${input.shape.join('×')} of ${input.dtype} takes`,
            { details: { field: 'body', expected } },
          );
        }
        const take = Math.min(piece.length - at, pending.length - filled);
        piece.copy(pending, filled, at, at + take);
        filled += take;
        at += take;
        received += take;
        if (filled === pending.length) await flush();
      }
    }
    if (received !== expected) {
      throw new SimscopeError(
        'invalid_body',
        `body: ${received} bytes, but shape ${input.shape.join('×')} of ${input.dtype} takes ${expected}`,
        { details: { field: 'body', expected, received } },
      );
    }
    chunks.push(...(await Promise.all(stored)));
    // The coarse level's chunks follow the step's own.
    for (let at = 0; level && at < level.bytes.length; at += ARRAY_LIMITS.chunkBytes)
      chunks.push(
        await storeChunk(blobs, level.bytes.subarray(at, at + ARRAY_LIMITS.chunkBytes), size, this.#buffers),
      );
    const stats = summary.result;
    const now = ctx.now();
    const saved = await ctx.store.arrays.saveArrayStep(
      {
        runPk: run.pk,
        name: input.name,
        step: input.step,
        time: input.time,
        shape: input.shape,
        dtype: input.dtype,
        axes,
        ...stats,
        createdAt: now,
      },
      chunks,
      (s) => summaryMetrics(run, s, now),
    );
    // A step with a finite element has all three summary metrics, stored with it.
    if (saved.min !== null) {
      const names = ['min', 'max', 'mean'].map((k) => `${saved.name}.${k}`);
      ctx.bus.publish({
        type: 'metrics.appended',
        workspaceId: run.workspaceId,
        runId: run.id,
        names,
        points: 3,
      });
    }
    // A chunk identical to one the blob sweep was freeing at that moment may have lost its bytes between
    // their commit and the step's row; once the row references them they are safe, so checking now is final.
    for (const chunk of new Set(chunks.map((c) => c.sha256))) {
      if (!(await blobs.has(chunk))) {
        throw new SimscopeError(
          'unavailable',
          'body: a chunk was collected while it was stored; send the step again',
        );
      }
    }
    return arrayStepView(saved);
  }

  async list(
    ctx: ServiceContext,
    run: RunRecord,
    query: { name: string | null; limit: number; next?: string },
  ): Promise<{ items: ArraySeriesView[] | ArrayStepView[]; next: string | null }> {
    if (query.name === null) {
      const [after] = query.next ? decodeCursor(query.next, ['string']) : [null];
      const rows = await ctx.store.arrays.listArraySeries(run.pk, after, query.limit + 1);
      return pageOf(
        rows,
        query.limit,
        (r) => r,
        (last) => [last.name],
      );
    }
    const [after] = query.next ? decodeCursor(query.next, ['integer']) : [null];
    const rows = await ctx.store.arrays.listArraySteps(run.pk, query.name, after, query.limit + 1);
    return pageOf(rows, query.limit, arrayStepView, (last) => [last.step]);
  }

  async read(ctx: ServiceContext, run: RunRecord, input: ReadArrayInput): Promise<ArrayRead> {
    const blobs = this.#store();
    const step = await ctx.store.arrays.getArrayStep(run.pk, input.name, input.step, input.nearest);
    if (!step) {
      const which = input.step === null ? '' : ` at step ${input.step}`;
      throw new NotFoundError('run', run.name, `has no array '${input.name}'${which}`);
    }
    const region = parseRegion(input.region, step.shape);
    const shape = regionShape(region);
    const count = elementCount(shape);
    if (input.format === 'json' && count > ARRAY_LIMITS.jsonElements) {
      throw new SimscopeError(
        'invalid_field',
        `query.region: selects ${count} elements; a JSON read returns at most ${ARRAY_LIMITS.jsonElements} (use format=raw or a stride)`,
        { details: { field: 'query.region' } },
      );
    }
    const { main, level } = splitLevels(step.shape, step.dtype, await ctx.store.arrays.arrayChunks(step.pk));
    const whole = region.every((r, d) => r.start === 0 && r.stop === step.shape[d] && r.stride === 1);
    const coarse = level && regionInLevel(region);
    const source = whole
      ? wholeChunks(blobs, main, DTYPE_BYTES[step.dtype])
      : level && coarse
        ? regionBytes(blobs, level, { ...step, shape: levelShape(step.shape) ?? step.shape }, coarse)
        : regionBytes(blobs, main, step, region);
    if (input.format === 'raw') return { format: 'raw', step, shape, stream: Readable.from(source) };
    const parts: Buffer[] = [];
    for await (const part of source) parts.push(part);
    const values = Array.from(typedView(step.dtype, Buffer.from(Buffer.concat(parts))), jsonNumber);
    return {
      format: 'json',
      data: { name: step.name, step: step.step, time: step.time, dtype: step.dtype, shape, values },
    };
  }
}

/**
 * The step's min, max and mean as metrics `name.min` …, so alerts and charts see them; stored with the step (the
 * step's pk keys the batch), none when the step has no finite element.
 */
function summaryMetrics(run: RunRecord, s: ArrayStepRecord, now: number): StepMetrics | null {
  const series = (['min', 'max', 'mean'] as const)
    .filter((k) => s[k] !== null)
    .map((k) => ({
      name: `${s.name}.${k}`,
      steps: Float64Array.of(s.step),
      times: s.time === null ? null : Float64Array.of(s.time),
      timestamps: null,
      values: Float64Array.of(s[k] as number),
    }));
  if (series.length === 0) return null;
  return {
    key: { writer: ARRAY_SUMMARY_WRITER, seq: s.pk },
    series,
    clock: { startedAt: run.startedAt ?? run.createdAt, now, segment: run.segment },
  };
}

/** Chunks compressed and stored at once by one upload. */
const CHUNKS_IN_FLIGHT = 4;

async function storeChunk(
  blobs: BlobStore,
  raw: Buffer,
  size: number,
  buffers: ChunkBuffers,
): Promise<ArrayChunk> {
  const shuffled = buffers.take(raw.length);
  const parts = encodeChunk(raw, size, shuffled);
  const staged = await blobs.stage(Readable.from(await parts));
  await blobs.commit(staged);
  // Only once its bytes are written: a failed chunk's buffer is left to the collector.
  buffers.give(shuffled);
  return { sha256: staged.sha256, size: staged.size };
}

/** A chunk's byte planes: byte b of every element in `planes[b]`. */
export async function readPlanes(blobs: BlobStore, chunk: ArrayChunk, size: number): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  for await (const part of await blobs.read(chunk.sha256)) parts.push(part as Buffer);
  return decodePlanes(Buffer.concat(parts), size);
}

async function readChunk(blobs: BlobStore, chunk: ArrayChunk, size: number): Promise<Buffer> {
  return unshuffle(await readPlanes(blobs, chunk, size), size);
}

/** A step's elements in C order, a chunk at a time (the next one read ahead). */
export async function* wholeChunks(
  blobs: BlobStore,
  chunks: readonly ArrayChunk[],
  size: number,
): AsyncGenerator<Buffer> {
  // The next chunk is read and inflated while this one is sent.
  const at = (i: number) => chunks[i] as ArrayChunk;
  let next = chunks.length > 0 ? readChunk(blobs, at(0), size) : null;
  for (let i = 0; next; i++) {
    const current = next;
    next = i + 1 < chunks.length ? readChunk(blobs, at(i + 1), size) : null;
    next?.catch(() => {});
    yield await current;
  }
}

/**
 * The elements of `region` in C order, inflating only the chunks that hold some of them (each at most once, as
 * they are visited in order); yields about a chunk's worth of bytes at a time.
 */
async function* regionBytes(
  blobs: BlobStore,
  chunks: readonly ArrayChunk[],
  step: ArrayStepRecord,
  region: readonly DimRange[],
): AsyncGenerator<Buffer> {
  const size = DTYPE_BYTES[step.dtype];
  const perChunk = ARRAY_LIMITS.chunkBytes / size;
  const strides = step.shape.map((_, d) => elementCount(step.shape.slice(d + 1)));
  const last = region.length - 1;
  const outer = regionShape(region.slice(0, last));
  const inner = region[last] as DimRange;
  const innerCount = Math.ceil((inner.stop - inner.start) / inner.stride);
  let loaded = -1;
  let whole: Buffer = Buffer.alloc(0);
  let planes: Buffer[] = [];
  // Contiguous runs copy from the unshuffled chunk; strided picks gather each element's bytes from the shuffled
  // one, so a sparse view does not pay for unshuffling every element.
  const ahead = new ReadAhead<Buffer | Buffer[]>(touchedChunks(step.shape, region, perChunk), (c) =>
    inner.stride === 1
      ? readChunk(blobs, chunks[c] as ArrayChunk, size)
      : readPlanes(blobs, chunks[c] as ArrayChunk, size),
  );
  let out = Buffer.alloc(ARRAY_LIMITS.chunkBytes);
  let at = 0;
  const index = new Array<number>(outer.length).fill(0);
  for (let row = 0, rows = elementCount(outer); row < rows; row++) {
    let base = 0;
    index.forEach((i, d) => {
      const r = region[d] as DimRange;
      base += (r.start + i * r.stride) * (strides[d] as number);
    });
    for (let k = 0; k < innerCount; ) {
      const e = base + inner.start + k * inner.stride;
      const c = Math.floor(e / perChunk);
      if (c !== loaded) {
        const got = await ahead.take(c);
        if (Array.isArray(got)) planes = got;
        else whole = got;
        loaded = c;
      }
      // With stride 1, the elements up to the chunk's end (or the output's) are copied at once.
      const run =
        inner.stride === 1 ? Math.min(innerCount - k, (c + 1) * perChunk - e, (out.length - at) / size) : 1;
      const local = e - c * perChunk;
      if (inner.stride === 1) whole.copy(out, at, local * size, (local + run) * size);
      else {
        for (let b = 0; b < size; b++) out[at + b] = (planes[b] as Buffer)[local] as number;
      }
      at += run * size;
      k += run;
      if (at === out.length) {
        yield out;
        out = Buffer.alloc(ARRAY_LIMITS.chunkBytes);
        at = 0;
      }
    }
    for (let d = outer.length - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (outer[d] as number)) break;
      index[d] = 0;
    }
  }
  if (at > 0) yield out.subarray(0, at);
}

/** Chunks read and decoded ahead of the one a region read is at. */
const READ_AHEAD = 4;

/** Loads the chunks a read visits, in their order, up to `READ_AHEAD` at once (zlib runs in the thread pool). */
class ReadAhead<T> {
  readonly #order: readonly number[];
  readonly #load: (chunk: number) => Promise<T>;
  readonly #started = new Map<number, Promise<T>>();
  #next = 0;

  constructor(order: readonly number[], load: (chunk: number) => Promise<T>) {
    this.#order = order;
    this.#load = load;
  }

  take(chunk: number): Promise<T> {
    for (; this.#started.size < READ_AHEAD && this.#next < this.#order.length; this.#next++) {
      const c = this.#order[this.#next] as number;
      const loading = this.#load(c);
      loading.catch(() => {}); // a read abandoned half way leaves some unawaited
      this.#started.set(c, loading);
    }
    const loading = this.#started.get(chunk) ?? this.#load(chunk);
    this.#started.delete(chunk);
    return loading;
  }
}

/** The chunks (of `perChunk` elements, in C order) that hold some element of `region`, ascending. */
function touchedChunks(shape: readonly number[], region: readonly DimRange[], perChunk: number): number[] {
  const strides = shape.map((_, d) => elementCount(shape.slice(d + 1)));
  const outer = regionShape(region.slice(0, -1));
  const inner = region[region.length - 1] as DimRange;
  const innerCount = Math.ceil((inner.stop - inner.start) / inner.stride);
  const out: number[] = [];
  const add = (c: number) => {
    if (out.length === 0 || (out[out.length - 1] as number) < c) out.push(c);
  };
  const index = new Array<number>(outer.length).fill(0);
  for (let row = 0, rows = elementCount(outer); row < rows; row++) {
    let base = inner.start;
    index.forEach((i, d) => {
      const r = region[d] as DimRange;
      base += (r.start + i * r.stride) * (strides[d] as number);
    });
    if (inner.stride >= perChunk) {
      for (let k = 0; k < innerCount; k++) add(Math.floor((base + k * inner.stride) / perChunk));
    } else {
      const last = Math.floor((base + (innerCount - 1) * inner.stride) / perChunk);
      for (let c = Math.floor(base / perChunk); c <= last; c++) add(c);
    }
    for (let d = outer.length - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (outer[d] as number)) break;
      index[d] = 0;
    }
  }
  return out;
}
