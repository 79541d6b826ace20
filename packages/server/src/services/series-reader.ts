import type { SeriesAxis } from '@simscope/protocol';
import type { Block, Points } from '../store/store.js';

/** Columns of a page of points, in step order. */
export type SeriesPage = Points & { next: { step: number; block: number; index: number } | null };

function axisColumn(block: Block, axis: SeriesAxis): Float64Array {
  return axis === 'step' ? block.steps : axis === 'time' ? block.times : block.timestamps;
}

/**
 * True when the blocks, in the order given, hold steps in (step, block, index) order already: sorted within each
 * block, and each block starting above the last step of the one before (a tie across blocks would need pk order).
 */
function isSortedDisjoint(blocks: readonly Block[]): boolean {
  let prev = -Infinity;
  for (const b of blocks) {
    const s = b.steps;
    if (s.length > 0 && !(s[0]! > prev)) return false;
    for (let i = 0; i < s.length; i++) {
      const v = s[i]!;
      if (v < prev) return false;
      prev = v;
    }
  }
  return true;
}

/**
 * Points with `from <= step < to` after the position `after`, at most `limit`, ordered by (step, block, index):
 * a total order, so cursor pages neither repeat nor skip points.
 */
export function readSeriesPage(
  blocks: readonly Block[],
  from: number,
  to: number,
  after: { step: number; block: number; index: number } | null,
  limit: number,
): SeriesPage {
  // By first step, so batches that arrived out of order (concurrent senders) still take the sorted path.
  const ordered = [...blocks].sort((a, b) => (a.steps[0] ?? 0) - (b.steps[0] ?? 0) || a.pk - b.pk);
  const refs: { block: Block; index: number }[] = [];
  const isAfter = (b: Block, i: number) => {
    if (!after) return true;
    const s = b.steps[i]!;
    if (s !== after.step) return s > after.step;
    return b.pk > after.block || (b.pk === after.block && i > after.index);
  };
  if (isSortedDisjoint(ordered)) return readSorted(ordered, from, to, isAfter, limit);
  for (const block of ordered) {
    const s = block.steps;
    for (let i = 0; i < s.length; i++) {
      const v = s[i]!;
      if (v >= from && v < to && isAfter(block, i)) refs.push({ block, index: i });
    }
  }
  refs.sort(
    (a, b) =>
      a.block.steps[a.index]! - b.block.steps[b.index]! || a.block.pk - b.block.pk || a.index - b.index,
  );
  const count = Math.min(limit, refs.length);
  const out = allocate(count);
  for (let k = 0; k < count; k++) {
    const { block, index } = refs[k]!;
    out.steps[k] = block.steps[index]!;
    out.times[k] = block.times[index] ?? Number.NaN;
    out.timestamps[k] = block.timestamps[index] ?? Number.NaN;
    out.values[k] = block.values[index]!;
  }
  const last = refs[count - 1];
  const next =
    refs.length > count && last
      ? { step: last.block.steps[last.index]!, block: last.block.pk, index: last.index }
      : null;
  return { ...out, next };
}

function allocate(count: number): Points {
  return {
    steps: new Float64Array(count),
    times: new Float64Array(count),
    timestamps: new Float64Array(count),
    values: new Float64Array(count),
  };
}

/** The common case: blocks in pk order already hold steps in order, so ranges are copied whole. */
function readSorted(
  blocks: readonly Block[],
  from: number,
  to: number,
  isAfter: (b: Block, i: number) => boolean,
  limit: number,
): SeriesPage {
  let total = 0;
  for (const b of blocks) total += b.values.length;
  const out = allocate(Math.min(total, limit));
  let count = 0;
  let next: SeriesPage['next'] = null;
  let last: { block: Block; index: number } | null = null;
  for (const block of blocks) {
    const s = block.steps;
    let i = 0;
    while (i < s.length && !(s[i]! >= from && isAfter(block, i))) i++;
    let end = i;
    while (end < s.length && s[end]! < to) end++;
    if (end <= i) continue;
    const take = Math.min(end - i, limit - count);
    out.steps.set(s.subarray(i, i + take), count);
    if (block.times.length) out.times.set(block.times.subarray(i, i + take), count);
    if (block.timestamps.length) out.timestamps.set(block.timestamps.subarray(i, i + take), count);
    out.values.set(block.values.subarray(i, i + take), count);
    count += take;
    last = { block, index: i + take - 1 };
    if (take < end - i) {
      next = { step: s[last.index]!, block: block.pk, index: last.index };
      break;
    }
    if (count === limit) {
      const more =
        end < s.length
          ? s[end]! < to
          : blocks.some((b) => b.pk > block.pk && b.steps.some((v) => v >= from && v < to));
      if (more) next = { step: s[last.index]!, block: block.pk, index: last.index };
      break;
    }
  }
  return {
    steps: out.steps.subarray(0, count),
    times: out.times.subarray(0, count),
    timestamps: out.timestamps.subarray(0, count),
    values: out.values.subarray(0, count),
    next,
  };
}

