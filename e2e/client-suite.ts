import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@simscope/client';
import { afterAll, beforeAll } from 'vitest';
import { LocalBlobStore } from '../packages/server/src/blob/local-blob-store.js';
import { ADMIN_TOKEN, type Backend, openTestApp, type TestApp } from '../test/fixtures.js';

interface Served {
  t: TestApp;
  dir: string;
  url: string;
  client: Client;
}

/**
 * An app with blobs in a temp dir, listening on loopback, and an admin client for it, for one describe block:
 * opened before its tests, closed and its dir removed after them. Its fields read the open app.
 */
export function servedForSuite(backend: Backend, dirPrefix: string) {
  let served: Served | undefined;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), dirPrefix));
    const t = await openTestApp(backend, { blobs: new LocalBlobStore(join(dir, 'blobs')) });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    served = { t, dir, url, client: new Client({ url, token: ADMIN_TOKEN }) };
  });
  afterAll(async () => {
    if (!served) return;
    await served.t.close();
    rmSync(served.dir, { recursive: true, force: true });
  });
  const open = (): Served => {
    if (!served) throw new Error('the suite app opens in beforeAll');
    return served;
  };
  return {
    get dir() {
      return open().dir;
    },
    get client() {
      return open().client;
    },
    /** The URL and admin token, as a run's config takes them. */
    connection: () => ({ url: open().url, token: ADMIN_TOKEN }),
  };
}
