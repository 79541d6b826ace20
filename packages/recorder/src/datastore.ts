import type { Value, ValueType } from './value-types.js';

/** `list`: a key that `record` appends to. `single`: a key that `set` writes. */
export type KeyMode = 'list' | 'single';

/** What a datastore holds under one key. */
export interface KeyInfo {
  readonly key: string;
  readonly mode: KeyMode;
  readonly type: ValueType;
  /** Number of records (1 for a single value). */
  readonly length: number;
}

/**
 * A place a `Recorder` writes to. Every method validates its key and value and rejects with a
 * `RecorderError`; a write that fails leaves what was stored before unchanged.
 */
export interface DataStore {
  /** Names the store in `Recorder` options (`{ datastore: 'hdf5' }`); unique within a recorder. */
  readonly name: string;
  /** Rejects when `value` could not be written under `key` in `mode`; writes nothing. */
  check(key: string, value: Value, mode: KeyMode): Promise<void>;
  /** Appends `value` to the list under `key`. */
  record(key: string, value: Value): Promise<void>;
  /** Stores `value` as the single value under `key`, replacing one of the same type. */
  set(key: string, value: Value): Promise<void>;
  /** The single value under `key`. */
  get(key: string): Promise<Value>;
  /** Every value of the list under `key`, in record order. */
  getAll(key: string): Promise<Value[]>;
  /** Values `start` (inclusive) to `end` (exclusive) of the list under `key`; negative counts from the end. */
  getRange(key: string, start: number, end?: number): Promise<Value[]>;
  /** What is stored under `key`, or `undefined` when nothing is. */
  info(key: string): Promise<KeyInfo | undefined>;
  /** Every key that holds a list or a single value, sorted. */
  keys(): Promise<string[]>;
  /** Writes out anything buffered. */
  flush(): Promise<void>;
  /** Flushes and releases the store; later calls reject with code `closed`. */
  close(): Promise<void>;
}
