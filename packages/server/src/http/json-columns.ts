import { Readable } from 'node:stream';
import { jsonNumber } from '@simscope/protocol';
import { TimeSlicer } from '../services/time-slice.js';

/** Points written between two yields to the event loop. */
const SLICE = 50_000;

/** How a column's numbers read in JSON: `value` keeps NaN and ±Infinity as strings, `plain` as JSON.stringify does. */
export type JsonColumnKind = 'value' | 'plain';

const formatters: Record<JsonColumnKind, (v: number) => string> = {
  value: (v) => {
    const n = jsonNumber(v);
    return typeof n === 'string' ? `"${n}"` : String(n);
  },
  plain: (v) => (Number.isFinite(v) ? String(v) : 'null'),
};

/**
 * An object with large number columns as a JSON stream, written a slice at a time with a yield between slices,
 * so that a million-point answer never holds the event loop for long. Keys keep the order given.
 */
export function jsonColumnStream(
  head: Record<string, unknown>,
  columns: [key: string, column: Float64Array, kind: JsonColumnKind][],
  tail: Record<string, unknown>,
): Readable {
  async function* write(): AsyncGenerator<string> {
    const open = JSON.stringify(head);
    yield open.slice(0, -1);
    let first = open === '{}';
    for (const [key, column, kind] of columns) {
      yield `${first ? '' : ','}${JSON.stringify(key)}:[`;
      first = false;
      const format = formatters[kind];
      for (let start = 0; start < column.length; start += SLICE) {
        const end = Math.min(column.length, start + SLICE);
        const parts = new Array<string>(end - start);
        for (let i = start; i < end; i++) parts[i - start] = format(column[i] ?? Number.NaN);
        yield (start === 0 ? '' : ',') + parts.join(',');
        await new Promise((resolve) => setImmediate(resolve));
      }
      yield ']';
    }
    const close = JSON.stringify(tail);
    yield close === '{}' ? '}' : `${first ? '' : ','}${close.slice(1)}`;
  }
  return Readable.from(write());
}

/** Milliseconds of writing between two yields in `jsonItemStream`. */
const ITEM_SLICE_MS = 5;

/**
 * An object whose `key` holds `count` items as a JSON stream; each item is made by `item(i)` when its turn comes,
 * and the writer yields to the event loop every few milliseconds. Keys of `head` come first.
 */
export function jsonItemStream(
  head: Record<string, unknown>,
  key: string,
  count: number,
  item: (index: number) => unknown,
): Readable {
  async function* write(): AsyncGenerator<string> {
    const open = JSON.stringify(head);
    yield `${open.slice(0, -1)}${open === '{}' ? '' : ','}${JSON.stringify(key)}:[`;
    const slicer = new TimeSlicer(ITEM_SLICE_MS);
    let batch = '';
    for (let i = 0; i < count; i++) {
      batch += (i === 0 ? '' : ',') + JSON.stringify(item(i));
      if (slicer.due) {
        yield batch;
        batch = '';
        await slicer.pause();
      }
    }
    yield `${batch}]}`;
  }
  return Readable.from(write());
}
