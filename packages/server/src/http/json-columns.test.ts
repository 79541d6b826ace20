import type { Readable } from 'node:stream';
import { jsonNumber } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { jsonColumnStream, jsonItemStream } from './json-columns.js';

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk;
  return out;
}

describe('jsonColumnStream', () => {
  it('writes what JSON.stringify writes, NaN and ±Infinity as strings in value columns and null elsewhere', async () => {
    const n = 120_001;
    const steps = Float64Array.from({ length: n }, (_, i) => i);
    const values = Float64Array.from({ length: n }, (_, i) =>
      i % 7 === 0 ? Number.NaN : i % 11 === 0 ? -Infinity : i % 13 === 0 ? Infinity : i / 3 - 1e6,
    );
    const times = Float64Array.from({ length: n }, (_, i) => (i === 5 ? Number.NaN : i * 0.001));
    const streamed = await text(
      jsonColumnStream(
        { name: 'residual "p"' },
        [
          ['steps', steps, 'plain'],
          ['times', times, 'plain'],
          ['values', values, 'value'],
        ],
        { next: 'abc' },
      ),
    );
    const expected = JSON.stringify({
      name: 'residual "p"',
      steps: Array.from(steps),
      times: Array.from(times),
      values: Array.from(values, jsonNumber),
      next: 'abc',
    });
    expect(streamed).toBe(expected);
  });

  it('writes empty columns and an empty head or tail', async () => {
    expect(await text(jsonColumnStream({}, [['values', new Float64Array(0), 'value']], {}))).toBe(
      '{"values":[]}',
    );
    expect(await text(jsonColumnStream({ a: 1 }, [], { next: null }))).toBe('{"a":1,"next":null}');
    expect(await text(jsonColumnStream({}, [], {}))).toBe('{}');
  });

  it('yields to the event loop between slices of a million points', async () => {
    const values = Float64Array.from({ length: 1_000_000 }, (_, i) => Math.sin(i));
    let ticks = 0;
    let longest = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      ticks += 1;
    }, 1);
    await text(jsonColumnStream({ name: 'x' }, [['values', values, 'value']], { next: null }));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
    expect(longest).toBeLessThan(250);
  });
});

describe('jsonItemStream', () => {
  it('writes what JSON.stringify writes, items made one at a time', async () => {
    const items = Array.from({ length: 3000 }, (_, i) => ({
      run: `r${i}`,
      count: [i, i + 1],
      error: i % 5 === 0 ? 'x' : undefined,
    }));
    const made: number[] = [];
    const streamed = await text(
      jsonItemStream({ name: 'loss', from: 0 }, 'runs', items.length, (i) => {
        made.push(i);
        return items[i];
      }),
    );
    expect(streamed).toBe(JSON.stringify({ name: 'loss', from: 0, runs: items }));
    expect(made).toEqual(items.map((_, i) => i));
    expect(await text(jsonItemStream({}, 'runs', 0, () => null))).toBe('{"runs":[]}');
  });
});
