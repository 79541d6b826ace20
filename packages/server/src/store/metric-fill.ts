import type { MetricSeries } from '@simscope/protocol';
import type { Points } from './metric-store.js';

/**
 * Completes a series' columns: a missing step is the next after the largest so far (stored or earlier in the
 * batch), a missing timestamp comes from the time since start (or now), a missing time from the timestamp.
 * Each column is filled by a loop of its own, specialised to which input columns exist.
 */
export function fillPoints(
  series: MetricSeries,
  lastStep: number | null,
  startedAt: number,
  now: number,
): Points {
  const n = series.values.length;
  const steps = new Float64Array(n);
  const times = new Float64Array(n);
  const timestamps = new Float64Array(n);
  fillSteps(steps, series.steps, lastStep ?? -1);
  const derived = fillClock(times, timestamps, series.times, series.timestamps, startedAt, now);
  // A fresh copy: all four columns then share one array shape, which keeps the block encoder's loops monomorphic.
  return { steps, times, timestamps, values: series.values.slice(), timeOrigin: derived ? startedAt : null };
}

function fillSteps(out: Float64Array, given: Float64Array | null, largest: number): void {
  const n = out.length;
  if (given === null) {
    for (let i = 0; i < n; i++) out[i] = largest + 1 + i;
    return;
  }
  for (let i = 0; i < n; i++) {
    let step = given[i] ?? Number.NaN;
    if (Number.isNaN(step)) step = largest + 1;
    if (step > largest) largest = step;
    out[i] = step;
  }
}

/** Fills times and timestamps; true when every time was derived from its timestamp. */
function fillClock(
  times: Float64Array,
  timestamps: Float64Array,
  givenTimes: Float64Array | null,
  givenStamps: Float64Array | null,
  startedAt: number,
  now: number,
): boolean {
  const n = times.length;
  if (givenTimes === null) {
    if (givenStamps === null) {
      timestamps.fill(now);
      times.fill((now - startedAt) / 1e6);
      return true;
    }
    for (let i = 0; i < n; i++) {
      let ts = givenStamps[i] ?? Number.NaN;
      if (Number.isNaN(ts)) ts = now;
      timestamps[i] = ts;
      times[i] = (ts - startedAt) / 1e6;
    }
    return true;
  }
  let derived = true;
  for (let i = 0; i < n; i++) {
    const time = givenTimes[i] ?? Number.NaN;
    let ts = givenStamps?.[i] ?? Number.NaN;
    if (Number.isNaN(ts)) ts = !Number.isNaN(time) ? Math.round(startedAt + time * 1e6) : now;
    timestamps[i] = ts;
    if (!Number.isNaN(time)) {
      times[i] = time;
      derived = false;
    } else times[i] = (ts - startedAt) / 1e6;
  }
  return derived;
}
