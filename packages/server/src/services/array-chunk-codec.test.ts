import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePlanes, encodeChunk, shuffle, unshuffle } from './array-chunk-codec.js';

/** The byte planes of a shuffled buffer. */
const planesOf = (shuffled: Buffer, size: number) =>
  Array.from({ length: size }, (_, b) =>
    shuffled.subarray((b * shuffled.length) / size, ((b + 1) * shuffled.length) / size),
  );

/** `bytes` copied to a buffer that starts `offset` bytes into its memory (0: word-aligned). */
function at(offset: number, bytes: Buffer): Buffer {
  const out = Buffer.from(new ArrayBuffer(bytes.length + 8), offset, bytes.length);
  bytes.copy(out);
  return out;
}

describe('array chunk byte shuffle', () => {
  it('groups the n-th bytes of every element and restores them exactly, aligned or not', () => {
    const raw = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    for (const offset of [0, 1]) {
      expect([...shuffle(at(offset, raw), 4)]).toEqual([
        1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 4, 8, 12, 16,
      ]);
      expect([...shuffle(at(offset, raw), 8)]).toEqual([
        1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 8, 16,
      ]);
      expect([...shuffle(at(offset, raw), 2)]).toEqual([
        1, 3, 5, 7, 9, 11, 13, 15, 2, 4, 6, 8, 10, 12, 14, 16,
      ]);
    }
    expect(shuffle(raw, 1)).toBe(raw);
    const bytes = Buffer.from(Float64Array.from({ length: 64 }, (_, i) => Math.sin(i)).buffer);
    for (const size of [1, 2, 4, 8]) {
      for (const offset of [0, 3]) {
        const back = unshuffle(planesOf(at(offset, shuffle(at(offset, bytes), size)), size), size);
        expect(Buffer.compare(back, bytes), `size ${size} offset ${offset}`).toBe(0);
      }
    }
  });
});

describe('array chunk layout 2', () => {
  it('stores noisy byte planes raw and deflates the smooth ones, and decodes exactly', async () => {
    const field = Float32Array.from({ length: 65536 }, (_, i) => Math.sin(i / 400) + 0.001 * Math.cos(i));
    const raw = Buffer.from(field.buffer);
    const stored = Buffer.concat(await encodeChunk(raw, 4));
    expect([...stored.subarray(0, 4)]).toEqual([0x53, 0x50, 2, 4]);
    // Plane 0 (the lowest mantissa byte) is noise: stored raw, at its full length; plane 3 (sign, exponent) shrinks.
    expect([stored[4], stored.readUInt32LE(5)]).toEqual([0, 65536]);
    expect(stored[19]).toBe(1);
    expect(stored.readUInt32LE(20)).toBeLessThan(65536 / 4);
    expect(stored.length).toBeLessThan(raw.length);
    expect(Buffer.compare(unshuffle(await decodePlanes(stored, 4), 4), raw)).toBe(0);
  });

  it('round-trips every element size, NaN and infinities included, and a chunk too small to sample', async () => {
    const values = Float64Array.from({ length: 5000 }, (_, i) =>
      i % 7 === 0 ? Number.NaN : i % 11 === 0 ? -Infinity : i * 1e-3,
    );
    const bytes = Buffer.from(values.buffer);
    for (const size of [1, 2, 4, 8]) {
      for (const raw of [bytes, bytes.subarray(0, 8 * 3)]) {
        const back = unshuffle(await decodePlanes(Buffer.concat(await encodeChunk(raw, size)), size), size);
        expect(Buffer.compare(back, raw), `size ${size}, ${raw.length} bytes`).toBe(0);
      }
    }
  });

  it('still reads layout 1: one zlib stream of the whole shuffled chunk', async () => {
    const raw = Buffer.from(Int32Array.from({ length: 1000 }, (_, i) => i * i - 500).buffer);
    const layout1 = deflateSync(shuffle(raw, 4), { level: 1 });
    expect(layout1[0]).toBe(0x78);
    expect(Buffer.compare(unshuffle(await decodePlanes(layout1, 4), 4), raw)).toBe(0);
  });

  it('refuses a chunk of a layout it does not know', async () => {
    await expect(decodePlanes(Buffer.from([0x53, 0x50, 3, 4]), 4)).rejects.toThrow(
      'array chunk of unknown layout 3',
    );
  });
});
