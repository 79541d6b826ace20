import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DataStore, KeyInfo, KeyMode } from '../datastore.js';
import { DatastoreUnavailableError, RecorderError } from '../errors.js';
import { parentPaths, parseKey } from '../key-path.js';
import { assertMode, closedError, groupConflict, keyNotFound, resolveRange } from '../store-rules.js';
import {
  allocateTyped,
  assertSameType,
  bytesOf,
  type DType,
  decodeText,
  describeType,
  type EncodedValue,
  elementCount,
  encodeValue,
  itemSize,
  type NdArray,
  splitBlock,
  type TypedArray,
  VALUE_KINDS,
  type Value,
  type ValueKind,
  type ValueType,
  valueByteLength,
} from '../value-types.js';
import {
  type H5Dataset,
  type H5File,
  type H5Metadata,
  type H5Module,
  H5T_ENUM,
  H5T_FLOAT,
  H5T_INTEGER,
  H5T_STRING,
  loadH5wasm,
} from './h5wasm-api.js';
import { HDF5ListView, type ListReader } from './hdf5-list-view.js';

/** How an HDF5 file is opened. `auto`: create it when missing, else open it read-only. */
export const HDF5_OPEN_MODES = ['auto', 'read', 'append', 'overwrite'] as const;

export type HDF5OpenMode = (typeof HDF5_OPEN_MODES)[number];

/** Options of {@link HDF5DataStore.open}. */
export interface HDF5DataStoreOptions {
  /** Store name within a recorder; default `hdf5`. */
  name?: string;
  /**
   * `auto` (default): a new file is created, an existing one opens read-only. `read`: the file
   * must exist and opens read-only. `append`: opens read-write, creating it if missing.
   * `overwrite`: truncates or creates.
   */
  mode?: HDF5OpenMode;
  /** Records per chunk of a new list dataset; default: as many as fit in `chunkBytes`. */
  chunkRecords?: number;
  /** Target chunk size in bytes when `chunkRecords` is not given; default 1 MiB. */
  chunkBytes?: number;
  /** gzip (deflate) level 1–9 for new numeric list datasets; default none. */
  compression?: number;
  /** Most bytes of records held in memory over all keys before they are written; default 16 MiB. */
  bufferBytes?: number;
}

/** Attribute naming the kind of value a dataset holds (`number`, `ndarray`, `json`, …). */
export const HDF5_KIND_ATTRIBUTE = 'simscope_kind';
/** Attribute, set to 1, that marks a dataset written by `set` (no record axis). */
export const HDF5_SINGLE_ATTRIBUTE = 'simscope_single';

const DEFAULT_CHUNK_BYTES = 1 << 20;
const MAX_AUTO_CHUNK_RECORDS = 1024;
const MAX_CHUNK_BYTES = 64 << 20;
const READ_BLOCK_BYTES = 64 << 20;
const DEFAULT_BUFFER_BYTES = 16 << 20;
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const UNLIMITED = 2 ** 53;

// h5wasm takes Python struct codes: b/B int8, h/H int16, i/I int32, q/Q int64, f float32, d float64.
const H5_DTYPES: Record<DType, string> = {
  int8: '<b',
  uint8: '<B',
  int16: '<h',
  uint16: '<H',
  int32: '<i',
  uint32: '<I',
  int64: '<q',
  uint64: '<Q',
  float32: '<f',
  float64: '<d',
};

type TextStorage = 'vlen' | 'fixed' | null;

interface H5Entry {
  readonly key: string;
  readonly path: string;
  readonly mode: KeyMode;
  readonly type: ValueType;
  readonly recordBytes: number | null;
  readonly text: TextStorage;
  /** Bytes per element of a fixed-length string dataset. */
  readonly fixedSize: number;
  readonly chunkRecords: number;
  /** Why records cannot be appended, or `null` when they can. */
  readonly appendBlocker: string | null;
  stored: number;
  pending: (Uint8Array | string)[];
  pendingBytes: number;
}

/**
 * Stores each key as an HDF5 dataset at the key's path, through h5wasm on the real filesystem.
 * Records are buffered per key up to one chunk and written a chunk at a time; the file is
 * flushed after every write, so a killed process loses at most what was buffered.
 * @example
 * const hdf5 = await HDF5DataStore.open('out/data.h5');
 * await hdf5.record('a/b', new Float64Array([1, 2, 3]));
 * hdf5.view('a/b').read(0, 1); // { data: Float64Array [1, 2, 3], shape: [1, 3] }
 */
