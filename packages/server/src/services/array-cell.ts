import {
  ARRAY_LIMITS,
  type ArrayCellView,
  DTYPE_BYTES,
  elementCount,
  SimscopeError,
} from '@simscope/protocol';
import type { BlobStore } from '../blob/blob-store.js';
import type { ArrayStepRecord } from '../store/array-store.js';
import type { RunRecord } from '../store/store.js';
import { readPlanes, typedView } from './array-service.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { NotFoundError } from './errors.js';

export interface ReadCellInput {
  name: string;
  cell: number[];
  from: number | null;
  limit: number;
  next?: string;
}

/** Steps whose chunk is read and inflated at once. */
const CELLS_IN_FLIGHT = 4;

/**
 * One element of an array series through its steps: for each step only the chunk holding the element is read
 * and inflated, and the element's bytes gathered from its byte-shuffled form.
 */
export async function readArrayCell(
  ctx: ServiceContext,
  blobs: BlobStore,
  run: RunRecord,
  input: ReadCellInput,
): Promise<ArrayCellView> {
  const [cursor] = input.next ? decodeCursor(input.next, ['integer']) : [null];
  const after = cursor ?? (input.from === null || input.from === 0 ? null : input.from - 1);
  const rows = await ctx.store.arrays.listArraySteps(run.pk, input.name, after, input.limit + 1);
  if (rows.length === 0 && after === null)
    throw new NotFoundError('run', run.name, `has no array '${input.name}'`);
  const page = rows.slice(0, input.limit);
  const first = page[0];
  if (first && first.shape.length !== input.cell.length) {
    throw new SimscopeError(
      'invalid_field',
      `query.cell: has ${input.cell.length} indices for a ${first.shape.length}-D array`,
      { details: { field: 'query.cell' } },
    );
  }
  const values: (number | string | null)[] = new Array(page.length).fill(null);
  for (let at = 0; at < page.length; at += CELLS_IN_FLIGHT) {
    const batch = page.slice(at, at + CELLS_IN_FLIGHT);
    const read = await Promise.all(batch.map((step) => cellValue(ctx, blobs, step, input.cell)));
    read.forEach((v, k) => {
      values[at + k] = v;
    });
  }
  const last = page[page.length - 1];
  return {
    name: input.name,
    cell: input.cell,
    dtype: first?.dtype ?? null,
    steps: page.map((s) => s.step),
    times: page.map((s) => s.time),
    values,
    next: rows.length > input.limit && last ? encodeCursor([last.step]) : null,
  };
}

/** Flat index of `cell` in `shape` (negative indices from the end), or null when it lies outside. */
function flatIndex(shape: readonly number[], cell: readonly number[]): number | null {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d] as number;
    const raw = cell[d] as number;
    const i = raw < 0 ? n + raw : raw;
    if (i < 0 || i >= n) return null;
    flat = flat * n + i;
  }
  return flat;
}

async function cellValue(
  ctx: ServiceContext,
  blobs: BlobStore,
  step: ArrayStepRecord,
  cell: readonly number[],
): Promise<number | string | null> {
  const flat = step.shape.length === cell.length ? flatIndex(step.shape, cell) : null;
  if (flat === null) return null;
  const size = DTYPE_BYTES[step.dtype];
  const perChunk = ARRAY_LIMITS.chunkBytes / size;
  const c = Math.floor(flat / perChunk);
  const chunk = (await ctx.store.arrays.arrayChunks(step.pk))[c];
  if (!chunk || flat >= elementCount(step.shape)) return null;
  const planes = await readPlanes(blobs, chunk, size);
  const local = flat - c * perChunk;
  const one = Buffer.from(planes.map((plane) => plane[local] as number));
  const v = Number(typedView(step.dtype, one)[0]);
  return Number.isFinite(v) ? v : String(v);
}
