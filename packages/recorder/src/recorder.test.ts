import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../test/redis-server.js';
import { HDF5DataStore } from './hdf5/index.js';
import { InMemoryDataStore, Recorder, RecorderError } from './index.js';
import { RedisDataStore } from './redis/index.js';

let redis: RedisServer;
let dir: string;

beforeAll(async () => {
  redis = await startRedisServer();
  dir = mkdtempSync(join(tmpdir(), 'recorder-'));
});

afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the SimRecorder quickstart, in TypeScript, with all three datastores', () => {
  it('records into memory, Redis and HDF5 at once and reads back from any of them', async () => {
    const path = join(dir, 'output', 'data.h5');
    const someValue1 = { data: Float64Array.from({ length: 12 }, (_, i) => i / 4), shape: [3, 4] };
    const someValue2 = { data: Float64Array.from({ length: 12 }, (_, i) => -i), shape: [3, 4] };

    const inMemoryDatastore = new InMemoryDataStore();
    const hdf5Datastore = await HDF5DataStore.open(path);
    const redisDatastore = await RedisDataStore.connect({
      host: '127.0.0.1',
      port: redis.port,
      prefix: 'quick:',
    });
    const recorder = new Recorder(inMemoryDatastore, redisDatastore, hdf5Datastore);

    await recorder.record('a/b', someValue1);
    await recorder.record('a/b', someValue2);
    await recorder.record('a/c', someValue2);
    await recorder.record('a/loss', 0.5);
    await recorder.set('a/name', 'quickstart');

    expect(await recorder.getAll('a/b')).toEqual([someValue1, someValue2]);
    // SimRecorder's quickstart reads the group: recorder.get_all('a').
    expect(await recorder.getAll('a')).toEqual({ b: [someValue1, someValue2], c: [someValue2], loss: [0.5] });
    const view = await recorder.view('a/b', { datastore: 'redis' });
    expect(await view.slice(1, 2)).toEqual([someValue2]);
    for (const datastore of ['memory', 'redis', 'hdf5']) {
      expect(await recorder.getAll('a/b', { datastore })).toEqual([someValue1, someValue2]);
      expect(await recorder.getAll('a/c', { datastore })).toEqual([someValue2]);
      expect(await recorder.getAll('a/loss', { datastore })).toEqual([0.5]);
      expect(await recorder.get('a/name', { datastore })).toBe('quickstart');
      expect(await recorder.keys({ datastore })).toEqual(['a/b', 'a/c', 'a/loss', 'a/name']);
    }
    expect(hdf5Datastore.view('a/b').read(1, 2)).toEqual({ data: someValue2.data, shape: [1, 3, 4] });
    await recorder.close();

    // "You can re-initialize recorder with the same parameters in other scripts and access the keys."
    const again = new Recorder(
      await HDF5DataStore.open(path),
      await RedisDataStore.connect({ host: '127.0.0.1', port: redis.port, prefix: 'quick:' }),
    );
    expect(await again.getAll('a/b')).toEqual([someValue1, someValue2]);
    expect(await again.getAll('a/b', { datastore: 'redis' })).toEqual([someValue1, someValue2]);
    await expect(again.record('a/b', someValue1)).rejects.toMatchObject({ code: 'read_only' });
    expect(await again.getAll('a/b', { datastore: 'redis' })).toHaveLength(2);
    await again.close();
  });
});

