import { describe, expect, it } from 'vitest';
import { MetricQueue } from './metric-queue.js';

const columns = (q: MetricQueue, start = 0) =>
  Object.fromEntries(
    q.drain(start).map((s) => [
      s.name,
      {
        steps: s.steps ? Array.from(s.steps) : Array.from(s.values, (_, i) => s.stepStart + i),
        times: Array.from(s.times),
        values: Array.from(s.values),
      },
    ]),
  );

describe('MetricQueue', () => {
  it('numbers steps per metric across drains, whatever the shape of each dict', () => {
    const q = new MetricQueue(1000);
    expect(q.pushAll({ a: 1, b: 2 }, 1000)).toBe(-1);
    expect(q.pushAll({ b: 3, a: 4 }, 2000)).toBe(-1);
    expect(q.pushAll({ c: 5 }, 3000)).toBe(-1);
    expect(q.size).toBe(5);
    expect(columns(q)).toEqual({
      a: { steps: [0, 1], times: [1, 2], values: [1, 4] },
      b: { steps: [0, 1], times: [1, 2], values: [2, 3] },
      c: { steps: [0], times: [3], values: [5] },
    });
    q.pushAll({ a: 6, b: 7 }, 4000);
    expect(columns(q)).toEqual({
      a: { steps: [2], times: [4], values: [6] },
      b: { steps: [2], times: [4], values: [7] },
    });
  });

  it('mixes points with and without options in one metric, keeping given steps and times', () => {
    const q = new MetricQueue(1000);
    q.push('x', 1, 1000);
    q.pushAll({ x: 2 }, 2000);
    q.pushWith('x', 3, 3000, 10, Number.NaN, Number.NaN);
    q.pushWith('x', 4, 4000, Number.NaN, 99.5, 42);
    q.pushAll({ x: 5 }, 5000);
    const [x] = q.drain(0);
    expect(Array.from(x!.steps!)).toEqual([0, 1, 10, 11, 12]);
    expect(Array.from(x!.times)).toEqual([1, 2, 3, 99.5, 5]);
    expect(x!.timestamps![3]).toBe(42);
    expect(x!.timestampOrigin).toBe(performance.timeOrigin * 1000);
    expect(x!.timestamps![4]).toBe(Math.round(x!.timestampOrigin + 5 * 1e6));
    expect(Array.from(x!.values)).toEqual([1, 2, 3, 4, 5]);
    // The next drain of points without options gives rules again, not columns.
    q.pushAll({ x: 6 }, 6000);
    const [again] = q.drain(1000);
    expect(again).toMatchObject({ steps: null, stepStart: 13, timestamps: null });
    expect(Array.from(again!.times)).toEqual([5]);
    expect(again!.timestampOrigin).toBe((performance.timeOrigin + 1000) * 1000);
  });

  it('grows past its first buffer, and stops at a non-number or a full queue', () => {
    const q = new MetricQueue(1001);
    for (let i = 0; i < 1000; i++) q.pushAll({ v: i }, i);
    expect(q.pushAll({ w: 1, bad: Number.NaN, s: 'x' as unknown as number, t: 2 }, 0)).toBe(1);
    expect(q.full).toBe(true);
    expect(q.pushAll({ v: 1 }, 0)).toBe(0);
    const drained = q.drain(0);
    expect(drained.map((s) => [s.name, s.values.length])).toEqual([
      ['v', 1000],
      ['w', 1],
    ]);
    expect(Array.from(drained[0]!.values.subarray(995))).toEqual([995, 996, 997, 998, 999]);
    expect(q.size).toBe(0);
    expect(q.pushAll({ a: 1, s: 'x' as unknown as number, b: 2 }, 0)).toBe(1);
    expect(q.size).toBe(1);
  });

  it('keeps the buffers of metrics still logged and lets go of the others, steps going on', () => {
    const q = new MetricQueue(100);
    q.pushAll({ a: 1, b: 2 }, 0);
    q.drain(0);
    q.pushAll({ a: 3 }, 0);
    expect(q.drain(0).map((s) => [s.name, s.stepStart])).toEqual([['a', 1]]);
    // b was not logged between the drains: its buffer is gone, its step count is not.
    q.pushAll({ b: 4, a: 5 }, 0);
    expect(q.drain(0).map((s) => [s.name, s.stepStart, Array.from(s.values)])).toEqual([
      ['a', 2, [5]],
      ['b', 1, [4]],
    ]);
  });
});
