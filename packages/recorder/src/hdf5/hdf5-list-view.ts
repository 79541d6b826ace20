import { RecorderError } from '../errors.js';
import { resolveRange } from '../store-rules.js';
import type { DType, NdArray, TypedArray, Value, ValueType } from '../value-types.js';

/** What a view asks of its store; every call reads the file as it is now. */
export interface ListReader {
  length(): number;
  readBlock(from: number, to: number): TypedArray;
  readRegion(ranges: readonly ([number, number] | null)[]): NdArray;
  readValues(from: number, to: number): Value[];
}

/** A slice of a list: the first record's index and the records stacked along the first axis. */
export interface ListBlock {
  start: number;
  block: NdArray;
}

/**
 * A lazy view over one list in an HDF5 file: nothing is read until a slice is asked for, so a
 * list larger than memory can be walked in parts.
 * @example
 * const view = hdf5.view('frames');
 * for (const { start, block } of view.blocks(16)) process(start, block.data);
 */
export class HDF5ListView {
  readonly key: string;
  readonly type: ValueType;
  readonly #reader: ListReader;

  constructor(key: string, type: ValueType, reader: ListReader) {
    this.key = key;
    this.type = type;
    this.#reader = reader;
  }

  /** Number of records, buffered ones included. */
  get length(): number {
    return this.#reader.length();
  }

  /** Element type of numeric lists; `null` for strings and JSON values. */
  get dtype(): DType | null {
    return this.type.dtype;
  }

  /** Shape of one record. */
  get valueShape(): readonly number[] {
    return this.type.shape;
  }

  /** Shape of the whole dataset: `[length, ...valueShape]`. */
  get shape(): number[] {
    return [this.length, ...this.type.shape];
  }

  /** Records `start` to `end` (exclusive) stacked as one array of shape `[end - start, ...valueShape]`. */
  read(start = 0, end?: number): NdArray {
    const [from, to] = resolveRange(this.length, start, end);
    return { data: this.#reader.readBlock(from, to), shape: [to - from, ...this.type.shape] };
  }

  /** A hyperslab: one `[start, end)` or `null` (whole axis) per axis, the record axis first. */
  readRegion(selection: readonly ([number, number] | null)[]): NdArray {
    return this.#reader.readRegion(selection);
  }

  /** The record at `index`; negative counts from the end. */
  at(index: number): Value {
    const length = this.length;
    const i = index < 0 ? length + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= length) {
      throw new RecorderError(
        'out_of_range',
        `index ${index} is outside the ${length} records of "${this.key}"`,
      );
    }
    return this.#reader.readValues(i, i + 1)[0] as Value;
  }

  /** Records `start` to `end` (exclusive) as separate values, like `getRange`. */
  slice(start = 0, end?: number): Value[] {
    const [from, to] = resolveRange(this.length, start, end);
    return this.#reader.readValues(from, to);
  }

  /** Walks the list `recordsPerBlock` records at a time, reading each block only when reached. */
  *blocks(recordsPerBlock: number): Generator<ListBlock> {
    if (!Number.isSafeInteger(recordsPerBlock) || recordsPerBlock < 1) {
      throw new RecorderError(
        'invalid_option',
        `recordsPerBlock must be a positive integer; got ${recordsPerBlock}`,
      );
    }
    for (let start = 0; start < this.length; start += recordsPerBlock) {
      yield { start, block: this.read(start, start + recordsPerBlock) };
    }
  }
}
