import {
  type DataStore,
  dtypeOf,
  type KeyInfo,
  type KeyMode,
  type NdArray,
  parseKey,
  RecorderError,
  type TypedArray,
  TypeMismatchError,
  type Value,
  type ValueType,
} from '@simscope/recorder';
import type { NumericArray } from '../arrays.js';
import type { Client } from '../client.js';
import type { Run } from '../run.js';

/** Options of {@link RunDataStore}. */
export interface RunDataStoreOptions {
  /** Store name within a recorder; default `run`. */
  name?: string;
  /** Reads (`get`, `getAll`, `info`, `keys`) go through this client; without one they reject. */
  client?: Client;
}

interface KeyState {
  mode: KeyMode;
  type: ValueType;
  /** The step the next record gets. */
  next: number;
}

interface Planned {
  key: string;
  type: ValueType;
  array: NdArray | null;
  number: number;
}

/**
 * A recorder datastore that writes into a Simscope run: arrays (typed arrays and `{ data, shape }`) become array
 * series with one step per record, numbers become metrics; `set` writes step 0. Writes go out in the run's
 * background queue, so `record` resolves at once; `flush` waits for them.
 * @example
 * const recorder = new Recorder(new InMemoryDataStore(), new RunDataStore(run, { client }));
 * await recorder.record('fields/T', { data: field, shape: [ny, nx] });
 */
export class RunDataStore implements DataStore {
  readonly name: string;
  readonly #run: Run;
  readonly #client: Client | null;
  readonly #keys = new Map<string, KeyState>();
  #closed = false;

  constructor(run: Run, options: RunDataStoreOptions = {}) {
    this.#run = run;
    this.#client = options.client ?? null;
    this.name = options.name ?? 'run';
  }

  async check(key: string, value: Value, mode: KeyMode): Promise<void> {
    this.#plan(key, value, mode);
  }

  async record(key: string, value: Value): Promise<void> {
    const planned = this.#plan(key, value, 'list');
    const state = this.#keys.get(planned.key) ?? (await this.#start(planned, 'list'));
    this.#write(planned, state.next++);
  }

  async set(key: string, value: Value): Promise<void> {
    const planned = this.#plan(key, value, 'single');
    if (!this.#keys.has(planned.key))
      this.#keys.set(planned.key, { mode: 'single', type: planned.type, next: 1 });
    this.#write(planned, 0);
  }

  async get(key: string): Promise<Value> {
    const [value] = await this.getRange(key, 0, 1);
    if (value === undefined)
      throw new RecorderError('key_not_found', `no key "${key}" in datastore "${this.name}"`);
    return value;
  }

  getAll(key: string): Promise<Value[]> {
    return this.getRange(key, 0);
  }

  async getRange(key: string, start: number, end?: number): Promise<Value[]> {
    const { client, run } = this.#reader();
    await this.flush();
    const info = await this.info(key);
    if (!info) throw new RecorderError('key_not_found', `no key "${key}" in datastore "${this.name}"`);
    const from = start < 0 ? Math.max(0, info.length + start) : Math.min(start, info.length);
    const to =
      end === undefined ? info.length : end < 0 ? Math.max(0, info.length + end) : Math.min(end, info.length);
    if (to <= from) return [];
    if (info.type.kind === 'number') {
      const [series] = await client.getMetricValues(run, key);
      return Array.from(series?.values ?? []).slice(from, to);
    }
    const steps: number[] = [];
    for await (const { items } of client.pages('listArrays', {
      params: { run },
      query: { name: key },
      pageSize: 1000,
    }))
      steps.push(...items.map((s) => (s as { step: number }).step));
    const out: Value[] = [];
    for (const step of steps.slice(from, to)) {
      const read = await client.getArray(run, key, step);
      out.push(
        info.type.kind === 'typed'
          ? (read.values as TypedArray)
          : { data: read.values as TypedArray, shape: read.shape },
      );
    }
    return out;
  }

  async info(key: string): Promise<KeyInfo | undefined> {
    const { client, run } = this.#reader();
    const known = this.#keys.get(key);
    const [series] = await this.#series(client, run, key);
    if (series) {
      const kind = known?.type.kind ?? (series.shape.length === 1 ? 'typed' : 'ndarray');
      return {
        key,
        mode: known?.mode ?? 'list',
        type: { kind, dtype: series.dtype, shape: series.shape },
        length: series.steps,
      };
    }
    const [metric] = (await client.getMetricNames(run)).filter((m) => m.name === key);
    if (!metric) return undefined;
    return {
      key,
      mode: known?.mode ?? 'list',
      type: { kind: 'number', dtype: 'float64', shape: [] },
      length: metric.count,
    };
  }

  async keys(): Promise<string[]> {
    const { client, run } = this.#reader();
    await this.flush();
    const names = new Set<string>();
    for await (const { items } of client.pages('listArrays', { params: { run }, pageSize: 1000 }))
      for (const s of items) names.add((s as { name: string }).name);
    for (const key of this.#keys.keys()) names.add(key);
    return [...names].sort();
  }

  async flush(): Promise<void> {
    await this.#run.flush();
  }

  /** Waits for what was recorded; the run itself stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
  }

  #plan(key: string, value: Value, mode: KeyMode): Planned {
    if (this.#closed) throw new RecorderError('closed', `datastore "${this.name}" is closed`);
    const path = parseKey(key).join('/');
    const planned = planValue(path, value, this.name);
    const state = this.#keys.get(path);
    if (state) {
      if (state.mode !== mode)
        throw new RecorderError(
          'key_conflict',
          `key "${path}" holds a ${state.mode === 'list' ? 'list' : 'single value'}`,
        );
      if (state.type.kind !== planned.type.kind || state.type.dtype !== planned.type.dtype)
        throw new TypeMismatchError(
          'dtype_mismatch',
          `key "${path}" holds ${describe(state.type)}, not ${describe(planned.type)}`,
        );
      if (state.type.shape.join(',') !== planned.type.shape.join(','))
        throw new TypeMismatchError(
          'shape_mismatch',
          `key "${path}" holds ${describe(state.type)}, not ${describe(planned.type)}`,
        );
    }
    return planned;
  }

  /** A key's first record: appends after the steps the run already holds under it. */
  async #start(planned: Planned, mode: KeyMode): Promise<KeyState> {
    let next = 0;
    if (this.#client && this.#run.id && planned.array) {
      const [series] = await this.#series(this.#client, this.#run.id, planned.key);
      if (series) next = series.lastStep + 1;
    }
    const state = this.#keys.get(planned.key) ?? { mode, type: planned.type, next };
    this.#keys.set(planned.key, state);
    return state;
  }

  #write(planned: Planned, step: number): void {
    if (!planned.array) {
      this.#run.logMetrics({ [planned.key]: planned.number }, { step });
      return;
    }
    const d = planned.array.data;
    // logArray takes no Uint8ClampedArray; its bytes are the same as a Uint8Array's.
    const data: NumericArray =
      d instanceof Uint8ClampedArray ? new Uint8Array(d.buffer, d.byteOffset, d.length) : d;
    this.#run.logArray(planned.key, data, { step, shape: planned.array.shape });
  }

