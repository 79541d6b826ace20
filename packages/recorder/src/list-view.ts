import type { DataStore } from './datastore.js';
import { RecorderError } from './errors.js';
import { resolveRange } from './store-rules.js';
import type { Value, ValueType } from './value-types.js';

/**
 * A list read lazily through a `Recorder`: nothing is read until a slice is asked for, so a
 * list larger than memory can be walked in pieces. Its length is fixed when the view is made.
 * @example
 * const view = await recorder.view('a/b');
 * for await (const { start, values } of view.blocks(100)) process(start, values);
 */
export class ListView {
  readonly key: string;
  readonly type: ValueType;
  /** Records in the list when the view was made; records added later are not seen. */
  readonly length: number;
  readonly #store: DataStore;

  constructor(store: DataStore, key: string, type: ValueType, length: number) {
    this.#store = store;
    this.key = key;
    this.type = type;
    this.length = length;
  }

  /** Record `index` (negative counts from the end); rejects with `out_of_range` outside the list. */
  async at(index: number): Promise<Value> {
    const position = index < 0 ? this.length + index : index;
    if (!Number.isInteger(index) || position < 0 || position >= this.length) {
      throw new RecorderError(
        'out_of_range',
        `index ${index} is outside list "${this.key}" of length ${this.length}`,
      );
    }
    const [value] = await this.#store.getRange(this.key, position, position + 1);
    return value as Value;
  }

  /** Records `start` (inclusive) to `end` (exclusive), with `Array.prototype.slice` rules. */
  async slice(start = 0, end: number = this.length): Promise<Value[]> {
    const [from, to] = resolveRange(this.length, start, end);
    return to > from ? this.#store.getRange(this.key, from, to) : [];
  }

  /** Yields `{ start, values }` with at most `size` records at a time, reading each block only when asked. */
  async *blocks(size: number): AsyncGenerator<{ start: number; values: Value[] }> {
    if (!Number.isInteger(size) || size < 1) {
      throw new RecorderError('invalid_option', `block size must be a positive integer, got ${size}`);
    }
    for (let start = 0; start < this.length; start += size) {
      yield { start, values: await this.slice(start, Math.min(this.length, start + size)) };
    }
  }
}
