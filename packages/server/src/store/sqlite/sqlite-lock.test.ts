import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../../bootstrap.js';
import { createApp } from '../../http/app.js';
import { SqliteStore } from './sqlite-store.js';

const TOKEN = 'ssk_test_lock_token_00000000000000000000000';
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const LOCK_MS = 5000;

/** Another process (a backup, a `sqlite3` shell) that takes the write lock and keeps it for `ms`. */
function holdLock(file: string, sql: string, ms: number): Promise<ChildProcess> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const Database = require(${JSON.stringify(driver)});
    const db = new Database(${JSON.stringify(file)});
    db.exec(${JSON.stringify(sql)});
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, ${ms});
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
}

describe('SQLite locked by another process', () => {
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  let url: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-lock-'));
    file = join(dir, 'simscope.db');
    store = SqliteStore.open(file);
    await store.migrate();
    await bootstrap(store, Date.now() * 1000, TOKEN);
    app = await createApp({ store });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown) =>
    fetch(`${url}/api/v1${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

  it.each([
    ['BEGIN EXCLUSIVE', 'BEGIN EXCLUSIVE'],
    [
      'BEGIN IMMEDIATE and a write',
      'BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS lock_probe (x INTEGER); INSERT INTO lock_probe VALUES (1)',
    ],
  ])(
    'keeps /health and reads answering, and answers a write 503 database_busy after 2 s, under %s',
    async (_name, sql) => {
      const run = (await (await post('/runs', {})).json()) as { id: string };
      const holder = await holdLock(file, sql, LOCK_MS);
      const released = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
      let done = false;
      const latencies: number[] = [];
      const polling = (async () => {
        while (!done) {
          const started = performance.now();
          const res = await fetch(`${url}/api/v1/health`);
          expect(res.status).toBe(200);
          latencies.push(performance.now() - started);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      try {
        const readStarted = performance.now();
        const read = await fetch(`${url}/api/v1/runs/${run.id}`, { headers });
        expect(read.status).toBe(200);
        expect(performance.now() - readStarted).toBeLessThan(200);

        const writeStarted = performance.now();
        const write = await post(`/runs/${run.id}/metrics`, {
          writer: 'w',
          seq: 0,
          series: [{ name: 'x', values: [1] }],
        });
        const waited = performance.now() - writeStarted;
        expect(write.status).toBe(503);
        expect(write.headers.get('retry-after')).toBe('1');
        expect(((await write.json()) as { error: { code: string } }).error.code).toBe('database_busy');
        expect(waited).toBeGreaterThanOrEqual(1900);
        expect(waited).toBeLessThan(3000);

        await released;
      } finally {
        done = true;
        await polling;
      }
      expect(latencies.length).toBeGreaterThan(20);
      expect(Math.max(...latencies)).toBeLessThan(200);
      const again = await post(`/runs/${run.id}/metrics`, {
        writer: 'w',
        seq: 0,
        series: [{ name: 'x', values: [1] }],
      });
      expect(again.status).toBe(200);
    },
    20_000,
  );

  it('stores a write that waited for a lock released within 2 s', async () => {
    const run = (await (await post('/runs', {})).json()) as { id: string };
    const holder = await holdLock(file, 'BEGIN EXCLUSIVE', 800);
    const released = new Promise((resolve) => holder.once('exit', resolve));
    const started = performance.now();
    const write = await post(`/runs/${run.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [{ name: 'x', values: [4] }],
    });
    expect(write.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(700);
    const series = await fetch(`${url}/api/v1/runs/${run.id}/metrics/series?name=x`, { headers });
    expect(((await series.json()) as { values: number[] }).values).toEqual([4]);
    await released;
  });
});
