import { describe, expect, it } from 'vitest';
import { shuffle, unshuffle } from './array-service.js';

describe('array chunk byte shuffle', () => {
  it('groups the n-th bytes of every element and restores them exactly', () => {
    const raw = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect([...shuffle(raw, 4)]).toEqual([1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12]);
    expect([...shuffle(raw, 2)]).toEqual([1, 3, 5, 7, 9, 11, 2, 4, 6, 8, 10, 12]);
    expect(shuffle(raw, 1)).toBe(raw);
    for (const size of [1, 2, 4, 8]) {
      const bytes = Buffer.from(Float64Array.from({ length: 64 }, (_, i) => Math.sin(i)).buffer);
      expect(Buffer.compare(unshuffle(shuffle(bytes, size), size), bytes)).toBe(0);
    }
  });
});
