import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@simscope/client';
import { LocalBlobStore } from '../packages/server/src/blob/local-blob-store.js';
import { ADMIN_TOKEN, type Backend, forSuite, openTestApp, type TestApp } from '../test/fixtures.js';

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
  const open = forSuite(
    async (): Promise<Served> => {
      const dir = mkdtempSync(join(tmpdir(), dirPrefix));
      const t = await openTestApp(backend, { blobs: new LocalBlobStore(join(dir, 'blobs')) });
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      return { t, dir, url, client: new Client({ url, token: ADMIN_TOKEN }) };
    },
    async ({ t, dir }) => {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  );
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
