import type { Block, Points, SeriesRecord } from './metric-store.js';

/** Points at most per stored block; larger appends are split. */
export const BLOCK_POINTS = 16_384;
/** A last block smaller than this absorbs the next small append, so trickled points do not make tiny blocks. */
export const MERGE_BELOW = 1_024;

/** What a series keeps about its points besides the blocks: the point at the greatest step and value extremes. */
export type SeriesSummary = Pick<
  SeriesRecord,
  'lastStep' | 'lastTime' | 'lastTimestamp' | 'lastValue' | 'minValue' | 'maxValue'
>;

/** How an append is stored: these pieces as new blocks, replacing block `replaces` (merged into them) if set. */
export interface BlockPlan {
  pieces: Points[];
  replaces: number | null;
}

/** True when an append this small may be merged into the series' last block. */
export function mayMerge(points: number): boolean {
  return points < MERGE_BELOW;
}

/** True when a last block of `lastPoints` points absorbs an append of `points` points. */
export function absorbs(lastPoints: number, points: number): boolean {
  return lastPoints < MERGE_BELOW && lastPoints + points <= BLOCK_POINTS;
}

/** The blocks an append becomes: merged with `last` when that block absorbs it, split at `BLOCK_POINTS`. */
export function planBlocks(points: Points, last: Block | null): BlockPlan {
  const merged = last !== null && absorbs(last.values.length, points.values.length);
  const toStore = merged ? concatPoints(last, points) : points;
  return { pieces: splitPoints(toStore), replaces: merged ? last.pk : null };
}

const nanToNull = (v: number | null): number | null => (v === null || Number.isNaN(v) ? null : v);

/** The series' summary once `points` (non-empty) are appended; NaN never becomes a last value or extreme. */
export function summaryAfter(series: SeriesSummary, points: Points): SeriesSummary {
  const summary = summarise(points);
  const i = summary.lastIndex;
  const lastStep = points.steps[i] ?? Number.NaN;
  const newer = series.lastStep === null || lastStep >= series.lastStep;
  const min =
    summary.min === null
      ? series.minValue
      : series.minValue === null
        ? summary.min
        : Math.min(summary.min, series.minValue);
  const max =
    summary.max === null
      ? series.maxValue
      : series.maxValue === null
        ? summary.max
        : Math.max(summary.max, series.maxValue);
  return {
    minValue: nanToNull(min),
    maxValue: nanToNull(max),
    lastStep: newer ? lastStep : series.lastStep,
    lastTime: newer ? (points.times[i] ?? Number.NaN) : series.lastTime,
    lastTimestamp: newer ? (points.timestamps[i] ?? Number.NaN) : series.lastTimestamp,
    lastValue: newer ? nanToNull(points.values[i] ?? Number.NaN) : series.lastValue,
  };
}

/** Sum and count of the finite values (what a series' mean is made of; NaN and ±Infinity left out). */
export function finiteSum(values: Float64Array): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    if (Number.isFinite(v)) {
      sum += v;
      count++;
    }
  }
  return { sum, count };
}

/** Splits points into pieces of at most `size`. */
function splitPoints(p: Points, size = BLOCK_POINTS): Points[] {
  if (p.values.length <= size) return [p];
  const out: Points[] = [];
  for (let start = 0; start < p.values.length; start += size) {
    const end = Math.min(start + size, p.values.length);
    out.push({
      steps: p.steps.subarray(start, end),
      times: p.times.subarray(start, end),
      timestamps: p.timestamps.subarray(start, end),
      values: p.values.subarray(start, end),
      timeOrigin: p.timeOrigin ?? null,
    });
  }
  return out;
}

/** Joins two point sets, `a` first. */
function concatPoints(a: Points, b: Points): Points {
  const join = (x: Float64Array, y: Float64Array) => {
    const out = new Float64Array(x.length + y.length);
    out.set(x, 0);
    out.set(y, x.length);
    return out;
  };
  return {
    steps: join(a.steps, b.steps),
    times: join(a.times, b.times),
    timestamps: join(a.timestamps, b.timestamps),
    values: join(a.values, b.values),
    timeOrigin: a.timeOrigin != null && a.timeOrigin === b.timeOrigin ? a.timeOrigin : null,
  };
}

/** Summary of appended points: the point at the greatest step (the later one on ties) and value extremes. */
function summarise(p: Points): {
  lastIndex: number;
  min: number | null;
  max: number | null;
} {
  let lastIndex = 0;
  let min = Infinity;
  let max = -Infinity;
  let seen = false;
  const { steps, values } = p;
  for (let i = 0; i < values.length; i++) {
    if ((steps[i] ?? Number.NaN) >= (steps[lastIndex] ?? Number.NaN)) lastIndex = i;
    const v = values[i] ?? Number.NaN;
    if (Number.isNaN(v)) continue;
    seen = true;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { lastIndex, min: seen ? min : null, max: seen ? max : null };
}

/**
 * The points of a block at steps up to `visibleTo` (a later segment rewound past the rest). Steps in order make
 * a prefix, so the columns are views and a point keeps its index in the block; otherwise they are copied.
 */
export function visiblePart(block: Block, visibleTo: number): Block {
  const { steps } = block;
  let sorted = true;
  for (let i = 1; i < steps.length && sorted; i++) sorted = (steps[i] as number) >= (steps[i - 1] as number);
  const cut = (column: Float64Array, keep: number[] | number) =>
    column.length === 0
      ? column
      : typeof keep === 'number'
        ? column.subarray(0, keep)
        : Float64Array.from(keep, (i) => column[i] as number);
  let keep: number[] | number;
  if (sorted) {
    let end = steps.length;
    while (end > 0 && (steps[end - 1] as number) > visibleTo) end--;
    if (end === steps.length) return block;
    keep = end;
  } else {
    keep = [];
    for (let i = 0; i < steps.length; i++) if ((steps[i] as number) <= visibleTo) keep.push(i);
  }
  return {
    pk: block.pk,
    steps: cut(block.steps, keep),
    times: cut(block.times, keep),
    timestamps: cut(block.timestamps, keep),
    values: cut(block.values, keep),
    timeOrigin: block.timeOrigin ?? null,
  };
}