describe('Recorder reads as SimRecorder users expect', () => {
  async function recorderWithEveryStore(prefix: string) {
    return new Recorder(
      new InMemoryDataStore(),
      await HDF5DataStore.open(join(dir, `${prefix}.h5`)),
      await RedisDataStore.connect({ host: '127.0.0.1', port: redis.port, prefix: `${prefix}:` }),
    );
  }

  it('getAll on a group returns its lists by relative key, nested groups nested, from every store', async () => {
    const recorder = await recorderWithEveryStore('group');
    await recorder.record('a/b', 1);
    await recorder.record('a/b', 2);
    await recorder.record('a/c', 'x');
    await recorder.record('a/d/e', true);
    await recorder.record('a/__proto__', 3);
    await recorder.set('a/name', 'single values are read with get');
    await recorder.record('ab', 9);
    for (const datastore of ['memory', 'hdf5', 'redis']) {
      const group = await recorder.getAll('a', { datastore });
      expect(group).toEqual({ b: [1, 2], c: ['x'], d: { e: [true] }, ['__proto__']: [3] });
      expect(Object.getPrototypeOf(group)).toBe(Object.prototype);
      expect(Object.keys(group)).toEqual(['__proto__', 'b', 'c', 'd']);
      expect(await recorder.getAll('a/d', { datastore })).toEqual({ e: [true] });
      expect(await recorder.getAll('a/b', { datastore })).toEqual([1, 2]);
      await expect(recorder.getAll('missing', { datastore })).rejects.toMatchObject({
        code: 'key_not_found',
        message: `key "missing" not found in datastore "${datastore}"`,
      });
      await expect(recorder.getAll('a/name', { datastore })).rejects.toMatchObject({ code: 'key_conflict' });
    }
    await recorder.close();
  });

  it('get on a list or a group rejects with key_conflict and points to getAll', async () => {
    const recorder = await recorderWithEveryStore('get');
    await recorder.record('a/b', 1);
    await recorder.record('a/c', 2);
    for (const datastore of ['memory', 'hdf5', 'redis']) {
      await expect(recorder.get('a/b', { datastore })).rejects.toMatchObject({
        code: 'key_conflict',
        message:
          'key "a/b" holds a list value, not a single value (use record, and getAll("a/b") to read it)',
      });
      await expect(recorder.get('a', { datastore })).rejects.toMatchObject({
        code: 'key_conflict',
        message: 'key "a" is a group (of "a/b", …); read its lists with getAll("a")',
      });
      await expect(recorder.get('nothing', { datastore })).rejects.toMatchObject({ code: 'key_not_found' });
    }
    await recorder.close();
  });

  it('view reads slices of a list lazily through the Recorder, from every store', async () => {
    const recorder = await recorderWithEveryStore('view');
    const frame = (i: number) => ({
      data: Float64Array.from({ length: 6 }, (_, j) => i * 10 + j),
      shape: [2, 3],
    });
    for (let i = 0; i < 25; i++) await recorder.record('fields/p', frame(i));
    await recorder.set('fields/n', 25);
    for (const datastore of ['memory', 'hdf5', 'redis']) {
      const view = await recorder.view('fields/p', { datastore });
      expect(view.length).toBe(25);
      expect(view.type).toEqual({ kind: 'ndarray', dtype: 'float64', shape: [2, 3] });
      expect(await view.at(3)).toEqual(frame(3));
      expect(await view.at(-1)).toEqual(frame(24));
      await expect(view.at(25)).rejects.toMatchObject({
        code: 'out_of_range',
        message: 'index 25 is outside list "fields/p" of length 25',
      });
      expect(await view.slice(10, 12)).toEqual([frame(10), frame(11)]);
      expect(await view.slice(-2)).toEqual([frame(23), frame(24)]);
      const starts: number[] = [];
      let seen = 0;
      for await (const { start, values } of view.blocks(10)) {
        starts.push(start);
        expect(values[0]).toEqual(frame(start));
        seen += values.length;
      }
      expect(starts).toEqual([0, 10, 20]);
      expect(seen).toBe(25);
      await expect(recorder.view('fields/n', { datastore })).rejects.toMatchObject({ code: 'key_conflict' });
      await expect(recorder.view('fields/q', { datastore })).rejects.toMatchObject({ code: 'key_not_found' });
    }
    await recorder.record('fields/p', frame(25));
    const before = await recorder.view('fields/p', { datastore: 'redis' });
    expect(before.length).toBe(26);
    await recorder.close();
  });
});

describe('Recorder', () => {
  it('writes nothing anywhere when one datastore refuses a value', async () => {
    const memory = new InMemoryDataStore();
    const other = new InMemoryDataStore({ name: 'other' });
    const recorder = new Recorder(memory, other);
    await other.record('x', 'text');
    await expect(recorder.record('x', 1)).rejects.toMatchObject({ code: 'dtype_mismatch' });
    expect(await memory.info('x')).toBeUndefined();
    await expect(recorder.set('y/z', undefined as never)).rejects.toMatchObject({ code: 'invalid_value' });
    await expect(recorder.record('../x', 1)).rejects.toMatchObject({ code: 'invalid_key' });
    expect(await recorder.keys()).toEqual([]);
    expect(await recorder.keys({ datastore: 'other' })).toEqual(['x']);
  });

  it('needs datastores with distinct names', () => {
    expect(() => new Recorder()).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    expect(() => new Recorder(new InMemoryDataStore(), new InMemoryDataStore())).toThrow(
      'two datastores are named "memory"; give one another name with the { name } option',
    );
    const recorder = new Recorder(new InMemoryDataStore(), new InMemoryDataStore({ name: 'copy' }));
    expect(recorder.datastores.map((s) => s.name)).toEqual(['memory', 'copy']);
    expect(recorder.datastore('copy').name).toBe('copy');
    expect(() => recorder.datastore('hdf5')).toThrow(
      'no datastore named "hdf5" (this recorder has "memory", "copy")',
    );
  });

  it('closes every datastore once, then refuses calls', async () => {
    const a = new InMemoryDataStore();
    const b = new InMemoryDataStore({ name: 'b' });
    const recorder = new Recorder(a, b);
    await recorder.record('k', 1);
    await recorder.close();
    await recorder.close();
    await expect(a.keys()).rejects.toMatchObject({ code: 'closed' });
    await expect(b.keys()).rejects.toMatchObject({ code: 'closed' });
    await expect(recorder.record('k', 2)).rejects.toMatchObject({ code: 'closed' });
    await expect(recorder.getAll('k')).rejects.toBeInstanceOf(RecorderError);
  });
});
