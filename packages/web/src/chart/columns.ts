import type { Buckets } from '@simscope/protocol/api';
/**
 * The pixel grid a chart draws on, shared with the server's downsampling: canvas column `c` of the plot holds
 * the x values in `[from + c/scale, from + (c+1)/scale)`, the same bucket the server's M4 puts them in when
 * asked for `n` buckets over `[from, to)`. Points drawn per column by their first, last, least and greatest
 * value then look the same whether the chart holds every point or only the M4 buckets.
 */
export interface ColumnGrid {
  from: number;
  to: number;
  /** Number of columns (buckets). */
  n: number;
  /** Columns per unit of x: computed as the server computes it, so both put a point in the same column. */
  scale: number;
  /** Columns left of the plot: 1 when the grid reaches one column past each edge (zoomed views), else 0. */
  pad: number;
}

/** The grid for an x range over `width` canvas pixels; `pad` adds a column outside each edge. */
export function columnGrid(min: number, max: number, width: number, pad: 0 | 1): ColumnGrid {
  const w = Math.max(1, Math.round(width));
  const step = (max - min) / w;
  const from = pad ? min - step : min;
  const to = pad ? max + step : max;
  const n = w + 2 * pad;
  return { from, to, n, scale: n / (to - from), pad };
}

/** A line as sorted columns: x ascending, y with NaN for gaps. */
export interface Line {
  x: Float64Array;
  y: Float64Array;
}

/** M4 buckets as the downsampling API answers them (arrays of equal length, NaN where a bucket is empty). */
export type { Buckets };

/** What a chart's x axis shows: the step, the run's elapsed time, or the wall clock. */
export type XAxis = 'step' | 'time' | 'timestamp';

/** The points of M4 buckets in x order: per non-empty bucket its first, extreme and last points. */
export function lineFromBuckets(b: Buckets): Line {
  const n = b.count.length;
  const xs = new Float64Array(n * 4);
  const ys = new Float64Array(n * 4);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (!((b.count[i] ?? Number.NaN) > 0)) continue;
    const fx = b.firstX[i] ?? Number.NaN;
    const lx = b.lastX[i] ?? Number.NaN;
    xs[k] = fx;
    ys[k++] = b.firstY[i] ?? Number.NaN;
    const minX = b.minX[i] ?? Number.NaN;
    const maxX = b.maxX[i] ?? Number.NaN;
    const hasMin = !Number.isNaN(minX);
    const hasMax = !Number.isNaN(maxX);
    if (hasMin && hasMax && maxX < minX) {
      xs[k] = maxX;
      ys[k++] = b.maxY[i] ?? Number.NaN;
      xs[k] = minX;
      ys[k++] = b.minY[i] ?? Number.NaN;
    } else {
      if (hasMin) {
        xs[k] = minX;
        ys[k++] = b.minY[i] ?? Number.NaN;
      }
      if (hasMax) {
        xs[k] = maxX;
        ys[k++] = b.maxY[i] ?? Number.NaN;
      }
    }
    if ((b.count[i] ?? Number.NaN) > 1) {
      xs[k] = lx;
      ys[k++] = b.lastY[i] ?? Number.NaN;
    }
  }
  return { x: xs.subarray(0, k), y: ys.subarray(0, k) };
}

/** First index whose x is not below `x`. */
export function lowerBound(xs: ArrayLike<number>, x: number): number {
  let a = 0;
  let b = xs.length;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if ((xs[mid] ?? Number.NaN) < x) a = mid + 1;
    else b = mid;
  }
  return a;
}

/** Least and greatest finite y (positive only, for a log axis) with x in `[from, to]`. */
export function yExtent(line: Line, from: number, to: number, log: boolean): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  const end = line.x.length;
  for (let i = lowerBound(line.x, from); i < end; i++) {
    if ((line.x[i] ?? Number.NaN) > to) break;
    const y = line.y[i] ?? Number.NaN;
    if (!Number.isFinite(y) || (log && y <= 0)) continue;
    if (y < lo) lo = y;
    if (y > hi) hi = y;
  }
  return lo === Infinity ? null : [lo, hi];
}

/**
 * The `q` and `1 - q` quantiles of the finite y (positive only, for a log axis) of all lines within
 * `[from, to]`: a y range that leaves out the rarest spikes. Null with fewer than 20 values.
 */
export function quantileExtent(
  lines: Line[],
  from: number,
  to: number,
  log: boolean,
  q: number,
): [number, number] | null {
  let n = 0;
  for (const line of lines) n += line.y.length;
  const values = new Float64Array(n);
  let k = 0;
  for (const line of lines) {
    const end = line.x.length;
    for (let i = lowerBound(line.x, from); i < end && (line.x[i] ?? Number.NaN) <= to; i++) {
      const y = line.y[i] ?? Number.NaN;
      if (Number.isFinite(y) && (!log || y > 0)) values[k++] = y;
    }
  }
  if (k < 20) return null;
  const sorted = values.subarray(0, k).sort();
  const at = (p: number) => sorted[Math.min(k - 1, Math.max(0, Math.round(p * (k - 1))))] ?? Number.NaN;
  return [at(q), at(1 - q)];
}

/** Values at or below 0 among the lines' finite y: what a log axis cannot draw. */
export function countNonPositive(lines: Line[]): number {
  let n = 0;
  for (const line of lines) for (let i = 0; i < line.y.length; i++) if ((line.y[i] ?? Number.NaN) <= 0) n++;
  return n;
}

/** Exponential moving average (TensorBoard's, debiased), skipping NaN; `weight` 0 returns the line. */
function smooth(line: Line, weight: number): Line {
  if (weight <= 0) return line;
  const out = new Float64Array(line.y.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < line.y.length; i++) {
    const y = line.y[i] ?? Number.NaN;
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    last = last * weight + (1 - weight) * y;
    n++;
    out[i] = last / (1 - weight ** n);
  }
  return { x: line.x, y: out };
}

