const INITIAL = 256;

/**
 * One metric's drained points, ready to encode. Its columns are the queue's own buffers, good until the queue
 * is next written to: encode them at once.
 */
export interface DrainedSeries {
  name: string;
  values: Float64Array;
  /** Seconds since init. */
  times: Float64Array;
  /** The steps, or null when they count up from `stepStart`. */
  steps: Float64Array | null;
  stepStart: number;
  /** The timestamps (µs since the epoch), or null when each is `round(timestampOrigin + time × 10⁶)`. */
  timestamps: Float64Array | null;
  timestampOrigin: number;
}

function grown(a: Float64Array, size: number, fill = 0): Float64Array {
  const out = new Float64Array(size);
  out.set(a);
  if (fill !== 0) out.fill(fill, a.length);
  return out;
}

/**
 * The growing columns of one metric between two flushes. A point logged without options costs two writes
 * (clock and value): its step follows the one before, and its time and timestamp are computed from the clock
 * when drained. The step, time and timestamp columns exist only once a point came with options.
 */
class SeriesBuffer {
  readonly name: string;
  /** `performance.now()` of each call; seconds since init once drained. */
  clock: Float64Array;
  values: Float64Array;
  length = 0;
  /** Step of the first point, when steps are implicit (each one more than the last). */
  firstStep: number;
  /** Next step for a point logged without one: one past the largest step so far. */
  nextStep: number;
  /** Explicit columns, once a point came with options: steps given or implied, times and timestamps or NaN. */
  steps: Float64Array | null = null;
  times: Float64Array | null = null;
  timestamps: Float64Array | null = null;

