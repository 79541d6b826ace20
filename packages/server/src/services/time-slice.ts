/**
 * Cuts long work on the event loop into slices: `pause()` yields to other callbacks (I/O, timers, other
 * requests) once `sliceMs` have passed since the last yield, and costs nothing otherwise.
 */
export class TimeSlicer {
  readonly #sliceMs: number;
  #since = performance.now();

  constructor(sliceMs = 10) {
    this.#sliceMs = sliceMs;
  }

  /** Whether a slice has run out, so that `pause()` would yield now (a caller may flush output first). */
  get due(): boolean {
    return performance.now() - this.#since >= this.#sliceMs;
  }

  async pause(): Promise<void> {
    if (!this.due) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#since = performance.now();
  }
}