export type SmoothingKind = 'ema' | 'time-ema' | 'mean' | 'gauss';

/**
 * A smoothed line: `weight` from 0 (none) to 0.99 sets the strength of each kind alike: the EMA's weight,
 * or a window of 1 / (1 - weight) points for the running average and the Gaussian (its σ half that).
 */
export function smoothLine(line: Line, kind: SmoothingKind, weight: number): Line {
  if (weight <= 0) return line;
  if (kind === 'ema') return smooth(line, weight);
  if (kind === 'time-ema') return timeSmooth(line, weight);
  const window = Math.max(1, Math.round(1 / (1 - weight)));
  return kind === 'mean' ? runningMean(line, window) : gaussian(line, window / 2);
}

/**
 * EMA whose decay follows x, not the point count: a gap of `dx` decays by weight^(dx / mean spacing), so
 * unevenly spaced points (M4 columns, time axes) smooth as evenly spaced ones would.
 */
function timeSmooth(line: Line, weight: number): Line {
  const n = line.y.length;
  const out = new Float64Array(n);
  const unit = n > 1 ? ((line.x[n - 1] ?? Number.NaN) - (line.x[0] ?? Number.NaN)) / (n - 1) : 1;
  let last = 0;
  let norm = 0;
  let prevX = Number.NaN;
  for (let i = 0; i < n; i++) {
    const y = line.y[i] ?? Number.NaN;
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    const x = line.x[i] ?? Number.NaN;
    const d = Number.isNaN(prevX) || !(unit > 0) ? weight : weight ** ((x - prevX) / unit);
    last = last * d + (1 - d) * y;
    norm = norm * d + (1 - d);
    prevX = x;
    out[i] = norm > 0 ? last / norm : y;
  }
  return { x: line.x, y: out };
}

/** Mean of the last `window` finite values at each point. */
function runningMean(line: Line, window: number): Line {
  const n = line.y.length;
  const out = new Float64Array(n);
  const ring = new Float64Array(window);
  let sum = 0;
  let count = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const y = line.y[i] ?? Number.NaN;
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    if (count === window) sum -= ring[at] ?? Number.NaN;
    else count++;
    ring[at] = y;
    at = (at + 1) % window;
    sum += y;
    out[i] = sum / count;
  }
  return { x: line.x, y: out };
}

/** Gaussian-weighted mean of the finite values within 3σ points on both sides. */
function gaussian(line: Line, sigma: number): Line {
  const n = line.y.length;
  const out = new Float64Array(n);
  const reach = Math.max(1, Math.ceil(3 * sigma));
  const weights = Float64Array.from({ length: reach + 1 }, (_, k) =>
    Math.exp(-(k * k) / (2 * sigma * sigma)),
  );
  for (let i = 0; i < n; i++) {
    const y = line.y[i] ?? Number.NaN;
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    let sum = 0;
    let total = 0;
    for (let j = Math.max(0, i - reach), end = Math.min(n - 1, i + reach); j <= end; j++) {
      const v = line.y[j] ?? Number.NaN;
      if (!Number.isFinite(v)) continue;
      const w = weights[Math.abs(j - i)] ?? Number.NaN;
      sum += w * v;
      total += w;
    }
    out[i] = sum / total;
  }
  return { x: line.x, y: out };
}

/** Where a path goes: canvas pixels of a y value (NaN when it cannot be drawn). */
export type YToPixel = (y: number) => number;

/**
 * Draws a line column by column, as separate two-point pieces (no joins for the canvas to work out): per
 * column a vertical piece from its least to its greatest value, and a piece from the previous column's last
 * point to this column's first. NaN values break the line. Returns the number of columns drawn.
 */
export function traceColumns(
  path: { moveTo(x: number, y: number): void; lineTo(x: number, y: number): void },
  line: Line,
  grid: ColumnGrid,
  left: number,
  yPixel: YToPixel,
  /** Log scale: values of 0 and below break the line too. */
  positiveOnly = false,
): number {
  const { from, to, scale, pad } = grid;
  const xs = line.x;
  const ys = line.y;
  let i = lowerBound(xs, from);
  const end = lowerBound(xs, to);
  let col = Number.NaN;
  let px = 0;
  let outY = 0;
  let lo = 0;
  let hi = 0;
  let open = false;
  let columnsInRun = 0;
  let columns = 0;
  const flush = () => {
    if (lo !== hi) {
      path.moveTo(px, yPixel(hi));
      path.lineTo(px, yPixel(lo));
    }
  };
  const close = () => {
    flush();
    // A lone point would draw nothing: give it a pixel's width.
    if (columnsInRun === 1 && lo === hi) {
      const y = yPixel(outY);
      path.moveTo(px, y);
      path.lineTo(px + 1, y);
    }
    open = false;
  };
  for (; i < end; i++) {
    const y = ys[i] ?? Number.NaN;
    if (Number.isNaN(y) || (positiveOnly && !(y > 0))) {
      if (open) close();
      col = Number.NaN;
      continue;
    }
    const c = Math.floor(((xs[i] ?? Number.NaN) - from) * scale);
    if (open && c === col) {
      outY = y;
      if (y < lo) lo = y;
      else if (y > hi) hi = y;
      continue;
    }
    const x = left + c - pad;
    if (open) {
      flush();
      path.moveTo(px, yPixel(outY));
      path.lineTo(x, yPixel(y));
      columnsInRun++;
    } else {
      columnsInRun = 1;
    }
    col = c;
    px = x;
    open = true;
    columns++;
    outY = lo = hi = y;
  }
  if (open) close();
  return columns;
}