  constructor(name: string, nextStep: number, capacity: number) {
    this.name = name;
    this.firstStep = nextStep;
    this.nextStep = nextStep;
    this.clock = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  grow(): void {
    const size = this.values.length * 2;
    this.clock = grown(this.clock, size);
    this.values = grown(this.values, size);
    if (this.steps) {
      this.steps = grown(this.steps, size);
      this.times = grown(this.times!, size, Number.NaN);
      this.timestamps = grown(this.timestamps!, size, Number.NaN);
    }
  }

  /** Makes the explicit columns, filled in for the points logged so far. */
  explicit(): void {
    const size = this.values.length;
    this.steps = new Float64Array(size);
    for (let i = 0; i < this.length; i++) this.steps[i] = this.firstStep + i;
    this.times = new Float64Array(size).fill(Number.NaN);
    this.timestamps = new Float64Array(size).fill(Number.NaN);
  }
}

/** The smallest power of two ≥ n, at least INITIAL. */
function capacityFor(n: number): number {
  return n <= INITIAL ? INITIAL : 2 ** Math.ceil(Math.log2(n));
}

/**
 * Points waiting to be sent, as columns per metric, bounded by `capacity` points in all. `pushAll` is the hot
 * path of `logMetrics`; times and timestamps are computed when drained.
 */
export class MetricQueue {
  readonly capacity: number;
  readonly #series = new Map<string, SeriesBuffer>();
  /** Per metric whose buffer was let go: the step to go on from, and how many points its last drain took. */
  readonly #carried = new Map<string, { nextStep: number; last: number }>();
  #points = 0;
  /** The keys of the last dict given to `pushAll`, and their buffers, by position. */
  readonly #shapeNames: string[] = [];
  readonly #shapeBuffers: SeriesBuffer[] = [];
  /** Appended to each metric's name as it is sent: an MPI rank's `@rank=R`. */
  suffix = '';

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
      bytes += b.clock.byteLength + b.values.byteLength;
      if (b.steps) bytes += b.steps.byteLength + b.times!.byteLength + b.timestamps!.byteLength;
    }
    return bytes;
  }

  get full(): boolean {
    return this.#points >= this.capacity;
  }

  #buffer(name: string): SeriesBuffer {
    let buf = this.#series.get(name);
    if (buf === undefined) {
      const carried = this.#carried.get(name);
      buf = new SeriesBuffer(name + this.suffix, carried?.nextStep ?? 0, capacityFor(carried?.last ?? 0));
      this.#series.set(name, buf);
    }
    if (buf.length === buf.values.length) buf.grow();
    return buf;
  }

  /**
   * Adds every metric of `values` as one point logged at `clock`, each with its next step. Buffers are looked up
   * by position in the last dict's keys, so logging the same keys again costs no map lookup. Stops at the first
   * value that is not a number or when the queue is full, and returns how many values it took (the caller deals
   * with the rest); -1 when it took them all.
   */
  pushAll(values: Record<string, number>, clock: number): number {
    const names = this.#shapeNames;
    const buffers = this.#shapeBuffers;
    const room = this.capacity - this.#points;
    let i = 0;
    for (const name in values) {
      const value = values[name];
      if (typeof value !== 'number' || i >= room) {
        this.#points += i;
        return i;
      }
      let buf: SeriesBuffer;
      if (names[i] === name) buf = buffers[i]!;
      else {
        buf = this.#buffer(name);
        names[i] = name;
        buffers[i] = buf;
      }
      const at = buf.length;
      if (at === buf.values.length || buf.steps !== null) this.#pushImplicit(buf, value, clock);
      else {
        buf.clock[at] = clock;
        buf.values[at] = value;
        buf.length = at + 1;
        buf.nextStep++;
      }
      i++;
    }
    this.#points += i;
    return -1;
  }

  #pushImplicit(buf: SeriesBuffer, value: number, clock: number): void {
    if (buf.length === buf.values.length) buf.grow();
    const at = buf.length;
    if (buf.steps !== null) buf.steps[at] = buf.nextStep;
    buf.nextStep++;
    buf.clock[at] = clock;
    buf.values[at] = value;
    buf.length = at + 1;
  }

  /** Adds one point logged at `clock` (`performance.now()`), with the next step. */
  push(name: string, value: number, clock: number): void {
    this.#pushImplicit(this.#buffer(name), value, clock);
    this.#points++;
  }

  /** Adds one point with any of step, time (seconds since init) and timestamp (µs) given; NaN for not given. */
  pushWith(name: string, value: number, clock: number, step: number, time: number, timestamp: number): void {
    const buf = this.#buffer(name);
    if (buf.steps === null) buf.explicit();
    const i = buf.length;
    if (Number.isNaN(step)) step = buf.nextStep;
    if (step >= buf.nextStep) buf.nextStep = step + 1;
    buf.steps![i] = step;
    buf.clock[i] = clock;
    buf.times![i] = time;
    buf.timestamps![i] = timestamp;
    buf.values[i] = value;
    buf.length = i + 1;
    this.#points++;
  }

  /**
   * Hands out everything queued and starts empty. Times are seconds since `startClock`, and timestamps
   * microseconds since the epoch, where the caller gave none: for a metric logged without options, both come
   * as rules (`stepStart`, `timestampOrigin`) rather than columns. The buffers are kept for the next points;
   * those of metrics not logged since the last drain are let go.
   */
  drain(startClock: number): DrainedSeries[] {
    const timestampOrigin = (performance.timeOrigin + startClock) * 1000;
    const out: DrainedSeries[] = [];
    let dropped = false;
    for (const [name, buf] of this.#series) {
      const n = buf.length;
      if (n === 0) {
        this.#series.delete(name);
        this.#carried.set(name, { nextStep: buf.nextStep, last: 0 });
        dropped = true;
        continue;
      }
      const { clock, values } = buf;
      // The clock is not needed again: it becomes the times.
      for (let i = 0; i < n; i++) clock[i] = (clock[i]! - startClock) / 1000;
      if (buf.steps === null) {
        out.push({
          name: buf.name,
          values: values.subarray(0, n),
          times: clock.subarray(0, n),
          steps: null,
          stepStart: buf.firstStep,
          timestamps: null,
          timestampOrigin,
        });
      } else {
        const times = buf.times!.subarray(0, n);
        const timestamps = buf.timestamps!.subarray(0, n);
        for (let i = 0; i < n; i++) {
          if (Number.isNaN(timestamps[i]!)) timestamps[i] = Math.round(timestampOrigin + clock[i]! * 1e6);
          if (Number.isNaN(times[i]!)) times[i] = clock[i]!;
        }
        out.push({
          name: buf.name,
          values: values.subarray(0, n),
          times,
          steps: buf.steps.subarray(0, n),
          stepStart: buf.firstStep,
          timestamps,
          timestampOrigin,
        });
        buf.steps = null;
        buf.times = null;
        buf.timestamps = null;
      }
      buf.length = 0;
      buf.firstStep = buf.nextStep;
      // A burst grew this buffer far past what is logged now: start smaller (the old one is still handed out).
      const size = capacityFor(n);
      if (values.length > 4 * size) {
        buf.clock = new Float64Array(size);
        buf.values = new Float64Array(size);
      }
    }
    if (dropped) {
      this.#shapeNames.length = 0;
      this.#shapeBuffers.length = 0;
    }
    this.#points = 0;
    return out;
  }
}
