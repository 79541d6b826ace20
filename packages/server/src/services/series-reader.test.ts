import { describe, expect, it } from 'vitest';
import type { Block } from '../store/store.js';
import { downsample, readSeriesPage } from './series-reader.js';

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) % 4294967296;
    return s / 4294967296;
  };
}

function block(pk: number, steps: number[], values: number[]): Block {
  return {
    pk,
    steps: Float64Array.from(steps),
    times: Float64Array.from(steps, (s) => s / 10),
    timestamps: Float64Array.from(steps, (s) => 1e15 + s * 1000),
    values: Float64Array.from(values),
  };
}

/** M4 one point at a time, the definition the fast path must match exactly. */
function naive(blocks: Block[], from: number, to: number, n: number) {
  const out = Array.from({ length: n }, () => ({
    count: 0,
    first: [Number.NaN, Number.NaN],
    last: [Number.NaN, Number.NaN],
    min: [Number.NaN, Infinity],
    max: [Number.NaN, -Infinity],
  }));
  for (const b of blocks) {
    for (let i = 0; i < b.steps.length; i++) {
      const x = b.steps[i]!;
      const y = b.values[i]!;
      if (!(x >= from && x < to)) continue;
      const k = Math.min(n - 1, Math.floor((x - from) * (n / (to - from))));
      const o = out[k]!;
      if (o.count === 0 || x < o.first[0]!) o.first = [x, y];
      if (o.count === 0 || x >= o.last[0]!) o.last = [x, y];
      o.count++;
      if (y < o.min[1]!) o.min = [x, y];
      if (y > o.max[1]!) o.max = [x, y];
    }
  }
  return out.map((o) => ({
    ...o,
    min: Number.isNaN(o.min[0]!) ? [Number.NaN, Number.NaN] : o.min,
    max: Number.isNaN(o.max[0]!) ? [Number.NaN, Number.NaN] : o.max,
  }));
}

describe('downsample', () => {
  it.each([
    ['sorted blocks', true],
    ['shuffled blocks', false],
  ])('matches point-by-point M4 exactly on %s with spikes, NaN and ties', (_label, sorted) => {
    const rand = lcg(sorted ? 7 : 11);
    const blocks: Block[] = [];
    let step = 0;
    for (let pk = 1; pk <= 6; pk++) {
      const steps: number[] = [];
      const values: number[] = [];
      for (let i = 0; i < 997; i++) {
        steps.push(sorted ? step++ : Math.floor(rand() * 6000));
        const r = rand();
        values.push(r < 0.01 ? 1e6 * (rand() - 0.5) : r < 0.02 ? Number.NaN : Math.round(rand() * 20) / 4);
      }
      blocks.push(block(pk, steps, values));
    }
    for (const [from, to, n] of [
      [0, 6000, 37],
      [123.5, 4321, 1000],
      [0, 6000, 1],
    ] as const) {
      const fast = downsample(blocks, 'step', from, to, n);
      const slow = naive(blocks, from, to, n);
      for (let k = 0; k < n; k++) {
        const s = slow[k]!;
        expect([fast.count[k], fast.firstX[k], fast.firstY[k], fast.lastX[k], fast.lastY[k]]).toEqual([
          s.count,
          ...s.first,
          ...s.last,
        ]);
        expect([fast.minX[k], fast.minY[k], fast.maxX[k], fast.maxY[k]]).toEqual([...s.min, ...s.max]);
      }
    }
  });
});

describe('readSeriesPage', () => {
  it('pages overlapping blocks in (step, block, index) order without repeats or gaps', () => {
    const blocks = [block(1, [0, 2, 4, 6, 8], [0, 2, 4, 6, 8]), block(2, [1, 2, 3, 9], [10, 20, 30, 90])];
    const seen: [number, number][] = [];
    let after: { step: number; block: number; index: number } | null = null;
    for (;;) {
      const page = readSeriesPage(blocks, 0, 100, after, 3);
      for (let i = 0; i < page.steps.length; i++) seen.push([page.steps[i]!, page.values[i]!]);
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toEqual([
      [0, 0],
      [1, 10],
      [2, 2],
      [2, 20],
      [3, 30],
      [4, 4],
      [6, 6],
      [8, 8],
      [9, 90],
    ]);
  });

  it('pages sorted blocks by copying ranges, honouring from and to', () => {
    const blocks = [block(1, [0, 1, 2, 3], [0, 1, 2, 3]), block(2, [4, 5, 6, 7], [4, 5, 6, 7])];
    const first = readSeriesPage(blocks, 1, 7, null, 4);
    expect(Array.from(first.steps)).toEqual([1, 2, 3, 4]);
    expect(first.next).toEqual({ step: 4, block: 2, index: 0 });
    const second = readSeriesPage(blocks, 1, 7, first.next, 4);
    expect(Array.from(second.steps)).toEqual([5, 6]);
    expect(second.next).toBeNull();
  });

  it('pages blocks that arrived out of order in step order, with ties across blocks in block order', () => {
    const late = [block(7, [4, 5, 6, 7], [4, 5, 6, 7]), block(3, [0, 1, 2, 3], [0, 1, 2, 3])];
    const page = readSeriesPage(late, 0, 100, null, 100);
    expect(Array.from(page.steps)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const tied = [block(5, [3, 4], [30, 40]), block(2, [0, 3], [0, 3])];
    const seen: number[] = [];
    let after: { step: number; block: number; index: number } | null = null;
    for (;;) {
      const next: ReturnType<typeof readSeriesPage> = readSeriesPage(tied, 0, 100, after, 1);
      seen.push(...next.values);
      if (!next.next) break;
      after = next.next;
    }
    expect(seen).toEqual([0, 3, 30, 40]);
  });
});
