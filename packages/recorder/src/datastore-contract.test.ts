import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../test/redis-server.js';
import type { DataStore } from './datastore.js';
import { HDF5DataStore } from './hdf5/index.js';
import { InMemoryDataStore } from './memory-datastore.js';
import { RedisDataStore } from './redis/index.js';
import type { Value } from './value-types.js';

// One suite, run against every datastore: they must agree on values, errors and key rules.

interface Backend {
  name: string;
  open(): Promise<DataStore>;
  reopen: (() => Promise<DataStore>) | null;
}

let redis: RedisServer;
let dir: string;
let testNumber = 0;
const opened: DataStore[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  dir = mkdtempSync(join(tmpdir(), 'recorder-contract-'));
});

afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  testNumber++;
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => {});
});

function track<T extends DataStore>(store: T): T {
  opened.push(store);
  return store;
}

const backends: Backend[] = [
  { name: 'memory', open: async () => track(new InMemoryDataStore()), reopen: null },
  {
    name: 'hdf5',
    open: async () => track(await HDF5DataStore.open(join(dir, `t${testNumber}.h5`))),
    reopen: async () => track(await HDF5DataStore.open(join(dir, `t${testNumber}.h5`), { mode: 'append' })),
  },
  {
    name: 'redis',
    open: async () => track(await RedisDataStore.connect({ port: redis.port, prefix: `t${testNumber}:` })),
    reopen: async () => track(await RedisDataStore.connect({ port: redis.port, prefix: `t${testNumber}:` })),
  },
];

const grid = (n: number, scale: number) => Float64Array.from({ length: n }, (_, i) => i * scale);

