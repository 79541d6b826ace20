import type { EventView } from '@simscope/protocol';
import { lowerBound, type XAxis } from './columns.js';

/** Markers a chart draws at most; the rest are counted in a note, so that a chatty run cannot freeze the page. */
const MARKER_CAP = 500;

/**
 * A metric's clock: its x (step or time since start) at each timestamp (µs), both ascending, to place events
 * (which carry timestamps only) on a step or time axis.
 */
export interface Clock {
  timestamps: Float64Array;
  xs: Float64Array;
}

/** An event at its place on the x axis (API units). */
export interface Marker {
  x: number;
  event: EventView;
}

export interface PlacedMarkers {
  markers: Marker[];
  /** Events in view beyond the cap (a lower bound when `moreUnknown`). */
  more: number;
  moreUnknown: boolean;
  /** Events outside the metric's span of timestamps: no step or time to draw them at. */
  unmapped: number;
}

/**
 * The clock of a series' columns (in step order): kept where the timestamps rise with x, which is how a run logs;
 * points whose timestamp goes back are dropped, so that both columns stay sorted for the searches.
 */
export function clockOf(xs: Float64Array, timestamps: Float64Array): Clock {
  const n = Math.min(xs.length, timestamps.length);
  const keepX = new Float64Array(n);
  const keepT = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const t = timestamps[i] ?? Number.NaN;
    const x = xs[i] ?? Number.NaN;
    if (!Number.isFinite(t) || !Number.isFinite(x)) continue;
    if (k > 0 && (t < (keepT[k - 1] ?? 0) || x < (keepX[k - 1] ?? 0))) continue;
    keepT[k] = t;
    keepX[k] = x;
    k++;
  }
  return { timestamps: keepT.subarray(0, k), xs: keepX.subarray(0, k) };
}

/** Linear interpolation of `to` at `v` over ascending `from`; null outside `from`'s span. */
function interpolate(from: Float64Array, to: Float64Array, v: number): number | null {
  const n = from.length;
  if (n === 0) return null;
  const first = from[0] ?? 0;
  const last = from[n - 1] ?? 0;
  if (v < first || v > last) return null;
  const i = lowerBound(from, v);
  const b = from[i] ?? last;
  const yb = to[i] ?? 0;
  if (b === v || i === 0) return yb;
  const a = from[i - 1] ?? first;
  const ya = to[i - 1] ?? yb;
  return ya + ((yb - ya) * (v - a)) / (b - a);
}

/** The x of a timestamp on the clock, or null where the metric has no point before or after it. */
function xOfTimestamp(clock: Clock, timestamp: number): number | null {
  return interpolate(clock.timestamps, clock.xs, timestamp);
}

/** The timestamp of an x on the clock, clamped to its span (to ask the server for the events in view). */
export function timestampOfX(clock: Clock, x: number): number | null {
  const n = clock.xs.length;
  if (n === 0) return null;
  const lo = clock.xs[0] ?? 0;
  const hi = clock.xs[n - 1] ?? 0;
  return interpolate(clock.xs, clock.timestamps, Math.min(hi, Math.max(lo, x)));
}

/**
 * Places events (ascending by time) on the x axis: timestamps as they are on a date axis, through the metric's
 * clock on a step or time axis. At most `cap` markers inside `range`; the rest are counted.
 */
export function placeMarkers(
  events: readonly EventView[],
  axis: XAxis,
  clock: Clock | null,
  range: [number, number] | null,
  cap = MARKER_CAP,
): PlacedMarkers {
  const markers: Marker[] = [];
  let more = 0;
  let unmapped = 0;
  for (const event of events) {
    const x = axis === 'timestamp' ? event.timestamp : clock ? xOfTimestamp(clock, event.timestamp) : null;
    if (x === null) {
      unmapped++;
      continue;
    }
    if (range && (x < range[0] || x > range[1])) continue;
    if (markers.length < cap) markers.push({ x, event });
    else more++;
  }
  return { markers, more, moreUnknown: false, unmapped };
}

/** The marker nearest to `x` within `slack` (API units), or null. */
export function markerNear(markers: readonly Marker[], x: number, slack: number): Marker | null {
  let best: Marker | null = null;
  let distance = slack;
  for (const m of markers) {
    const d = Math.abs(m.x - x);
    if (d <= distance) {
      best = m;
      distance = d;
    }
  }
  return best;
}
