import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { float64Bytes, int64Bytes } from '@simscope/protocol';
import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob/local-blob-store.js';
import { bootstrap } from '../../bootstrap.js';
import { createApp } from '../../http/app.js';
import { dataDirWarnings } from '../open-store.js';
import { SqliteStore, WAL_SIZE_LIMIT } from './sqlite-store.js';

const TOKEN = 'ssk_test_store_token_0000000000000000000000';
const packr = new Packr({ useRecords: false });
const mode = (path: string) => statSync(path).mode & 0o777;

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!check() && performance.now() < end) await new Promise((r) => setTimeout(r, 50));
}

describe('SQLite store files', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('empties the WAL once writes stop, and caps its size', async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-wal-'));
    const file = join(dir, 'simscope.db');
    const store = SqliteStore.open(file, { idleTruncateMs: 300 });
    await store.migrate();
    await bootstrap(store, Date.now() * 1000, TOKEN);
    const app = await createApp({ store });
    const headers = { authorization: `Bearer ${TOKEN}` };
    try {
      const run = (await app.inject({ method: 'POST', url: '/api/v1/runs', headers, payload: {} })).json();
      const points = 50_000;
      for (let seq = 0; seq < 40; seq++) {
        const steps = Float64Array.from({ length: points }, (_, i) => seq * points + i);
        const res = await app.inject({
          method: 'POST',
          url: `/api/v1/runs/${run.id}/metrics`,
          headers: { ...headers, 'content-type': 'application/msgpack' },
          payload: packr.pack({
            writer: 'w',
            seq,
            series: [
              { name: 'loss', steps: int64Bytes(steps), values: float64Bytes(steps.map(Math.random)) },
            ],
          }),
        });
        expect(res.statusCode).toBe(200);
      }
      const wal = `${file}-wal`;
      const written = statSync(wal).size;
      expect(written).toBeGreaterThan(1024 * 1024);
      expect(written).toBeLessThanOrEqual(WAL_SIZE_LIMIT + 4 * 1024 * 1024);
      await until(() => statSync(wal).size === 0, 5000);
      expect(statSync(wal).size).toBe(0);
      const series = await app.inject({
        url: `/api/v1/runs/${run.id}/metrics/series?name=loss&limit=1`,
        headers,
      });
      expect(series.json().steps).toEqual([0]);
    } finally {
      await app.close();
      await store.close();
    }
  });

  it('creates the data directory 0700 and the database, WAL and shared-memory files 0600', async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-modes-'));
    const data = join(dir, 'data');
    const file = join(data, 'simscope.db');
    const store = SqliteStore.open(file);
    await store.migrate();
    try {
      expect(mode(data)).toBe(0o700);
      expect([file, `${file}-wal`, `${file}-shm`].map(mode)).toEqual([0o600, 0o600, 0o600]);
      expect(dataDirWarnings(data)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('stores blobs in 0700 directories as 0600 files', async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-blob-modes-'));
    const root = join(dir, 'artifacts');
    const blobs = new LocalBlobStore(root);
    const staged = await blobs.stage(Readable.from([randomBytes(10_000)]));
    expect(mode(join(root, 'tmp', staged.id))).toBe(0o600);
    await blobs.commit(staged);
    const prefix = join(root, 'sha256', staged.sha256.slice(0, 2));
    expect([root, join(root, 'tmp'), join(root, 'sha256'), prefix].map(mode)).toEqual([
      0o700, 0o700, 0o700, 0o700,
    ]);
    expect(mode(join(prefix, staged.sha256))).toBe(0o600);
  });

  it('warns about a data directory or database that others can read', async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-open-'));
    const data = join(dir, 'data');
    const store = SqliteStore.open(join(data, 'simscope.db'));
    await store.close();
    chmodSync(data, 0o755);
    chmodSync(join(data, 'simscope.db'), 0o644);
    expect(dataDirWarnings(data)).toEqual([
      `${data} is open to other users (mode 755); chmod 700 it to keep workspaces private`,
      `${join(data, 'simscope.db')} is open to other users (mode 644); chmod 600 it to keep workspaces private`,
    ]);
    expect(dataDirWarnings(join(dir, 'none'))).toEqual([]);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });
});