export class HDF5DataStore implements DataStore {
  readonly name: string;
  /** Absolute path of the file. */
  readonly path: string;
  /** Whether writes are refused (an existing file opened without `append`). */
  readonly readOnly: boolean;
  readonly #file: H5File;
  readonly #m: H5Module;
  readonly #options: Required<Omit<HDF5DataStoreOptions, 'name' | 'mode' | 'chunkRecords'>> & {
    chunkRecords: number | undefined;
  };
  readonly #entries = new Map<string, H5Entry>();
  #pendingTotal = 0;
  #scratchPtr = 0;
  #scratchSize = 0;
  #closed = false;
  readonly #onExit = (): void => {
    // Nothing can catch an error thrown at exit, so say it on stderr instead.
    try {
      this.#closeSync();
    } catch (error) {
      process.stderr.write(
        `HDF5DataStore: buffered records for ${this.path} were not written at exit: ${error}\n`,
      );
    }
  };

  private constructor(
    file: H5File,
    module: H5Module,
    path: string,
    readOnly: boolean,
    options: HDF5DataStoreOptions,
  ) {
    this.#file = file;
    this.#m = module;
    this.path = path;
    this.readOnly = readOnly;
    this.name = options.name ?? 'hdf5';
    this.#options = {
      chunkRecords: options.chunkRecords,
      chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
      compression: options.compression ?? 0,
      bufferBytes: options.bufferBytes ?? DEFAULT_BUFFER_BYTES,
    };
    if (!readOnly) process.on('exit', this.#onExit);
  }

  /** Opens (or creates) the HDF5 file at `path`; see {@link HDF5DataStoreOptions.mode}. */
  static async open(path: string, options: HDF5DataStoreOptions = {}): Promise<HDF5DataStore> {
    validateOptions(options);
    const absolute = resolve(path);
    const mode = options.mode ?? 'auto';
    const exists = existsSync(absolute);
    if (exists && !statSync(absolute).isFile()) {
      throw new DatastoreUnavailableError('file_invalid', `${absolute} is not a regular file`);
    }
    if (!exists && mode === 'read') {
      throw new DatastoreUnavailableError(
        'file_not_found',
        `HDF5 file ${absolute} does not exist (opened read-only)`,
      );
    }
    const h5Mode = mode === 'overwrite' || !exists ? 'w' : mode === 'append' ? 'a' : 'r';
    if (h5Mode !== 'w' && !hasHdf5Signature(absolute)) {
      throw new DatastoreUnavailableError('file_invalid', `${absolute} is not an HDF5 file`);
    }
    if (h5Mode === 'w') mkdirSync(dirname(absolute), { recursive: true });
    const { api, module } = await loadH5wasm();
    let file: H5File;
    try {
      file = new api.File(absolute, h5Mode);
    } catch (cause) {
      throw new DatastoreUnavailableError('file_invalid', `cannot open HDF5 file ${absolute}`, { cause });
    }
    if (file.file_id < 0n) {
      const verb = h5Mode === 'w' ? 'create' : 'open';
      throw new DatastoreUnavailableError(
        'file_invalid',
        `cannot ${verb} HDF5 file ${absolute} (is it writable, or open in another program?)`,
      );
    }
    return new HDF5DataStore(file, module, absolute, h5Mode === 'r', options);
  }

  async check(key: string, value: Value, mode: KeyMode): Promise<void> {
    this.#validate(key, encodeValue(value), mode);
  }

  async record(key: string, value: Value): Promise<void> {
    this.recordSync(key, value);
  }

  /** {@link record} without a promise: HDF5 writes are synchronous. */
  recordSync(key: string, value: Value): void {
    const encoded = encodeValue(value);
    const entry = this.#validate(key, encoded, 'list') ?? this.#createList(key, encoded.type);
    if (entry.appendBlocker) throw new RecorderError('unsupported', entry.appendBlocker);
    if (encoded.bytes) {
      if (entry.pending.length + 1 >= entry.chunkRecords) {
        this.#writeRecords(entry, encoded.bytes);
        return;
      }
      entry.pending.push(encoded.bytes.slice());
      entry.pendingBytes += encoded.bytes.byteLength;
      this.#pendingTotal += encoded.bytes.byteLength;
    } else {
      const text = encoded.text as string;
      entry.pending.push(text);
      entry.pendingBytes += text.length * 3 + 1;
      this.#pendingTotal += text.length * 3 + 1;
      if (entry.pending.length >= entry.chunkRecords) {
        this.#writeRecords(entry);
        return;
      }
    }
    if (this.#pendingTotal > this.#options.bufferBytes) this.#flushAll();
  }

  async set(key: string, value: Value): Promise<void> {
    this.setSync(key, value);
  }

  /** {@link set} without a promise. */
  setSync(key: string, value: Value): void {
    const encoded = encodeValue(value);
    const existing = this.#validate(key, encoded, 'single');
    if (existing) this.#overwriteSingle(existing, encoded);
    else this.#createSingle(key, encoded);
    this.#flushFile();
  }

  async get(key: string): Promise<Value> {
    return this.getSync(key);
  }

  /** {@link get} without a promise. */
  getSync(key: string): Value {
    const entry = this.#require(key);
    assertMode(key, entry.mode, 'single');
    if (entry.text) return this.#readTexts(entry, null)[0] as Value;
    const block = this.#readSingle(entry);
    return splitBlock(entry.type, block, 1)[0] as Value;
  }

  async getAll(key: string): Promise<Value[]> {
    return this.getRangeSync(key, 0);
  }

  async getRange(key: string, start: number, end?: number): Promise<Value[]> {
    return this.getRangeSync(key, start, end);
  }

  /** {@link getRange} without a promise. */
  getRangeSync(key: string, start: number, end?: number): Value[] {
    const entry = this.#requireList(key);
    const [from, to] = resolveRange(entry.stored, start, end);
    return this.#readValues(entry, from, to);
  }

  /**
   * A view over the list under `key` that reads only the slices asked for, so lists larger
   * than memory can be walked in parts.
   */
  view(key: string): HDF5ListView {
    const entry = this.#requireList(key);
    const reader: ListReader = {
      length: () => this.#requireList(key).stored,
      readBlock: (from, to) => this.#readBlock(this.#requireList(key), from, to),
      readRegion: (ranges) => this.#readRegion(this.#requireList(key), ranges),
      readValues: (from, to) => this.#readValues(this.#requireList(key), from, to),
    };
    return new HDF5ListView(key, entry.type, reader);
  }

  async info(key: string): Promise<KeyInfo | undefined> {
    this.#assertOpen();
    parseKey(key);
    const entry = this.#lookup(key);
    if (!entry) return undefined;
    const length = entry.mode === 'single' ? 1 : entry.stored + entry.pending.length;
    return { key, mode: entry.mode, type: entry.type, length };
  }

  async keys(): Promise<string[]> {
    this.#assertOpen();
    const keys: string[] = [];
    for (const name of this.#m.get_names(this.#file.file_id, '/', true)) {
      const path = name.startsWith('/') ? name : `/${name}`;
      if (this.#m.get_type(this.#file.file_id, path) === this.#m.H5G_DATASET) keys.push(path.slice(1));
    }
    return keys.sort();
  }

  async flush(): Promise<void> {
    this.#assertOpen();
    this.#flushAll();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closeSync();
  }

  #closeSync(): void {
    if (this.#closed) return;
    process.off('exit', this.#onExit);
    let failure: unknown;
    try {
      if (!this.readOnly) this.#flushAll();
    } catch (error) {
      failure = error;
    }
    this.#closed = true;
    if (this.#scratchPtr) this.#m._free(this.#scratchPtr);
    this.#scratchPtr = 0;
    this.#entries.clear();
    const status = this.#file.close();
    if (failure) throw failure;
    if (status < 0) throw new RecorderError('hdf5_error', `closing ${this.path} failed`);
  }

  // ---- key state ----

  #assertOpen(): void {
    if (this.#closed) throw closedError(this.name);
  }

  #require(key: string): H5Entry {
    this.#assertOpen();
    parseKey(key);
    const entry = this.#lookup(key);
    if (!entry) throw keyNotFound(key, this.name);
    return entry;
  }

  #requireList(key: string): H5Entry {
    const entry = this.#require(key);
    assertMode(key, entry.mode, 'list');
    if (entry.pending.length > 0) this.#writeRecords(entry);
    return entry;
  }

  #lookup(key: string): H5Entry | undefined {
    const cached = this.#entries.get(key);
    if (cached) return cached;
    if (this.#probe(key).kind !== 'dataset') return undefined;
    const entry = this.#loadEntry(key, `/${key}`);
    this.#entries.set(key, entry);
    return entry;
  }

  /**
   * What the file holds at `key`, walking down from the root: asking HDF5 about a path that runs
   * through a dataset prints errors to stderr, so the walk stops at the first missing or dataset.
   */
  #probe(key: string): { kind: 'missing' | 'group' | 'dataset' } | { kind: 'under'; dataset: string } {
    const segments = key.split('/');
    const fileId = this.#file.file_id;
    for (let i = 1; i <= segments.length; i++) {
      const prefix = segments.slice(0, i).join('/');
      const type = this.#m.get_type(fileId, `/${prefix}`);
      if (i === segments.length) {
        if (type === this.#m.H5G_GROUP) return { kind: 'group' };
        return { kind: type === this.#m.H5G_DATASET ? 'dataset' : 'missing' };
      }
      if (type === this.#m.H5G_DATASET) return { kind: 'under', dataset: prefix };
      if (type !== this.#m.H5G_GROUP) return { kind: 'missing' };
    }
    return { kind: 'missing' };
  }

  #validate(key: string, encoded: EncodedValue, mode: KeyMode): H5Entry | undefined {
    this.#assertOpen();
    parseKey(key);
    if (this.readOnly) {
      throw new RecorderError(
        'read_only',
        `datastore "${this.name}" opened ${this.path} read-only; open it with { mode: 'append' } to write`,
      );
    }
    const cached = this.#entries.get(key);
    const found = cached ? { kind: 'dataset' as const } : this.#probe(key);
    if (found.kind === 'group') {
      const child = this.#m.get_names(this.#file.file_id, `/${key}`, false)[0] ?? '…';
      throw groupConflict(key, `${key}/${child}`, this.name);
    }
    if (found.kind === 'under') throw groupConflict(key, found.dataset, this.name);
    if (found.kind === 'dataset') {
      const entry = this.#lookup(key) as H5Entry;
      assertMode(key, entry.mode, mode);
      assertSameType(key, entry.type, encoded.type);
      return entry;
    }
    if (encoded.bytes && valueByteLength(encoded.type) === null) {
      throw new RecorderError('invalid_value', `cannot store ${describeType(encoded.type)}`);
    }
    return undefined;
  }

  #loadEntry(key: string, path: string): H5Entry {
    const fileId = this.#file.file_id;
    const md = this.#m.get_dataset_metadata(fileId, path);
    if (!md.shape) throw new RecorderError('unsupported', `dataset ${path} has no dataspace`);
    const attributes = this.#m.get_attribute_names(fileId, path);
    const dataset = this.#file.get(path) as H5Dataset;
    const single = attributes.includes(HDF5_SINGLE_ATTRIBUTE)
      ? Boolean(Number(dataset.get_attribute(HDF5_SINGLE_ATTRIBUTE, false)))
      : md.shape.length === 0;
    const declared = attributes.includes(HDF5_KIND_ATTRIBUTE)
      ? String(dataset.get_attribute(HDF5_KIND_ATTRIBUTE, false))
      : undefined;
    const mode: KeyMode = single ? 'single' : 'list';
    if (mode === 'list' && md.shape.length === 0) {
      throw new RecorderError(
        'unsupported',
        `dataset ${path} is a scalar but not marked ${HDF5_SINGLE_ATTRIBUTE}`,
      );
    }
    const valueShape = mode === 'list' ? md.shape.slice(1) : md.shape;
    const storage = storageOf(md, path);
    const kind = kindOf(declared, storage, valueShape, path);
    const type: ValueType = {
      kind,
      dtype: storage.dtype,
      shape: kind === 'typed' || kind === 'ndarray' ? valueShape : [],
    };
    let appendBlocker: string | null = null;
    if (mode === 'list') {
      const max = md.maxshape?.[0] ?? 0;
      if (!md.chunks || max < UNLIMITED) {
        appendBlocker = `dataset ${path} cannot grow (it needs chunks and an unlimited first axis)`;
      } else if (storage.text === 'fixed') {
        appendBlocker = `dataset ${path} holds fixed-length strings; only variable-length strings can be appended`;
      }
    }
    return {
      key,
      path,
      mode,
      type,
      recordBytes: valueByteLength(type),
      text: storage.text,
      fixedSize: md.size,
      chunkRecords: md.chunks?.[0] ?? 1,
      appendBlocker,
      stored: mode === 'list' ? (md.shape[0] as number) : 1,
      pending: [],
      pendingBytes: 0,
    };
  }

  #ensureGroups(key: string): void {
    const fileId = this.#file.file_id;
    for (const parent of parentPaths(key.split('/'))) {
      const path = `/${parent}`;
      if (this.#m.get_type(fileId, path) === this.#m.H5G_GROUP) continue;
      if (this.#m.create_group(fileId, path, false) < 0) {
        throw new RecorderError('hdf5_error', `cannot create group ${path} in ${this.path}`);
      }
    }
  }

  #createList(key: string, type: ValueType): H5Entry {
    this.#ensureGroups(key);
    const recordBytes = valueByteLength(type);
    const chunkRecords =
      this.#options.chunkRecords ?? autoChunkRecords(recordBytes, this.#options.chunkBytes);
    const path = `/${key}`;
    if (type.dtype === null) {
      this.#file.create_dataset({
        name: key,
        data: [],
        shape: [0],
        maxshape: [null],
        chunks: [chunkRecords],
        dtype: 'S',
      });
    } else {
      const shape = [0, ...type.shape];
      const compression = this.#options.compression;
      this.#file.create_dataset({
        name: key,
        data: allocateTyped(type.dtype, 0),
        shape,
        maxshape: [null, ...type.shape.map((d) => (d === 0 ? null : d))],
        chunks: [chunkRecords, ...chunkValueShape(type.shape, itemSize(type.dtype) * chunkRecords)],
        dtype: H5_DTYPES[type.dtype],
        ...(compression > 0 ? { compression: 'gzip' as const, compression_opts: compression } : {}),
      });
    }
    this.#markDataset(key, path, type.kind, false);
    const entry: H5Entry = {
      key,
      path,
      mode: 'list',
      type,
      recordBytes,
      text: type.dtype === null ? 'vlen' : null,
      fixedSize: 0,
      chunkRecords,
      appendBlocker: null,
      stored: 0,
      pending: [],
      pendingBytes: 0,
    };
    this.#entries.set(key, entry);
    return entry;
  }

  #createSingle(key: string, encoded: EncodedValue): void {
    this.#ensureGroups(key);
    const { type } = encoded;
    const path = `/${key}`;
    if (type.dtype === null) {
      this.#file.create_dataset({ name: key, data: [encoded.text as string], shape: [], dtype: 'S' });
    } else {
      this.#file.create_dataset({
        name: key,
        data: typedFromCopy(type.dtype, encoded.bytes as Uint8Array),
        shape: [...type.shape],
        dtype: H5_DTYPES[type.dtype],
      });
    }
    this.#markDataset(key, path, type.kind, true);
  }

  #markDataset(key: string, path: string, kind: ValueKind, single: boolean): void {
    const dataset = this.#file.get(path) as H5Dataset | null;
    if (!dataset || this.#m.get_type(this.#file.file_id, path) !== this.#m.H5G_DATASET) {
      throw new RecorderError('hdf5_error', `cannot create dataset for key "${key}" in ${this.path}`);
    }
    dataset.create_attribute(HDF5_KIND_ATTRIBUTE, kind);
    if (single) dataset.create_attribute(HDF5_SINGLE_ATTRIBUTE, new Int8Array([1]), [], '<b');
  }

  // ---- writing ----

  #scratch(bytes: number): number {
    if (bytes > this.#scratchSize) {
      if (this.#scratchPtr) this.#m._free(this.#scratchPtr);
      this.#scratchPtr = 0;
      this.#scratchSize = 0;
      const size = Math.max(bytes, 1 << 16);
      const ptr = size > this.#m.MAXIMUM_MEMORY ? 0 : this.#m._malloc(size);
      if (!ptr) {
        throw new RecorderError(
          'hdf5_error',
          `cannot allocate ${size} bytes in h5wasm's memory (2 GiB at most)`,
        );
      }
      this.#scratchPtr = ptr;
      this.#scratchSize = size;
    }
    return this.#scratchPtr;
  }

  #writeRecords(entry: H5Entry, extra?: Uint8Array): void {
    const count = entry.pending.length + (extra ? 1 : 0);
    if (count === 0) return;
    const ptr = entry.text ? this.#stageTexts(entry.pending as string[]) : this.#stageBytes(entry, extra);
    const fileId = this.#file.file_id;
    const shape = [entry.stored + count, ...entry.type.shape].map(BigInt);
    if (this.#m.resize_dataset(fileId, entry.path, shape) < 0) {
      throw new RecorderError('hdf5_error', `cannot extend dataset ${entry.path} in ${this.path}`);
    }
    const countDims = [count, ...entry.type.shape].map(BigInt);
    const offset = [BigInt(entry.stored), ...entry.type.shape.map(() => 0n)];
    const strides = countDims.map(() => 1n);
    let status: number;
    try {
      status = this.#m.set_dataset_data(fileId, entry.path, countDims, offset, strides, BigInt(ptr));
    } catch (cause) {
      this.#m.resize_dataset(fileId, entry.path, [entry.stored, ...entry.type.shape].map(BigInt));
      throw new RecorderError('hdf5_error', `writing to ${entry.path} in ${this.path} failed`, { cause });
    }
    if (status < 0) {
      this.#m.resize_dataset(fileId, entry.path, [entry.stored, ...entry.type.shape].map(BigInt));
      throw new RecorderError('hdf5_error', `writing to ${entry.path} in ${this.path} failed`);
    }
    entry.stored += count;
    this.#pendingTotal -= entry.pendingBytes;
    entry.pending = [];
    entry.pendingBytes = 0;
    this.#flushFile();
  }

  #stageBytes(entry: H5Entry, extra?: Uint8Array): number {
    const recordBytes = entry.recordBytes as number;
    const count = entry.pending.length + (extra ? 1 : 0);
    const ptr = this.#scratch(count * recordBytes);
    const heap = this.#m.HEAPU8;
    let at = ptr;
    for (const bytes of entry.pending as Uint8Array[]) {
      heap.set(bytes, at);
      at += recordBytes;
    }
    if (extra) heap.set(extra, at);
    return ptr;
  }

  /** Lays out NUL-terminated UTF-8 strings and a table of pointers to them; returns the table. */
  #stageTexts(texts: readonly string[]): number {
    let capacity = texts.length * 4 + 8;
    for (const text of texts) capacity += text.length * 3 + 1;
    const ptr = this.#scratch(capacity);
    const heap = this.#m.HEAPU8;
    const table = (ptr + 3) & ~3;
    const pointers = new Uint32Array(heap.buffer, table, texts.length);
    const encoder = new TextEncoder();
    let at = table + texts.length * 4;
    for (let i = 0; i < texts.length; i++) {
      pointers[i] = at;
      const text = texts[i] as string;
      const { written } = encoder.encodeInto(text, heap.subarray(at, at + text.length * 3));
      heap[at + written] = 0;
      at += written + 1;
    }
    return table;
  }

  #overwriteSingle(entry: H5Entry, encoded: EncodedValue): void {
    let ptr: number;
    if (encoded.bytes) {
      ptr = this.#scratch(Math.max(1, encoded.bytes.byteLength));
      this.#m.HEAPU8.set(encoded.bytes, ptr);
    } else {
      if (entry.text === 'fixed') {
        throw new RecorderError('unsupported', `dataset ${entry.path} holds a fixed-length string`);
      }
      ptr = this.#stageTexts([encoded.text as string]);
    }
    if (this.#m.set_dataset_data(this.#file.file_id, entry.path, null, null, null, BigInt(ptr)) < 0) {
      throw new RecorderError('hdf5_error', `writing ${entry.path} in ${this.path} failed`);
    }
  }

  #flushAll(): void {
    for (const entry of this.#entries.values()) {
      if (entry.pending.length > 0) this.#writeRecords(entry);
    }
  }

  #flushFile(): void {
    if (this.#m.flush(this.#file.file_id) < 0) {
      throw new RecorderError('hdf5_error', `flushing ${this.path} failed`);
    }
  }

  // ---- reading ----

  #readValues(entry: H5Entry, from: number, to: number): Value[] {
    if (to <= from) return [];
    if (entry.text) return this.#readTexts(entry, [from, to]);
    return splitBlock(entry.type, this.#readBlock(entry, from, to), to - from);
  }

  /** Records `[from, to)` as one TypedArray, read in blocks of at most 64 MiB of h5wasm memory. */
  #readBlock(entry: H5Entry, from: number, to: number): TypedArray {
    if (entry.text) {
      throw new RecorderError(
        'unsupported',
        `key "${entry.key}" holds ${describeType(entry.type)}, not numbers`,
      );
    }
    const dtype = entry.type.dtype as DType;
    const recordBytes = entry.recordBytes as number;
    const perRecord = elementCount(entry.type.shape);
    const out = allocateTyped(dtype, (to - from) * perRecord);
    if (recordBytes === 0 || to <= from) return out;
    const outBytes = bytesOf(out);
    const step = Math.max(1, Math.floor(READ_BLOCK_BYTES / recordBytes));
    const fileId = this.#file.file_id;
    const zeros = entry.type.shape.map(() => 0n);
    const ones = [1n, ...entry.type.shape.map(() => 1n)];
    for (let start = from; start < to; start += step) {
      const n = Math.min(step, to - start);
      const bytes = n * recordBytes;
      const ptr = this.#scratch(bytes);
      const status = this.#m.get_dataset_data(
        fileId,
        entry.path,
        [n, ...entry.type.shape].map(BigInt),
        [BigInt(start), ...zeros],
        ones,
        BigInt(ptr),
      );
      if (status < 0) throw new RecorderError('hdf5_error', `reading ${entry.path} in ${this.path} failed`);
      outBytes.set(this.#m.HEAPU8.subarray(ptr, ptr + bytes), (start - from) * recordBytes);
    }
    return out;
  }

  #readSingle(entry: H5Entry): TypedArray {
    const bytes = entry.recordBytes as number;
    const out = allocateTyped(entry.type.dtype as DType, elementCount(entry.type.shape));
    if (bytes === 0) return out;
    const ptr = this.#scratch(bytes);
    if (this.#m.get_dataset_data(this.#file.file_id, entry.path, null, null, null, BigInt(ptr)) < 0) {
      throw new RecorderError('hdf5_error', `reading ${entry.path} in ${this.path} failed`);
    }
    bytesOf(out).set(this.#m.HEAPU8.subarray(ptr, ptr + bytes));
    return out;
  }

  #readRegion(entry: H5Entry, ranges: readonly ([number, number] | null)[]): NdArray {
    if (entry.text) {
      throw new RecorderError(
        'unsupported',
        `key "${entry.key}" holds ${describeType(entry.type)}, not numbers`,
      );
    }
    const full = [entry.stored, ...entry.type.shape];
    if (ranges.length > full.length) {
      throw new RecorderError(
        'out_of_range',
        `selection has ${ranges.length} axes; the data has ${full.length}`,
      );
    }
    const offset: number[] = [];
    const count: number[] = [];
    full.forEach((size, axis) => {
      const range = ranges[axis] ?? null;
      const [from, to] = range === null ? [0, size] : resolveRange(size, range[0], range[1]);
      offset.push(from);
      count.push(to - from);
    });
    const dtype = entry.type.dtype as DType;
    const elements = elementCount(count);
    const out = allocateTyped(dtype, elements);
    const bytes = elements * itemSize(dtype);
    if (bytes > 0) {
      const ptr = this.#scratch(bytes);
      const status = this.#m.get_dataset_data(
        this.#file.file_id,
        entry.path,
        count.map(BigInt),
        offset.map(BigInt),
        count.map(() => 1n),
        BigInt(ptr),
      );
      if (status < 0) throw new RecorderError('hdf5_error', `reading ${entry.path} in ${this.path} failed`);
      bytesOf(out).set(this.#m.HEAPU8.subarray(ptr, ptr + bytes));
    }
    return { data: out, shape: count };
  }

  /** Strings (or JSON texts) `[from, to)` of a list, or the single string when `range` is null. */
  #readTexts(entry: H5Entry, range: [number, number] | null): Value[] {
    const fileId = this.#file.file_id;
    const count = range ? range[1] - range[0] : 1;
    const size = entry.text === 'vlen' ? 4 : entry.fixedSize;
    const ptr = this.#scratch(Math.max(1, count * size));
    const countDims = range ? [BigInt(count)] : null;
    const offset = range ? [BigInt(range[0])] : null;
    const strides = range ? [1n] : null;
    if (this.#m.get_dataset_data(fileId, entry.path, countDims, offset, strides, BigInt(ptr)) < 0) {
      throw new RecorderError('hdf5_error', `reading ${entry.path} in ${this.path} failed`);
    }
    const texts: string[] = [];
    if (entry.text === 'vlen') {
      const pointers = new Uint32Array(this.#m.HEAPU8.buffer, ptr, count).slice();
      for (const p of pointers) texts.push(p === 0 ? '' : this.#m.UTF8ToString(p));
      if (countDims) this.#m.reclaim_vlen_memory_count(fileId, entry.path, '', BigInt(ptr), countDims);
      else this.#m.reclaim_vlen_memory(fileId, entry.path, '', BigInt(ptr));
    } else {
      const decoder = new TextDecoder();
      const heap = this.#m.HEAPU8;
      for (let i = 0; i < count; i++) {
        const bytes = heap.subarray(ptr + i * size, ptr + (i + 1) * size);
        const end = bytes.indexOf(0);
        texts.push(decoder.decode(end < 0 ? bytes : bytes.subarray(0, end)).trimEnd());
      }
    }
    return texts.map((text) => decodeText(entry.type, text));
  }
}