  #reader(): { client: Client; run: string } {
    if (this.#closed) throw new RecorderError('closed', `datastore "${this.name}" is closed`);
    if (!this.#client || !this.#run.id)
      throw new RecorderError(
        'unsupported',
        `datastore "${this.name}" reads need { client } and a started run`,
      );
    return { client: this.#client, run: this.#run.id };
  }

  async #series(client: Client, run: string, key: string) {
    const found = [];
    for await (const { items } of client.pages('listArrays', { params: { run }, pageSize: 1000 })) {
      for (const s of items as {
        name: string;
        steps: number;
        lastStep: number;
        dtype: ValueType['dtype'];
        shape: number[];
      }[])
        if (s.name === key) found.push(s);
    }
    return found;
  }
}

function describe(type: ValueType): string {
  return type.kind === 'number' ? 'numbers' : `${type.dtype} arrays of shape [${type.shape.join(', ')}]`;
}

function planValue(key: string, value: Value, store: string): Planned {
  if (typeof value === 'number')
    return { key, type: { kind: 'number', dtype: 'float64', shape: [] }, array: null, number: value };
  if (
    typeof value === 'bigint' &&
    value >= BigInt(Number.MIN_SAFE_INTEGER) &&
    value <= BigInt(Number.MAX_SAFE_INTEGER)
  )
    return { key, type: { kind: 'number', dtype: 'float64', shape: [] }, array: null, number: Number(value) };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const data = value as TypedArray;
    return {
      key,
      type: { kind: 'typed', dtype: dtypeOf(data), shape: [data.length] },
      array: { data, shape: [data.length] },
      number: 0,
    };
  }
  if (
    value !== null &&
    typeof value === 'object' &&
    'data' in value &&
    'shape' in value &&
    ArrayBuffer.isView(value.data)
  ) {
    const array = value as unknown as NdArray;
    const count = array.shape.reduce((a, b) => a * b, 1);
    if (count !== array.data.length)
      throw new RecorderError(
        'invalid_value',
        `key "${key}": shape [${array.shape.join(', ')}] needs ${count} elements, data has ${array.data.length}`,
      );
    return {
      key,
      type: { kind: 'ndarray', dtype: dtypeOf(array.data), shape: [...array.shape] },
      array,
      number: 0,
    };
  }
  throw new RecorderError(
    'unsupported',
    `datastore "${store}" stores arrays and numbers; key "${key}" got ${typeof value === 'object' ? 'JSON' : typeof value}`,
  );
}
