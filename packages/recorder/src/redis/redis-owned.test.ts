import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildDist } from '../../test/tools.js';
import { RedisDataStore } from './index.js';

const dirs: string[] = [];
const opened: RedisDataStore[] = [];

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => {});
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'recorder-owned-'));
  dirs.push(dir);
  return dir;
}

async function start(dataDirectory: string, options: { keepRunning?: boolean } = {}) {
  const store = await RedisDataStore.start({ dataDirectory, ...options });
  opened.push(store);
  return store;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('RedisDataStore.start (owned mode)', () => {
  it('runs redis-server persisting into dataDirectory, stops it on close, and finds the data again', async () => {
    const dataDirectory = join(tempDir(), 'output');
    const first = await start(dataDirectory);
    const server = first.server;
    expect(server?.dataDirectory).toBe(dataDirectory);
    expect(server?.host).toBe('127.0.0.1');
    expect(alive(server?.pid ?? 0)).toBe(true);
    expect(JSON.parse(readFileSync(join(dataDirectory, 'simscope-redis.json'), 'utf8'))).toEqual({
      host: '127.0.0.1',
      port: server?.port,
      pid: server?.pid,
    });
    await first.record('a/b', { data: Float64Array.of(1, 2, 3), shape: [3] });
    await first.set('a/name', 'persisted');
    await first.close();

    expect(alive(server?.pid ?? 0)).toBe(false);
    expect(existsSync(join(dataDirectory, 'simscope-redis.json'))).toBe(false);
    expect(existsSync(join(dataDirectory, 'appendonlydir'))).toBe(true);

    const second = await start(dataDirectory);
    expect(second.server?.pid).not.toBe(server?.pid);
    expect(await second.getAll('a/b')).toEqual([{ data: Float64Array.of(1, 2, 3), shape: [3] }]);
    expect(await second.get('a/name')).toBe('persisted');
  });

  it('reuses the server it started in the same directory and stops it when the last owner closes', async () => {
    const dataDirectory = tempDir();
    const a = await start(dataDirectory);
    const b = await start(dataDirectory);
    expect(b.server).toEqual(a.server);
    await a.record('x', 1);
    expect(await b.getAll('x')).toEqual([1]);
    const connected = await RedisDataStore.connect({ port: a.server?.port });
    expect(await connected.getAll('x')).toEqual([1]);
    await connected.close();

    await a.close();
    expect(alive(b.server?.pid ?? 0)).toBe(true);
    expect(await b.getAll('x')).toEqual([1]);
    await b.close();
    expect(alive(a.server?.pid ?? 0)).toBe(false);
  });

  it('reuses a server left running by a process that exited without closing', async () => {
    const dataDirectory = tempDir();
    const dist = buildDist();
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { RedisDataStore } = await import(${JSON.stringify(`${dist}redis/index.js`)});
         const store = await RedisDataStore.start({ dataDirectory: ${JSON.stringify(dataDirectory)} });
         await store.record('from/child', 'left running');
         console.log(store.server.pid);
         process.exit(0);`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(child.stderr).toBe('');
    const pid = Number(child.stdout.trim());
    expect(alive(pid)).toBe(true);
    const store = await start(dataDirectory);
    expect(store.server?.pid).toBe(pid);
    expect(await store.getAll('from/child')).toEqual(['left running']);
    await store.close();
    expect(alive(pid)).toBe(false);
  });

  it('leaves the server running with keepRunning, and keeps connect mode as it was', async () => {
    const dataDirectory = tempDir();
    const store = await start(dataDirectory, { keepRunning: true });
    const pid = store.server?.pid ?? 0;
    await store.close();
    expect(alive(pid)).toBe(true);
    const again = await start(dataDirectory);
    expect(again.server?.pid).toBe(pid);
    await again.close();
    expect(alive(pid)).toBe(false);
    const connected = await RedisDataStore.connect({ port: 1 }).catch((error: unknown) => error);
    expect(connected).toMatchObject({ code: 'redis_unreachable' });
  });

  it('refuses a missing dataDirectory and names a missing redis-server program', async () => {
    await expect(RedisDataStore.start({ dataDirectory: '' })).rejects.toMatchObject({
      code: 'invalid_option',
      message: 'dataDirectory must be a non-empty path',
    });
    await expect(
      RedisDataStore.start({ dataDirectory: tempDir(), redisServer: 'no-such-redis-server' }),
    ).rejects.toMatchObject({
      code: 'module_missing',
      message:
        'cannot run no-such-redis-server: install Redis (apt-get install redis-server) or pass { redisServer: path }',
    });
  });
});