function validateOptions(options: HDF5DataStoreOptions): void {
  const { mode, chunkRecords, chunkBytes, compression, bufferBytes } = options;
  if (mode !== undefined && !HDF5_OPEN_MODES.includes(mode)) {
    throw new RecorderError(
      'invalid_option',
      `mode must be one of ${HDF5_OPEN_MODES.join(', ')}; got ${mode}`,
    );
  }
  if (chunkRecords !== undefined && !(Number.isSafeInteger(chunkRecords) && chunkRecords >= 1)) {
    throw new RecorderError('invalid_option', `chunkRecords must be a positive integer; got ${chunkRecords}`);
  }
  if (chunkBytes !== undefined && !(Number.isSafeInteger(chunkBytes) && chunkBytes >= 1)) {
    throw new RecorderError('invalid_option', `chunkBytes must be a positive integer; got ${chunkBytes}`);
  }
  if (compression !== undefined && !(Number.isInteger(compression) && compression >= 0 && compression <= 9)) {
    throw new RecorderError('invalid_option', `compression must be a gzip level 0–9; got ${compression}`);
  }
  if (bufferBytes !== undefined && !(Number.isSafeInteger(bufferBytes) && bufferBytes >= 0)) {
    throw new RecorderError(
      'invalid_option',
      `bufferBytes must be a non-negative integer; got ${bufferBytes}`,
    );
  }
}

