import { ARRAY_LIMITS, type ArrayDtype, type DimRange, DTYPE_BYTES, elementCount } from '@simscope/protocol';
import type { ArrayChunk } from '../store/array-store.js';

/**
 * A big 2-D step also stores a coarse level: every LEVEL_STEP-th element of every LEVEL_STEP-th row, chunked as the
 * step is and listed after its chunks. A strided view whose strides and starts are multiples of LEVEL_STEP (what the
 * web and `::4,::4` ask for) reads the level, a sixteenth of the bytes, and gets exactly the same elements.
 */
const LEVEL_STEP = 4;
/** Both sides at least this long get a level. */
const LEVEL_MIN_SIDE = 2048;

/** The shape of a step's coarse level, or null when it has none. */
export function levelShape(shape: readonly number[]): number[] | null {
  if (shape.length !== 2 || shape.some((n) => n < LEVEL_MIN_SIDE)) return null;
  return shape.map((n) => Math.ceil(n / LEVEL_STEP));
}

/** How many of a step's chunks hold its elements; any after them hold its coarse level. */
function mainChunkCount(shape: readonly number[], dtype: ArrayDtype): number {
  return Math.ceil((elementCount(shape) * DTYPE_BYTES[dtype]) / ARRAY_LIMITS.chunkBytes);
}

/** The step's own chunks and its level's (null when it stored none: small, or saved before levels). */
export function splitLevels(
  shape: readonly number[],
  dtype: ArrayDtype,
  chunks: readonly ArrayChunk[],
): { main: readonly ArrayChunk[]; level: readonly ArrayChunk[] | null } {
  const n = mainChunkCount(shape, dtype);
  return { main: chunks.slice(0, n), level: chunks.length > n ? chunks.slice(n) : null };
}

/** `region` in the coarse level's indices, or null when it selects elements the level lacks. */
export function regionInLevel(region: readonly DimRange[]): DimRange[] | null {
  if (region.some((r) => r.start % LEVEL_STEP !== 0 || r.stride % LEVEL_STEP !== 0)) return null;
  return region.map((r) => ({
    start: r.start / LEVEL_STEP,
    stop: Math.ceil(r.stop / LEVEL_STEP),
    stride: r.stride / LEVEL_STEP,
  }));
}

/** Gathers a 2-D step's coarse level from its raw chunks as they arrive, in order. */
export class LevelGatherer {
  readonly bytes: Buffer;
  readonly #size: number;
  readonly #cols: number;
  readonly #levelCols: number;

  constructor(shape: readonly number[], dtype: ArrayDtype) {
    const level = levelShape(shape) ?? [0, 0];
    this.#size = DTYPE_BYTES[dtype];
    this.#cols = shape[1] as number;
    this.#levelCols = level[1] as number;
    this.bytes = Buffer.alloc(elementCount(level) * this.#size);
  }

  /** Takes the level's elements from `raw`, the step's elements from index `first` on. */
  add(raw: Buffer, first: number): void {
    const size = this.#size;
    const cols = this.#cols;
    const end = first + raw.length / size;
    const firstRow = Math.ceil(Math.floor(first / cols) / LEVEL_STEP) * LEVEL_STEP;
    for (let row = firstRow; row * cols < end; row += LEVEL_STEP) {
      const from = Math.max(row * cols, first);
      const to = Math.min((row + 1) * cols, end);
      const startCol = Math.ceil((from - row * cols) / LEVEL_STEP) * LEVEL_STEP;
      let target = ((row / LEVEL_STEP) * this.#levelCols + startCol / LEVEL_STEP) * size;
      // Byte by byte: a copy call per element would cost more than the element.
      for (let e = row * cols + startCol; e < to; e += LEVEL_STEP) {
        for (let b = 0, src = (e - first) * size; b < size; b++)
          this.bytes[target++] = raw[src + b] as number;
      }
    }
  }
}
