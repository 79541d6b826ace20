import type { MetricSeries } from '@simscope/protocol';
import type { Points } from './store.js';

/**
 * Completes a series' columns: a missing step is the next after the largest so far (stored or earlier in the
 * batch), a missing timestamp comes from the time since start (or now), a missing time from the timestamp.
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
  let largest = lastStep ?? -1;
  let derived = true;
  const inSteps = series.steps;
  const inTimes = series.times;
  const inStamps = series.timestamps;
  for (let i = 0; i < n; i++) {
    let step = inSteps ? inSteps[i]! : Number.NaN;
    if (Number.isNaN(step)) step = largest + 1;
    if (step > largest) largest = step;
    steps[i] = step;
    const time = inTimes ? inTimes[i]! : Number.NaN;
    let ts = inStamps ? inStamps[i]! : Number.NaN;
    if (Number.isNaN(ts)) ts = !Number.isNaN(time) ? Math.round(startedAt + time * 1e6) : now;
    timestamps[i] = ts;
    if (Number.isNaN(time)) times[i] = (ts - startedAt) / 1e6;
    else {
      times[i] = time;
      derived = false;
    }
  }
  // A fresh copy: all four columns then share one array shape, which keeps the block encoder's loops monomorphic.
  return { steps, times, timestamps, values: series.values.slice(), timeOrigin: derived ? startedAt : null };
}