function hasHdf5Signature(path: string): boolean {
  // The superblock sits at 0 or, after a user block, at 512, 1024, 2048, … bytes.
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const probe = Buffer.alloc(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      if (readSync(fd, probe, 0, 8, at) === 8 && probe.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

function autoChunkRecords(recordBytes: number | null, chunkBytes: number): number {
  if (recordBytes === null) return 256;
  if (recordBytes === 0) return MAX_AUTO_CHUNK_RECORDS;
  return Math.min(MAX_AUTO_CHUNK_RECORDS, Math.max(1, Math.floor(chunkBytes / recordBytes)));
}

/** Chunk extent over a value's own axes: whole values, halving leading axes while a chunk is too big. */
function chunkValueShape(shape: readonly number[], bytesPerElementRow: number): number[] {
  const chunk = shape.map((d) => Math.max(1, d));
  let bytes = bytesPerElementRow * elementCount(chunk);
  for (let axis = 0; bytes > MAX_CHUNK_BYTES && axis < chunk.length; ) {
    const d = chunk[axis] as number;
    if (d <= 1) {
      axis++;
      continue;
    }
    chunk[axis] = Math.ceil(d / 2);
    bytes = bytesPerElementRow * elementCount(chunk);
  }
  return chunk;
}

interface Storage {
  dtype: DType | null;
  text: TextStorage;
  boolean: boolean;
}

function storageOf(md: H5Metadata, path: string): Storage {
  if (md.type === H5T_STRING) return { dtype: null, text: md.vlen ? 'vlen' : 'fixed', boolean: false };
  if (md.type === H5T_ENUM) {
    const members = md.enum_type?.members ?? {};
    const names = Object.keys(members);
    if (md.size === 1 && names.length === 2 && members.FALSE === 0 && members.TRUE === 1) {
      return { dtype: 'uint8', text: null, boolean: true };
    }
    throw new RecorderError('unsupported', `dataset ${path} holds an enum type other than h5py's boolean`);
  }
  if (md.type === H5T_INTEGER) {
    const bits = md.size * 8;
    if (bits === 8 || bits === 16 || bits === 32 || bits === 64) {
      return { dtype: `${md.signed ? 'int' : 'uint'}${bits}` as DType, text: null, boolean: false };
    }
  }
  if (md.type === H5T_FLOAT && (md.size === 4 || md.size === 8)) {
    return { dtype: md.size === 4 ? 'float32' : 'float64', text: null, boolean: false };
  }
  throw new RecorderError('unsupported', `dataset ${path} has a datatype this recorder cannot read`);
}

function kindOf(
  declared: string | undefined,
  storage: Storage,
  valueShape: number[],
  path: string,
): ValueKind {
  const known = VALUE_KINDS.find((k) => k === declared);
  if (storage.text) {
    if (known === 'json') return 'json';
    if (valueShape.length === 0) return 'string';
    throw new RecorderError('unsupported', `dataset ${path} holds arrays of strings`);
  }
  if (storage.boolean) return valueShape.length === 0 ? 'boolean' : 'ndarray';
  if (known === 'boolean' && storage.dtype === 'uint8' && valueShape.length === 0) return 'boolean';
  if (known === 'typed' && valueShape.length === 1) return 'typed';
  if (valueShape.length > 0) return 'ndarray';
  return storage.dtype === 'int64' || storage.dtype === 'uint64' ? 'bigint' : 'number';
}

function typedFromCopy(dtype: DType, bytes: Uint8Array): TypedArray {
  const out = allocateTyped(dtype, bytes.byteLength / itemSize(dtype));
  bytesOf(out).set(bytes);
  return out;
}
