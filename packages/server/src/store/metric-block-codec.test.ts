import { describe, expect, it } from 'vitest';
import { encodeBlock, integerColumn, stepColumn, timeColumn } from './metric-block-codec.js';
import type { Points } from './metric-store.js';

function roundTrip(p: Points) {
  const b = encodeBlock(p);
  const timestamps = integerColumn(b.timestamps, b.n, b.tsMin);
  return {
    block: b,
    steps: Array.from(stepColumn(b.steps, b.n, b.stepMin, b.stepStride)),
    timestamps: Array.from(timestamps),
    times: Array.from(timeColumn(b.times, timestamps, b.timeOrigin)),
  };
}

describe('metric block codec', () => {
  it('keeps evenly spaced steps as a stride and derived times as an origin, and rebuilds them exactly', () => {
    const origin = 1_795_000_000_123_456;
    const timestamps = Float64Array.from([0, 7, 1_000_001, 2_000_000_000], (d) => origin + d);
    const p: Points = {
      steps: Float64Array.from([30, 20, 10, 0]),
      timestamps,
      times: timestamps.map((t) => (t - origin) / 1e6),
      values: Float64Array.from([1, 2, 3, 4]),
      timeOrigin: origin,
    };
    const r = roundTrip(p);
    expect(r.block.steps).toBeNull();
    expect(r.block.times).toBeNull();
    expect(r.block.timestamps.byteLength).toBe(16);
    expect(r.steps).toEqual([30, 20, 10, 0]);
    expect(r.timestamps).toEqual(Array.from(timestamps));
    expect(r.times).toEqual(Array.from(p.times));
  });

  it('falls back to float64 when offsets do not fit in int32, and stores explicit times', () => {
    const p: Points = {
      steps: Float64Array.from([0, 1, 2 ** 40]),
      timestamps: Float64Array.from([1e15, 1e15 + 2 ** 32, 1e15 + 1]),
      times: Float64Array.from([0.5, 0.25, 0.125]),
      values: Float64Array.from([Number.NaN, Infinity, -0]),
    };
    const r = roundTrip(p);
    expect(r.block.steps!.byteLength).toBe(24);
    expect(r.block.timestamps.byteLength).toBe(24);
    expect(r.steps).toEqual([0, 1, 2 ** 40]);
    expect(r.timestamps).toEqual([1e15, 1e15 + 2 ** 32, 1e15 + 1]);
    expect(r.times).toEqual([0.5, 0.25, 0.125]);
  });

  it('stores irregular steps as int32 offsets from the smallest', () => {
    const p: Points = {
      steps: Float64Array.from([-5, 3, 1_000_000, 2]),
      timestamps: Float64Array.from([1, 2, 3, 4]),
      times: Float64Array.from([1, 2, 3, 4]),
      values: Float64Array.from([1, 2, 3, 4]),
    };
    const r = roundTrip(p);
    expect(r.block.steps!.byteLength).toBe(16);
    expect(r.steps).toEqual([-5, 3, 1_000_000, 2]);
  });
});
