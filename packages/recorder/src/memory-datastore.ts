import type { DataStore, KeyInfo, KeyMode } from './datastore.js';
import { parentPaths, parseKey } from './key-path.js';
import { assertMode, closedError, groupConflict, keyNotFound, resolveRange } from './store-rules.js';
import {
  assertSameType,
  decodeBytes,
  decodeText,
  type EncodedValue,
  encodeValue,
  type Value,
  type ValueType,
} from './value-types.js';

/** Options of {@link InMemoryDataStore}. */
export interface InMemoryDataStoreOptions {
  /** Store name within a recorder; default `memory`. */
  name?: string;
}

interface MemoryEntry {
  mode: KeyMode;
  type: ValueType;
  items: (Uint8Array | string)[];
}

/**
 * Keeps every value in process memory, copied on write and on read so callers may reuse buffers.
 * @example
 * const recorder = new Recorder(new InMemoryDataStore());
 */
export class InMemoryDataStore implements DataStore {
  readonly name: string;
  #entries = new Map<string, MemoryEntry>();
  #groups = new Set<string>();
  #closed = false;

  constructor(options: InMemoryDataStoreOptions = {}) {
    this.name = options.name ?? 'memory';
  }

  async check(key: string, value: Value, mode: KeyMode): Promise<void> {
    this.#validate(key, encodeValue(value), mode);
  }

  async record(key: string, value: Value): Promise<void> {
    const encoded = encodeValue(value);
    const entry = this.#prepare(key, encoded, 'list');
    entry.items.push(copyPayload(encoded));
  }

  async set(key: string, value: Value): Promise<void> {
    const encoded = encodeValue(value);
    const entry = this.#prepare(key, encoded, 'single');
    entry.items = [copyPayload(encoded)];
  }

  async get(key: string): Promise<Value> {
    const entry = this.#entry(key);
    assertMode(key, entry.mode, 'single');
    return decodeItem(entry.type, entry.items[0] as Uint8Array | string);
  }

  async getAll(key: string): Promise<Value[]> {
    return this.getRange(key, 0);
  }

  async getRange(key: string, start: number, end?: number): Promise<Value[]> {
    const entry = this.#entry(key);
    assertMode(key, entry.mode, 'list');
    const [from, to] = resolveRange(entry.items.length, start, end);
    return entry.items.slice(from, to).map((item) => decodeItem(entry.type, item));
  }

  async info(key: string): Promise<KeyInfo | undefined> {
    this.#assertOpen();
    parseKey(key);
    const entry = this.#entries.get(key);
    return entry && { key, mode: entry.mode, type: entry.type, length: entry.items.length };
  }

  async keys(): Promise<string[]> {
    this.#assertOpen();
    return [...this.#entries.keys()].sort();
  }

  async flush(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
    this.#groups.clear();
  }

  #entry(key: string): MemoryEntry {
    this.#assertOpen();
    parseKey(key);
    const entry = this.#entries.get(key);
    if (!entry) throw keyNotFound(key, this.name);
    return entry;
  }

  #prepare(key: string, encoded: EncodedValue, mode: KeyMode): MemoryEntry {
    const existing = this.#validate(key, encoded, mode);
    if (existing) return existing;
    for (const parent of parentPaths(key.split('/'))) this.#groups.add(parent);
    const entry: MemoryEntry = { mode, type: encoded.type, items: [] };
    this.#entries.set(key, entry);
    return entry;
  }

  #validate(key: string, encoded: EncodedValue, mode: KeyMode): MemoryEntry | undefined {
    this.#assertOpen();
    const segments = parseKey(key);
    const existing = this.#entries.get(key);
    if (existing) {
      assertMode(key, existing.mode, mode);
      assertSameType(key, existing.type, encoded.type);
      return existing;
    }
    if (this.#groups.has(key)) {
      const child = [...this.#entries.keys()].find((k) => k.startsWith(`${key}/`)) ?? `${key}/…`;
      throw groupConflict(key, child, this.name);
    }
    for (const parent of parentPaths(segments)) {
      if (this.#entries.has(parent)) throw groupConflict(key, parent, this.name);
    }
    return undefined;
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError(this.name);
  }
}

function copyPayload(encoded: EncodedValue): Uint8Array | string {
  return encoded.bytes ? encoded.bytes.slice() : (encoded.text as string);
}

function decodeItem(type: ValueType, item: Uint8Array | string): Value {
  return typeof item === 'string' ? decodeText(type, item) : decodeBytes(type, item, false);
}
