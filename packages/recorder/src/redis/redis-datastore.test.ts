import { createServer, type Server, type Socket } from 'node:net';
import { createClient, RESP_TYPES } from '@redis/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer } from '../../test/redis-server.js';
import { RedisDataStore } from './redis-datastore.js';

let server: RedisServer;
const opened: RedisDataStore[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => {});
});

async function connect(options: Parameters<typeof RedisDataStore.connect>[0] = {}) {
  const store = await RedisDataStore.connect({ port: server.port, ...options });
  opened.push(store);
  return store;
}

/** A plain client, to look at what the store left in Redis. */
async function raw(db = 0) {
  const client = createClient({
    socket: { host: '127.0.0.1', port: server.port },
    database: db,
  }).withTypeMapping({
    [RESP_TYPES.BLOB_STRING]: Buffer,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

describe('Redis layout', () => {
  it('keeps a binary header per key and raw little-endian bytes per value, no JSON', async () => {
    const store = await connect({ prefix: 'layout:' });
    await store.record('sim/state', { data: Float64Array.of(1.5, -2, 3), shape: [3, 1] });
    await store.record('sim/state', { data: Float64Array.of(4, 5, 6), shape: [3, 1] });
    await store.record('sim/note', 'héllo');
    await store.set('config/n', 7);
    const client = await raw();
    try {
      const header = await client.get('layout:meta:sim/state');
      const expected = Buffer.alloc(21);
      expected.write('SREC', 0, 'latin1');
      expected.writeUInt8(1, 4); // version
      expected.writeUInt8(0, 5); // list
      expected.writeUInt8(6, 6); // kind ndarray
      expected.writeUInt8(9, 7); // dtype float64
      expected.writeUInt32LE(64 * 1024 * 1024, 8); // part bytes
      expected.writeUInt8(2, 12); // rank
      expected.writeUInt32LE(3, 13);
      expected.writeUInt32LE(1, 17);
      expect(header).toEqual(expected);
      const elements = await client.lRange('layout:data:sim/state', 0, -1);
      expect(elements).toEqual([
        Buffer.from(Float64Array.of(1.5, -2, 3).buffer),
        Buffer.from(Float64Array.of(4, 5, 6).buffer),
      ]);
      expect(await client.lRange('layout:data:sim/note', 0, -1)).toEqual([Buffer.from('héllo', 'utf8')]);
      expect(await client.lRange('layout:data:config/n', 0, -1)).toEqual([
        Buffer.from(Float64Array.of(7).buffer),
      ]);
      const keys = (await client.sMembers('layout:keys')).map(String).sort();
      expect(keys).toEqual(['config/n', 'sim/note', 'sim/state']);
      expect((await client.sMembers('layout:groups')).map(String).sort()).toEqual(['config', 'sim']);
    } finally {
      await client.close();
    }
  });

  it('splits values bigger than partBytes into list elements and joins them back', async () => {
    const store = await connect({ prefix: 'split:', partBytes: 1000 });
    const records = [0, 1, 2].map((i) => Float64Array.from({ length: 301 }, (_, j) => i * 1000 + j));
    for (const r of records) await store.record('big', r);
    await store.set('one', { data: records[1] as Float64Array, shape: [7, 43] });
    const client = await raw();
    try {
      // 301 float64 = 2408 bytes: three elements (1000 + 1000 + 408) per value.
      expect(await client.lLen('split:data:big')).toBe(9);
      expect((await client.lRange('split:data:big', 0, 2)).map((b) => b.length)).toEqual([1000, 1000, 408]);
    } finally {
      await client.close();
    }
    expect(await store.getAll('big')).toEqual(records);
    expect(await store.getRange('big', 1, 2)).toEqual([records[1]]);
    expect(await store.info('big')).toMatchObject({ length: 3 });
    expect(await store.get('one')).toEqual({ data: records[1], shape: [7, 43] });

    // A later connection with another part size keeps the one the key was written with.
    const later = await connect({ prefix: 'split:', partBytes: 4096 });
    await later.record('big', records[0] as Float64Array);
    expect(await later.getAll('big')).toEqual([...records, records[0]]);
  });

  it('reads many values in pipelined batches', async () => {
    const store = await connect({ prefix: 'batches:', readBatchBytes: 10_000 });
    const records = Array.from({ length: 50 }, (_, i) =>
      Float32Array.from({ length: 1000 }, (_, j) => i + j),
    );
    for (const r of records) await store.record('frames', r);
    expect(await store.getAll('frames')).toEqual(records);
    expect(await store.getRange('frames', 13, 37)).toEqual(records.slice(13, 37));
  });

  it('uses the database it is given', async () => {
    const three = await connect({ prefix: 'db:', db: 3 });
    await three.record('x', 1);
    const zero = await connect({ prefix: 'db:' });
    expect(await zero.keys()).toEqual([]);
    const again = await connect({ prefix: 'db:', db: 3 });
    expect(await again.getAll('x')).toEqual([1]);
    const client = await raw(3);
    try {
      expect(await client.exists('db:data:x')).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('clears only its own prefix', async () => {
    const mine = await connect({ prefix: 'mine:' });
    const theirs = await connect({ prefix: 'theirs:' });
    await mine.record('a/b', 1);
    await mine.set('c', 'x');
    await theirs.record('a/b', 2);
    await mine.clear();
    expect(await mine.keys()).toEqual([]);
    await expect(mine.getAll('a/b')).rejects.toMatchObject({ code: 'key_not_found' });
    await mine.record('a', 'now a list');
    expect(await theirs.getAll('a/b')).toEqual([2]);
  });
});

describe('reaching Redis', () => {
  it('fails at once with a clear error when nothing listens', async () => {
    const port = await freePort();
    const started = performance.now();
    await expect(RedisDataStore.connect({ port })).rejects.toMatchObject({
      code: 'redis_unreachable',
      message: expect.stringContaining(`cannot reach Redis at 127.0.0.1:${port}`),
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('gives up within connectTimeoutMs on a peer that never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const started = performance.now();
      await expect(RedisDataStore.connect({ port, connectTimeoutMs: 300 })).rejects.toMatchObject({
        code: 'redis_unreachable',
        message: `cannot reach Redis at 127.0.0.1:${port}: no answer within 300 ms`,
      });
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1500);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('checks the password', async () => {
    const guarded = await startRedisServer({ password: 's3cret' });
    try {
      const store = await RedisDataStore.connect({ port: guarded.port, password: 's3cret' });
      await store.record('k', 1);
      expect(await store.getAll('k')).toEqual([1]);
      await store.close();
      await expect(RedisDataStore.connect({ port: guarded.port, password: 'wrong' })).rejects.toMatchObject({
        code: 'redis_auth_failed',
      });
      const noPassword = RedisDataStore.connect({ port: guarded.port });
      await expect(noPassword).rejects.toMatchObject({ code: 'redis_auth_failed' });
    } finally {
      await guarded.stop();
    }
  });

  it('turns a server lost mid-run into quick redis_unreachable errors, not a hang', async () => {
    const doomed = await startRedisServer();
    const store = await RedisDataStore.connect({ port: doomed.port, commandTimeoutMs: 2000 });
    try {
      await store.record('k', 1);
      await doomed.stop();
      const started = performance.now();
      await expect(store.record('k', 2)).rejects.toMatchObject({ code: 'redis_unreachable' });
      await expect(store.getAll('k')).rejects.toMatchObject({ code: 'redis_unreachable' });
      expect(performance.now() - started).toBeLessThan(2500);
    } finally {
      await store.close();
      await doomed.stop();
    }
  });

  it('rejects bad options before connecting', async () => {
    await expect(RedisDataStore.connect({ port: 0 })).rejects.toMatchObject({ code: 'invalid_option' });
    await expect(RedisDataStore.connect({ partBytes: 600 * 1024 * 1024 })).rejects.toMatchObject({
      code: 'invalid_option',
    });
    await expect(RedisDataStore.connect({ db: -1 })).rejects.toMatchObject({ code: 'invalid_option' });
  });
});
