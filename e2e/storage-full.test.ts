import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float64Bytes, int64Bytes } from '@simscope/protocol';
import Database from 'better-sqlite3';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Packr } from 'msgpackr';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalBlobStore } from '../packages/server/src/blob/local-blob-store.js';
import { bootstrap } from '../packages/server/src/bootstrap.js';
import { createApp } from '../packages/server/src/http/app.js';
import { PostgresStore } from '../packages/server/src/store/postgres/postgres-store.js';
import { SqliteStore } from '../packages/server/src/store/sqlite/sqlite-store.js';
import type { Store } from '../packages/server/src/store/store.js';

const TOKEN = 'ssk_test_full_token_000000000000000000000000';
const headers = { authorization: `Bearer ${TOKEN}` };
const packr = new Packr({ useRecords: false });
const DB_FULL = 'the database disk is full; free some space, then retry';

const noise = (chars: number) => randomBytes(chars / 2).toString('hex');

/** Fills what is left of the file system under `dir` with a file, so that no write finds a free byte. */
function fillUp(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return file;
}

/** An app over `store` with calls in the shape the checks below use. */
async function appOver(store: Store, blobs?: LocalBlobStore) {
  const app: FastifyInstance = await createApp({ store, blobs });
  const post = (url: string, payload: unknown, msgpack = false) =>
    app.inject({
      method: 'POST',
      url: `/api/v1${url}`,
      headers: msgpack ? { ...headers, 'content-type': 'application/msgpack' } : headers,
      payload: msgpack ? packr.pack(payload) : (payload as object),
    });
  return { app, post };
}

/**
 * Writes metric batches into `run` until the disk refuses one, then fills the rest of the disk, and checks that
 * metrics, events and a run creation are each answered 507. Returns the steps of the acknowledged batches.
 */
async function fillAndRefuse(
  post: Awaited<ReturnType<typeof appOver>>['post'],
  run: string,
  mount: string,
): Promise<{ stored: number[]; filler: string }> {
  const stored: number[] = [];
  let seq = 0;
  const batch = (points: number) => {
    const steps = Float64Array.from({ length: points }, (_, i) => seq * 100_000 + i);
    return {
      steps,
      body: {
        writer: 'w',
        seq: seq++,
        series: [{ name: 'loss', steps: int64Bytes(steps), values: float64Bytes(steps.map((s) => s / 7)) }],
      },
    };
  };
  let full: LightMyRequestResponse | undefined;
  for (let i = 0; i < 2000 && !full; i++) {
    const { steps, body } = batch(5000);
    const res = await post(`/runs/${run}/metrics`, body, true);
    if (res.statusCode === 200) stored.push(...steps);
    else full = res;
  }
  expect([full?.statusCode, full?.headers['retry-after'], full?.json().error]).toEqual([
    507,
    '10',
    { code: 'storage_full', message: DB_FULL },
  ]);
  expect(stored.length).toBeGreaterThan(0);

  // Each write below is larger than what a refused batch may have left allocated.
  const filler = fillUp(mount);
  const metrics = await post(`/runs/${run}/metrics`, batch(30_000).body, true);
  const events = await post(`/runs/${run}/events`, {
    writer: 'w',
    seq: 0,
    events: Array.from({ length: 40 }, (_, i) => ({ message: noise(8000), level: 'info', timestamp: i })),
  });
  const created = await post('/runs', { name: 'one-more', metadata: { pad: noise(200_000) } });
  for (const res of [metrics, events, created]) {
    expect([res.statusCode, res.headers['retry-after'], res.json().error]).toEqual([
      507,
      '10',
      { code: 'storage_full', message: DB_FULL },
    ]);
  }
  return { stored, filler };
}

async function expectStored(app: FastifyInstance, run: string, stored: number[]): Promise<void> {
  let steps: number[] = [];
  let values: number[] = [];
  let next: string | null = '';
  while (next !== null) {
    const cursor: string = next ? `&next=${encodeURIComponent(next)}` : '';
    const page = await app.inject({
      url: `/api/v1/runs/${run}/metrics/series?name=loss&limit=1000000${cursor}`,
      headers,
    });
    const body = page.json() as { steps: number[]; values: number[]; next: string | null };
    steps = steps.concat(body.steps);
    values = values.concat(body.values);
    next = body.next;
  }
  expect(steps).toEqual(stored);
  expect(values).toEqual(stored.map((s) => s / 7));
}