/** M4 buckets: per bucket the points with the least and greatest x, and with the least and greatest value. */
export interface Buckets {
  axis: SeriesAxis;
  from: number;
  to: number;
  count: Float64Array;
  firstX: Float64Array;
  firstY: Float64Array;
  lastX: Float64Array;
  lastY: Float64Array;
  minX: Float64Array;
  minY: Float64Array;
  maxX: Float64Array;
  maxY: Float64Array;
}

/**
 * Downsamples points with `from <= x < to` into `n` equal-width buckets (M4). NaN values are counted and kept
 * as first/last but never chosen as minimum or maximum.
 */
export function downsample(
  blocks: readonly Block[],
  axis: SeriesAxis,
  from: number,
  to: number,
  n: number,
): Buckets {
  const m4 = new M4Buckets(axis, from, to, n);
  for (const block of blocks) m4.add(block);
  return m4.finish();
}

/**
 * M4 buckets filled block by block, so that a reader can pause between blocks: adding the blocks one at a time
 * in the order `readBlocks` gives them yields exactly what `downsample` gives for all of them at once.
 */
export class M4Buckets {
  readonly #b: Buckets;
  readonly #n: number;
  readonly #scale: number;

  constructor(axis: SeriesAxis, from: number, to: number, n: number) {
    this.#n = n;
    this.#scale = n / (to - from);
    this.#b = {
      axis,
      from,
      to,
      count: new Float64Array(n),
      firstX: new Float64Array(n).fill(Number.NaN),
      firstY: new Float64Array(n).fill(Number.NaN),
      lastX: new Float64Array(n).fill(Number.NaN),
      lastY: new Float64Array(n).fill(Number.NaN),
      minX: new Float64Array(n).fill(Number.NaN),
      minY: new Float64Array(n).fill(Infinity),
      maxX: new Float64Array(n).fill(Number.NaN),
      maxY: new Float64Array(n).fill(-Infinity),
    };
  }

  #bucketOf(x: number): number {
    const b = Math.floor((x - this.#b.from) * this.#scale);
    return b >= this.#n ? this.#n - 1 : b;
  }

  /** Adds points `s..e-1` of one block, all in bucket `b` and in x order; same ties as one by one. */
  #addRun(b: number, xs: Float64Array, ys: Float64Array, s: number, e: number): void {
    const { count, firstX, firstY, lastX, lastY, minX, minY, maxX, maxY } = this.#b;
    if (count[b] === 0) {
      firstX[b] = xs[s]!;
      firstY[b] = ys[s]!;
      lastX[b] = xs[e - 1]!;
      lastY[b] = ys[e - 1]!;
    } else {
      if (xs[s]! < firstX[b]!) {
        firstX[b] = xs[s]!;
        firstY[b] = ys[s]!;
      }
      if (xs[e - 1]! >= lastX[b]!) {
        lastX[b] = xs[e - 1]!;
        lastY[b] = ys[e - 1]!;
      }
    }
    count[b]! += e - s;
    let lo = minY[b]!;
    let loX = minX[b]!;
    let hi = maxY[b]!;
    let hiX = maxX[b]!;
    for (let k = s; k < e; k++) {
      const y = ys[k]!;
      if (y < lo) {
        lo = y;
        loX = xs[k]!;
      }
      if (y > hi) {
        hi = y;
        hiX = xs[k]!;
      }
    }
    minY[b] = lo;
    minX[b] = loX;
    maxY[b] = hi;
    maxX[b] = hiX;
  }

  /** Adds the points of one block that fall in `[from, to)`. */
  add(block: Block): void {
    const { axis, from, to } = this.#b;
    const xs = axisColumn(block, axis);
    const ys = block.values;
    if (isNondecreasing(xs)) {
      // Sorted x: find each bucket's slice by binary search, then scan it in a tight loop.
      let i = lowerBound(xs, from, 0, xs.length);
      const end = lowerBound(xs, to, i, xs.length);
      while (i < end) {
        const b = this.#bucketOf(xs[i]!);
        let lo = i + 1;
        let hi = end;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (this.#bucketOf(xs[mid]!) === b) lo = mid + 1;
          else hi = mid;
        }
        this.#addRun(b, xs, ys, i, lo);
        i = lo;
      }
      return;
    }
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      if (x >= from && x < to) this.#addRun(this.#bucketOf(x), xs, ys, i, i + 1);
    }
  }

  /** The buckets; an empty bucket has NaN for its points and a count of 0. */
  finish(): Buckets {
    const { minX, minY, maxX, maxY } = this.#b;
    for (let b = 0; b < this.#n; b++) {
      if (Number.isNaN(minX[b]!)) minY[b] = Number.NaN;
      if (Number.isNaN(maxX[b]!)) maxY[b] = Number.NaN;
    }
    return this.#b;
  }
}

function isNondecreasing(xs: Float64Array): boolean {
  for (let i = 1; i < xs.length; i++) if (!(xs[i]! >= xs[i - 1]!)) return false;
  return true;
}

/** First index in `[lo, hi)` whose value is not below `x` (the column is sorted). */
function lowerBound(xs: Float64Array, x: number, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (xs[mid]! < x) a = mid + 1;
    else b = mid;
  }
  return a;
}