describe.each(backends)('$name datastore', (backend) => {
  it('round-trips numbers, bigints, booleans, strings and JSON values exactly', async () => {
    const store = await backend.open();
    const numbers = [1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, -1e-300, 2 ** 53 + 2];
    const bigints = [1n, -(2n ** 63n), 2n ** 63n - 1n];
    const booleans = [true, false, true];
    const strings = ['', 'héllo', 'emoji 🌍', 'x'.repeat(10_000)];
    const json = [{ a: 1, b: [true, null, 's'] }, [1, 2, 3], null, { nested: { deep: ['é'] } }];
    for (const v of numbers) await store.record('scalars/numbers', v);
    for (const v of bigints) await store.record('scalars/bigints', v);
    for (const v of booleans) await store.record('scalars/booleans', v);
    for (const v of strings) await store.record('text/strings', v);
    for (const v of json) await store.record('text/json', v as Value);

    expect(await store.getAll('scalars/numbers')).toEqual(numbers);
    expect(Object.is((await store.getAll('scalars/numbers'))[1], -0)).toBe(true);
    expect(await store.getAll('scalars/bigints')).toEqual(bigints);
    expect(await store.getAll('scalars/booleans')).toEqual(booleans);
    expect(await store.getAll('text/strings')).toEqual(strings);
    expect(await store.getAll('text/json')).toEqual(json);
  });

  it('round-trips TypedArrays of every dtype and n-d arrays with dtype and shape', async () => {
    const store = await backend.open();
    const arrays = {
      i8: Int8Array.of(-128, 0, 127),
      u8: Uint8Array.of(0, 255),
      i16: Int16Array.of(-32768, 32767),
      u16: Uint16Array.of(65535, 1),
      i32: Int32Array.of(-(2 ** 31), 2 ** 31 - 1),
      u32: Uint32Array.of(2 ** 32 - 1, 7),
      i64: BigInt64Array.of(-(2n ** 63n), 42n),
      u64: BigUint64Array.of(2n ** 64n - 1n, 0n),
      f32: Float32Array.of(1.5, -2.25),
      f64: Float64Array.of(Math.PI, -Math.E),
    };
    for (const [name, array] of Object.entries(arrays)) {
      await store.record(`typed/${name}`, array);
      await store.record(`typed/${name}`, array.slice());
    }
    for (const [name, array] of Object.entries(arrays)) {
      const values = await store.getAll(`typed/${name}`);
      expect(values).toHaveLength(2);
      expect(values[0]).toBeInstanceOf(array.constructor);
      expect(values[0]).toEqual(array);
      expect(values[1]).toEqual(array);
    }

    const cube = { data: grid(24, 0.5), shape: [2, 3, 4] };
    const cube2 = { data: grid(24, -1), shape: [2, 3, 4] };
    await store.record('nd/cube', cube);
    await store.record('nd/cube', cube2);
    const ints = { data: Int16Array.of(1, -2, 3, -4, 5, -6), shape: [3, 2] };
    await store.record('nd/ints', ints);
    const empty = { data: new Float64Array(0), shape: [0, 3] };
    await store.record('nd/empty', empty);
    await store.record('nd/empty', empty);

    expect(await store.getAll('nd/cube')).toEqual([cube, cube2]);
    const [readInts] = await store.getAll('nd/ints');
    expect(readInts).toEqual(ints);
    expect((readInts as { data: unknown }).data).toBeInstanceOf(Int16Array);
    expect(await store.getAll('nd/empty')).toEqual([empty, empty]);
  });

  it('keeps what was recorded even when the caller reuses its buffer', async () => {
    const store = await backend.open();
    const state = Float64Array.of(1, 2, 3);
    await store.record('state', state);
    state[0] = 99;
    await store.record('state', state);
    state[0] = -1;
    expect(await store.getAll('state')).toEqual([Float64Array.of(1, 2, 3), Float64Array.of(99, 2, 3)]);
  });

  it('sets and gets single values, replacing one of the same type', async () => {
    const store = await backend.open();
    await store.set('config/name', 'run-1');
    await store.set('config/name', 'run-2');
    await store.set('config/steps', 100);
    await store.set('config/flags', { fast: true, tags: ['a', 'b'] });
    await store.set('config/grid', { data: Uint16Array.of(1, 2, 3, 4), shape: [2, 2] });
    await store.set('config/seed', 12345678901234n);
    await store.set('config/on', false);
    expect(await store.get('config/name')).toBe('run-2');
    expect(await store.get('config/steps')).toBe(100);
    expect(await store.get('config/flags')).toEqual({ fast: true, tags: ['a', 'b'] });
    expect(await store.get('config/grid')).toEqual({ data: Uint16Array.of(1, 2, 3, 4), shape: [2, 2] });
    expect(await store.get('config/seed')).toBe(12345678901234n);
    expect(await store.get('config/on')).toBe(false);
    await expect(store.set('config/steps', 'many')).rejects.toMatchObject({ code: 'dtype_mismatch' });
    await expect(store.set('config/grid', { data: Uint16Array.of(1, 2), shape: [2] })).rejects.toMatchObject({
      code: 'shape_mismatch',
    });
    expect(await store.get('config/steps')).toBe(100);
  });

  it('reads ranges with slice rules', async () => {
    const store = await backend.open();
    for (let i = 0; i < 10; i++) await store.record('series', i * 10);
    expect(await store.getRange('series', 2, 5)).toEqual([20, 30, 40]);
    expect(await store.getRange('series', -2)).toEqual([80, 90]);
    expect(await store.getRange('series', 8, 100)).toEqual([80, 90]);
    expect(await store.getRange('series', 5, 5)).toEqual([]);
    expect(await store.getRange('series', 7, 3)).toEqual([]);
  });

  it('refuses a different dtype or shape under an existing key and keeps the list intact', async () => {
    const store = await backend.open();
    await store.record('field', { data: grid(6, 1), shape: [2, 3] });
    await expect(
      store.record('field', { data: Float32Array.from(grid(6, 1)), shape: [2, 3] }),
    ).rejects.toMatchObject({
      code: 'dtype_mismatch',
      message: 'key "field" holds float64 arrays of shape [2, 3]; got float32 arrays of shape [2, 3]',
    });
    await expect(store.record('field', { data: grid(6, 1), shape: [3, 2] })).rejects.toMatchObject({
      code: 'shape_mismatch',
    });
    await expect(store.record('field', 'text')).rejects.toMatchObject({ code: 'dtype_mismatch' });
    await expect(store.record('field', grid(6, 1))).rejects.toMatchObject({ code: 'dtype_mismatch' });
    await store.record('n', 1);
    await expect(store.record('n', 1n)).rejects.toMatchObject({ code: 'dtype_mismatch' });
    await expect(store.record('n', true)).rejects.toMatchObject({ code: 'dtype_mismatch' });
    expect(await store.getAll('field')).toEqual([{ data: grid(6, 1), shape: [2, 3] }]);
    expect(await store.getAll('n')).toEqual([1]);
  });

  it('keeps lists, single values and groups apart', async () => {
    const store = await backend.open();
    await store.record('a/b', 1);
    await store.set('s', 1);
    await expect(store.record('a', 2)).rejects.toMatchObject({ code: 'key_conflict' });
    await expect(store.record('a/b/c', 2)).rejects.toMatchObject({ code: 'key_conflict' });
    await expect(store.set('a/b/c', 2)).rejects.toMatchObject({ code: 'key_conflict' });
    await expect(store.record('s', 2)).rejects.toMatchObject({ code: 'key_conflict' });
    await expect(store.set('a/b', 2)).rejects.toMatchObject({ code: 'key_conflict' });
    await expect(store.get('a/b')).rejects.toMatchObject({ code: 'key_conflict' });
    await expect(store.getAll('s')).rejects.toMatchObject({ code: 'key_conflict' });
    await expect(store.get('missing')).rejects.toMatchObject({
      code: 'key_not_found',
      message: `key "missing" not found in datastore "${store.name}"`,
    });
    await expect(store.getAll('a/missing')).rejects.toMatchObject({ code: 'key_not_found' });
    await expect(store.getAll('a')).rejects.toMatchObject({ code: 'key_not_found' });
    expect(await store.info('a')).toBeUndefined();
    expect(await store.keys()).toEqual(['a/b', 's']);
  });

  it('rejects bad keys before touching storage', async () => {
    const store = await backend.open();
    const bad = ['', '/a', 'a/', 'a//b', 'a/../b', '..', '.', './a', 'a/.', 'a\0b'];
    for (const key of bad) {
      await expect(store.record(key, 1), key).rejects.toMatchObject({ code: 'invalid_key' });
      await expect(store.set(key, 1), key).rejects.toMatchObject({ code: 'invalid_key' });
      await expect(store.getAll(key), key).rejects.toMatchObject({ code: 'invalid_key' });
    }
    await expect(store.record(42 as unknown as string, 1)).rejects.toMatchObject({ code: 'invalid_key' });
    expect(await store.keys()).toEqual([]);
  });

  it('rejects values it cannot store faithfully', async () => {
    const store = await backend.open();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: unknown[] = [
      undefined,
      () => 1,
      Symbol('s'),
      new Date(0),
      cyclic,
      { x: Number.NaN },
      [1, undefined],
      'nul\0byte',
      2n ** 63n,
      { data: new Float64Array(5), shape: [2, 3] },
      { data: new Float64Array(6), shape: [2, -3] },
      { data: new Float64Array(1), shape: 'x' },
      [new Float64Array(2)],
    ];
    for (const value of bad) {
      await expect(store.record('bad', value as Value), String(value)).rejects.toMatchObject({
        code: 'invalid_value',
      });
    }
    expect(await store.keys()).toEqual([]);
  });

  it('describes keys', async () => {
    const store = await backend.open();
    await store.record('x/y', { data: Int32Array.of(1, 2, 3, 4, 5, 6), shape: [3, 2] });
    await store.record('x/y', { data: Int32Array.of(1, 2, 3, 4, 5, 6), shape: [3, 2] });
    await store.set('x/z', 'hello');
    expect(await store.info('x/y')).toEqual({
      key: 'x/y',
      mode: 'list',
      type: { kind: 'ndarray', dtype: 'int32', shape: [3, 2] },
      length: 2,
    });
    expect(await store.info('x/z')).toEqual({
      key: 'x/z',
      mode: 'single',
      type: { kind: 'string', dtype: null, shape: [] },
      length: 1,
    });
    expect(await store.info('x/none')).toBeUndefined();
  });

  it('refuses calls after close', async () => {
    const store = await backend.open();
    await store.record('k', 1);
    await store.close();
    await store.close();
    await expect(store.record('k', 2)).rejects.toMatchObject({ code: 'closed' });
    await expect(store.getAll('k')).rejects.toMatchObject({ code: 'closed' });
  });
});

const persistent = backends.flatMap((b) => (b.reopen ? [{ ...b, reopen: b.reopen }] : []));

describe.each(persistent)('$name datastore, reopened', (backend) => {
  it('keeps data across close and reopen, and appends after it', async () => {
    const first = await backend.open();
    await first.record('run/loss', 0.5);
    await first.record('run/loss', 0.25);
    await first.record('run/frames', { data: Uint8Array.of(1, 2, 3, 4), shape: [2, 2] });
    await first.set('run/name', 'alpha');
    await first.close();
    const second = await backend.reopen();
    expect(await second.getAll('run/loss')).toEqual([0.5, 0.25]);
    await second.record('run/loss', 0.125);
    await expect(second.record('run/loss', 'x')).rejects.toMatchObject({ code: 'dtype_mismatch' });
    await expect(
      second.record('run/frames', { data: Uint8Array.of(1, 2, 3, 4, 5, 6), shape: [3, 2] }),
    ).rejects.toMatchObject({ code: 'shape_mismatch' });
    expect(await second.getAll('run/loss')).toEqual([0.5, 0.25, 0.125]);
    expect(await second.get('run/name')).toBe('alpha');
    expect(await second.keys()).toEqual(['run/frames', 'run/loss', 'run/name']);
  });
});
