import type { MetricSeries } from '@simscope/protocol';

const INITIAL = 256;

function nanArray(size: number, from?: Float64Array): Float64Array {
  const out = new Float64Array(size);
  const start = from ? from.length : 0;
  if (from) out.set(from);
  out.fill(Number.NaN, start);
  return out;
}

/** The growing columns of one metric between two flushes. */
class SeriesBuffer {
  readonly name: string;
  steps = new Float64Array(INITIAL);
  /** `performance.now()` of each call, turned into time and timestamp when drained. */
  clock = new Float64Array(INITIAL);
  /** Overrides given by the caller; NaN where none was. */
  times = nanArray(INITIAL);
  timestamps = nanArray(INITIAL);
  values = new Float64Array(INITIAL);
  length = 0;
  /** Next step for a point logged without one: one past the largest step so far. */
  nextStep: number;

  constructor(name: string, nextStep: number) {
    this.name = name;
    this.nextStep = nextStep;
  }

  grow(): void {
    const size = this.values.length * 2;
    const bigger = (a: Float64Array) => {
      const out = new Float64Array(size);
      out.set(a);
      return out;
    };
    this.steps = bigger(this.steps);
    this.clock = bigger(this.clock);
    this.values = bigger(this.values);
    this.times = nanArray(size, this.times);
    this.timestamps = nanArray(size, this.timestamps);
  }
}

/**
 * Points waiting to be sent, as columns per metric, bounded by `capacity` points in all. `push` is the hot
 * path of `logMetrics`: a map lookup and three array writes; times and timestamps are computed when drained.
 */
export class MetricQueue {
  readonly capacity: number;
  readonly #series = new Map<string, SeriesBuffer>();
  /** Steps carried over for metrics whose buffers were handed out, so counting continues. */
  readonly #nextSteps = new Map<string, number>();
  #points = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#points;
  }

  /** Bytes the queued columns hold, spare room included. */
  get allocatedBytes(): number {
    let bytes = 0;
    for (const b of this.#series.values()) {
      bytes += b.steps.byteLength + b.clock.byteLength + b.times.byteLength + b.timestamps.byteLength;
      bytes += b.values.byteLength;
    }
    return bytes;
  }

  get full(): boolean {
    return this.#points >= this.capacity;
  }

  #buffer(name: string): SeriesBuffer {
    let buf = this.#series.get(name);
    if (buf === undefined) {
      buf = new SeriesBuffer(name, this.#nextSteps.get(name) ?? 0);
      this.#series.set(name, buf);
    }
    if (buf.length === buf.values.length) buf.grow();
    return buf;
  }

  /** Adds one point logged at `clock` (`performance.now()`), with the next step. */
  push(name: string, value: number, clock: number): void {
    const buf = this.#buffer(name);
    const i = buf.length;
    buf.steps[i] = buf.nextStep++;
    buf.clock[i] = clock;
    buf.values[i] = value;
    buf.length = i + 1;
    this.#points++;
  }

  /** Adds one point with any of step, time (seconds since init) and timestamp (µs) given; NaN for not given. */
  pushWith(name: string, value: number, clock: number, step: number, time: number, timestamp: number): void {
    const buf = this.#buffer(name);
    const i = buf.length;
    if (Number.isNaN(step)) step = buf.nextStep;
    if (step >= buf.nextStep) buf.nextStep = step + 1;
    buf.steps[i] = step;
    buf.clock[i] = clock;
    buf.times[i] = time;
    buf.timestamps[i] = timestamp;
    buf.values[i] = value;
    buf.length = i + 1;
    this.#points++;
  }

  /**
   * Hands out everything queued as batch series and starts empty. Times are seconds since `startClock`, and
   * timestamps microseconds since the epoch, where the caller gave none.
   */
  drain(startClock: number): MetricSeries[] {
    const origin = performance.timeOrigin;
    const out: MetricSeries[] = [];
    for (const buf of this.#series.values()) {
      const n = buf.length;
      if (n === 0) continue;
      const { clock, times, timestamps } = buf;
      for (let i = 0; i < n; i++) {
        const c = clock[i]!;
        if (Number.isNaN(times[i]!)) times[i] = (c - startClock) / 1000;
        if (Number.isNaN(timestamps[i]!)) timestamps[i] = Math.round((origin + c) * 1000);
      }
      out.push({
        name: buf.name,
        steps: buf.steps.subarray(0, n),
        times: times.subarray(0, n),
        timestamps: timestamps.subarray(0, n),
        values: buf.values.subarray(0, n),
      });
      this.#nextSteps.set(buf.name, buf.nextStep);
    }
    this.#series.clear();
    this.#points = 0;
    return out;
  }
}
