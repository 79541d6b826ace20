import type { DataStore, KeyInfo } from './datastore.js';
import { RecorderError } from './errors.js';
import { ListView } from './list-view.js';
import { assertMode, keyNotFound } from './store-rules.js';
import type { Value } from './value-types.js';

/** Picks the datastore a read comes from; default the first one given to the recorder. */
export interface ReadOptions {
  datastore?: string;
}

/** What `getAll` returns for a group: the lists under it by relative name, nested groups nested. */
export interface RecordedGroup {
  [name: string]: Value[] | RecordedGroup;
}

/**
 * Records values under `/`-separated keys into one or several datastores at once.
 * @example
 * const recorder = new Recorder(new InMemoryDataStore(), await HDF5DataStore.open('run.h5'));
 * await recorder.record('a/b', 1.5);
 * await recorder.getAll('a/b'); // [1.5]
 * await recorder.getAll('a'); // { b: [1.5] }
 * await recorder.close();
 */
export class Recorder {
  readonly #stores: readonly DataStore[];
  #closed = false;

  constructor(...datastores: DataStore[]) {
    if (datastores.length === 0) {
      throw new RecorderError('invalid_option', 'a Recorder needs at least one datastore');
    }
    const names = new Set<string>();
    for (const store of datastores) {
      if (names.has(store.name)) {
        throw new RecorderError(
          'invalid_option',
          `two datastores are named "${store.name}"; give one another name with the { name } option`,
        );
      }
      names.add(store.name);
    }
    this.#stores = datastores;
  }

  /** The datastores, in the order given. */
  get datastores(): readonly DataStore[] {
    return this.#stores;
  }

  /** The datastore called `name`. */
  datastore<T extends DataStore = DataStore>(name: string): T {
    const store = this.#stores.find((s) => s.name === name);
    if (!store) {
      const known = this.#stores.map((s) => `"${s.name}"`).join(', ');
      throw new RecorderError('invalid_option', `no datastore named "${name}" (this recorder has ${known})`);
    }
    return store as T;
  }

  /** Appends `value` to the list under `key` in every datastore; nothing is written if any store refuses it. */
  async record(key: string, value: Value): Promise<void> {
    this.#assertOpen();
    const stores = this.#stores;
    if (stores.length === 1) return (stores[0] as DataStore).record(key, value);
    await Promise.all(stores.map((s) => s.check(key, value, 'list')));
    await Promise.all(stores.map((s) => s.record(key, value)));
  }

  /** Stores `value` as the single value under `key` in every datastore. */
  async set(key: string, value: Value): Promise<void> {
    this.#assertOpen();
    const stores = this.#stores;
    if (stores.length === 1) return (stores[0] as DataStore).set(key, value);
    await Promise.all(stores.map((s) => s.check(key, value, 'single')));
    await Promise.all(stores.map((s) => s.set(key, value)));
  }

  /**
   * The single value under `key` (written by `set`). A list key or a group rejects with
   * `key_conflict` and a message that points to `getAll`.
   */
  async get(key: string, options: ReadOptions = {}): Promise<Value> {
    const store = this.#source(options);
    try {
      return await store.get(key);
    } catch (error) {
      if (error instanceof RecorderError && error.code === 'key_not_found') {
        const members = await groupMembers(store, key);
        if (members.length > 0) {
          throw new RecorderError(
            'key_conflict',
            `key "${key}" is a group (of "${members[0]}"${members.length > 1 ? ', …' : ''}); read its lists with getAll("${key}")`,
          );
        }
      }
      throw error;
    }
  }

  /**
   * The list under `key`, in record order; for a group, an object of the lists under it by
   * relative name (`{ b: [...], c: { d: [...] } }`; single values are left out, read them with `get`).
   * Rejects with `key_not_found` when nothing is stored under `key`.
   */
  async getAll(key: string, options: ReadOptions = {}): Promise<Value[] | RecordedGroup> {
    const store = this.#source(options);
    if (await store.info(key)) return store.getAll(key);
    const members = await groupMembers(store, key);
    if (members.length === 0) return store.getAll(key);
    const infos = await Promise.all(members.map((member) => store.info(member)));
    const lists = members.filter((_, i) => infos[i]?.mode === 'list');
    const values = await Promise.all(lists.map((member) => store.getAll(member)));
    const group: RecordedGroup = {};
    lists.forEach((member, i) => {
      const path = member.slice(key.length + 1).split('/');
      let node = group;
      for (const segment of path.slice(0, -1)) {
        if (!Object.hasOwn(node, segment)) defineOwn(node, segment, {});
        node = node[segment] as RecordedGroup;
      }
      defineOwn(node, path[path.length - 1] as string, values[i] as Value[]);
    });
    return group;
  }

  /**
   * A lazy view of the list under `key`: slices are read from the datastore only when asked
   * for, so lists larger than memory can be read in pieces.
   */
  async view(key: string, options: ReadOptions = {}): Promise<ListView> {
    const store = this.#source(options);
    const info = await store.info(key);
    if (!info) throw keyNotFound(key, store.name);
    assertMode(key, info.mode, 'list');
    return new ListView(store, key, info.type, info.length);
  }

  /** Part of the list under `key`: `start` inclusive, `end` exclusive, negatives from the end. */
  async getRange(key: string, start: number, end?: number, options: ReadOptions = {}): Promise<Value[]> {
    return this.#source(options).getRange(key, start, end);
  }

  /** What is stored under `key`, or `undefined`. */
  async info(key: string, options: ReadOptions = {}): Promise<KeyInfo | undefined> {
    return this.#source(options).info(key);
  }

  /** Every key, sorted. */
  async keys(options: ReadOptions = {}): Promise<string[]> {
    return this.#source(options).keys();
  }

  /** Writes out what every datastore buffers. */
  async flush(): Promise<void> {
    this.#assertOpen();
    await Promise.all(this.#stores.map((s) => s.flush()));
  }

  /** Flushes and closes every datastore, even when one fails; rejects afterwards with the failures as `cause`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const results = await Promise.allSettled(this.#stores.map((s) => s.close()));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new RecorderError('closed', `${failures.length} datastores failed to close`, {
        cause: new AggregateError(failures),
      });
    }
  }

  #source(options: ReadOptions): DataStore {
    this.#assertOpen();
    return options.datastore === undefined
      ? (this.#stores[0] as DataStore)
      : this.datastore(options.datastore);
  }

  #assertOpen(): void {
    if (this.#closed) throw new RecorderError('closed', 'the recorder is closed');
  }
}

async function groupMembers(store: DataStore, key: string): Promise<string[]> {
  const prefix = `${key}/`;
  return (await store.keys()).filter((k) => k.startsWith(prefix));
}

// A plain assignment of "__proto__" would set the prototype instead of adding a member.
function defineOwn(target: RecordedGroup, name: string, value: Value[] | RecordedGroup): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}