describe('a full disk', () => {
  let base: string;
  const mounts: string[] = [];
  let refused: string | undefined;

  /** A fresh tmpfs of `size`, or undefined where this machine does not let us mount one. */
  function mountTmpfs(name: string, size: string): string | undefined {
    if (refused) return undefined;
    const dir = join(base, name);
    mkdirSync(dir);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    } catch (error) {
      refused = (error as Error).message.trim();
      console.warn(`storage-full: cannot mount a tmpfs here, test skipped (${refused})`);
      return undefined;
    }
    mounts.push(dir);
    return dir;
  }

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'simscope-full-'));
  });
  afterAll(() => {
    // Lazy: a store a failed test left open still holds files there.
    for (const dir of mounts) execFileSync('umount', ['-l', dir]);
    rmSync(base, { recursive: true, force: true });
  });

  it('under SQLite: answers every write 507 storage_full with Retry-After, keeps what it acknowledged intact', async (ctx) => {
    const mount = mountTmpfs('sqlite', '4m');
    if (!mount) return ctx.skip();
    const file = join(mount, 'data', 'simscope.db');
    // No checkpoints while filling: a WAL that starts over would give back its space to small writes at random.
    let store = SqliteStore.open(file, { checkpointMs: 0 });
    await store.migrate();
    await bootstrap(store, Date.now() * 1000, TOKEN);
    let { app, post } = await appOver(store, new LocalBlobStore(join(mount, 'artifacts')));
    const run = (await post('/runs', { name: 'filling' })).json().id as string;
    const { stored, filler } = await fillAndRefuse(post, run, mount);
    const artifact = await app.inject({
      method: 'PUT',
      url: `/api/v1/runs/${run}/artifacts?name=big&category=output`,
      headers,
      payload: randomBytes(300_000),
    });
    expect([artifact.statusCode, artifact.headers['retry-after'], artifact.json().error]).toEqual([
      507,
      '10',
      { code: 'storage_full', message: 'the blob store is out of space; free some space, then retry' },
    ]);

    rmSync(filler);
    execFileSync('mount', ['-o', 'remount,size=16m', mount]);
    await app.close();
    await store.close();
    const check = new Database(file, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();

    store = SqliteStore.open(file);
    ({ app, post } = await appOver(store));
    try {
      await expectStored(app, run, stored);
      const after = await post(`/runs/${run}/events`, {
        writer: 'w',
        seq: 1,
        events: [{ message: 'space again', level: 'info', timestamp: 2 }],
      });
      expect(after.statusCode).toBe(200);
    } finally {
      await app.close();
      await store.close();
    }
  }, 60_000);

  it('under PostgreSQL (a tablespace on the full disk): answers every write 507 storage_full', async (ctx) => {
    const mount = mountTmpfs('postgres', '24m');
    if (!mount) return ctx.skip();
    // The test cluster runs as `postgres` when we are root (see scripts/postgres-cluster.js).
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      chmodSync(base, 0o711);
      chownSync(mount, uid, uid);
    }
    const adminUrl = inject('postgresUrl');
    const name = `full_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client(adminUrl);
    await admin.connect();
    await admin.query(`CREATE TABLESPACE ${name} LOCATION '${mount}'`);
    await admin.query(`CREATE DATABASE ${name} TABLESPACE ${name}`);
    const store = PostgresStore.open(adminUrl.replace(/\/postgres$/, `/${name}`), { poolSize: 4 });
    try {
      await store.migrate();
      await bootstrap(store, Date.now() * 1000, TOKEN);
      const { app, post } = await appOver(store);
      const run = (await post('/runs', { name: 'filling' })).json().id as string;
      const { stored, filler } = await fillAndRefuse(post, run, mount);
      rmSync(filler);
      execFileSync('mount', ['-o', 'remount,size=64m', mount]);
      await expectStored(app, run, stored);
      const after = await post('/runs', { name: 'space-again' });
      expect(after.statusCode).toBe(201);
      await app.close();
    } finally {
      await store.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`DROP TABLESPACE IF EXISTS ${name}`);
      await admin.end();
    }
  }, 120_000);
});
