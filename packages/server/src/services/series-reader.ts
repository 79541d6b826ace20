import type { SeriesAxis } from '@simscope/protocol';
import type { Block, Points } from '../store/store.js';

/** Columns of a page of points, in step order. */
export type SeriesPage = Points & { next: { step: number; block: number; index: number } | null };

function axisColumn(block: Block, axis: SeriesAxis): Float64Array {
  return axis === 'step' ? block.steps : axis === 'time' ? block.times : block.timestamps;
}

function isSortedDisjoint(blocks: readonly Block[]): boolean {
  let prev = -Infinity;
  for (const b of blocks) {
    const s = b.steps;
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
  const ordered = [...blocks].sort((a, b) => a.pk - b.pk);
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
    out.times[k] = block.times[index]!;
    out.timestamps[k] = block.timestamps[index]!;
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
    out.times.set(block.times.subarray(i, i + take), count);
    out.timestamps.set(block.timestamps.subarray(i, i + take), count);
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
  const count = new Float64Array(n);
  const firstX = new Float64Array(n).fill(Number.NaN);
  const firstY = new Float64Array(n).fill(Number.NaN);
  const lastX = new Float64Array(n).fill(Number.NaN);
  const lastY = new Float64Array(n).fill(Number.NaN);
  const minX = new Float64Array(n).fill(Number.NaN);
  const minY = new Float64Array(n).fill(Infinity);
  const maxX = new Float64Array(n).fill(Number.NaN);
  const maxY = new Float64Array(n).fill(-Infinity);
  const scale = n / (to - from);
  for (const block of blocks) {
    const xs = axisColumn(block, axis);
    const ys = block.values;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      if (!(x >= from && x < to)) continue;
      let b = Math.floor((x - from) * scale);
      if (b >= n) b = n - 1;
      const y = ys[i]!;
      if (count[b] === 0) {
        firstX[b] = x;
        firstY[b] = y;
        lastX[b] = x;
        lastY[b] = y;
      } else {
        if (x < firstX[b]!) {
          firstX[b] = x;
          firstY[b] = y;
        }
        if (x >= lastX[b]!) {
          lastX[b] = x;
          lastY[b] = y;
        }
      }
      count[b]!++;
      if (y < minY[b]!) {
        minY[b] = y;
        minX[b] = x;
      }
      if (y > maxY[b]!) {
        maxY[b] = y;
        maxX[b] = x;
      }
    }
  }
  for (let b = 0; b < n; b++) {
    if (Number.isNaN(minX[b]!)) minY[b] = Number.NaN;
    if (Number.isNaN(maxX[b]!)) maxY[b] = Number.NaN;
  }
  return { axis, from, to, count, firstX, firstY, lastX, lastY, minX, minY, maxX, maxY };
}
