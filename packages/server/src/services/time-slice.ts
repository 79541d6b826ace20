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

  async pause(): Promise<void> {
    if (performance.now() - this.#since < this.#sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#since = performance.now();
  }
}
