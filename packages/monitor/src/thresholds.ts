import type { Monitor } from './monitor.js';

/** A reading and its limit: above the limit it is high. */
export interface Reading {
  key: string;
  label: string;
  value: number | null;
  limit: number | undefined;
  unit: string;
}

const format = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** Tells a monitor's notifiers when a reading goes above its limit (WARNING) and when it comes back (OK), once each. */
export class ThresholdWatch {
  readonly #high = new Set<string>();

  async check(monitor: Monitor, readings: readonly Reading[]): Promise<void> {
    for (const r of readings) {
      if (r.limit === undefined || r.value === null) continue;
      const text = `${r.label} at ${format(r.value)}${r.unit} (threshold ${format(r.limit)}${r.unit})`;
      if (r.value > r.limit && !this.#high.has(r.key)) {
        this.#high.add(r.key);
        await monitor.notify(`WARNING: ${r.label} high`, text);
      } else if (r.value <= r.limit && this.#high.has(r.key)) {
        this.#high.delete(r.key);
        await monitor.notify(`OK: ${r.label} back to normal`, text);
      }
    }
  }
}
