import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import type { BlobStore } from '../packages/server/src/blob/blob-store.js';
import { bootstrap } from '../packages/server/src/bootstrap.js';
import { createApp } from '../packages/server/src/http/app.js';
import { PostgresStore } from '../packages/server/src/store/postgres/postgres-store.js';
import { SqliteStore } from '../packages/server/src/store/sqlite/sqlite-store.js';
import type { Store } from '../packages/server/src/store/store.js';
import { createDatabase } from '../scripts/postgres-cluster.js';

export const BACKENDS = ['sqlite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

/** A fresh, migrated store: SQLite in a temp dir, or a new database in the test PostgreSQL. */
export async function openTestStore(backend: Backend): Promise<{ store: Store; cleanup(): Promise<void> }> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'simscope-test-'));
    const store = SqliteStore.open(join(dir, 'simscope.db'));
    await store.migrate();
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const adminUrl = inject('postgresUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const store = PostgresStore.open(await createDatabase(adminUrl, name), { poolSize: 4 });
  await store.migrate();
  return {
    store,
    cleanup: async () => {
      await store.close();
      const c = new pg.Client(adminUrl);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export const ADMIN_TOKEN = 'ssk_test_admin_token_000000000000000000000';

/** An app over a fresh store with the bootstrap admin; `now` is a settable microsecond clock. */
export async function openTestApp(
  backend: Backend,
  options: {
    bodyLimit?: number;
    sinkRoute?: boolean;
    blobs?: BlobStore;
    artifactQuota?: number | null;
    webRoot?: string | null;
    webhookAllow?: readonly string[];
  } = {},
) {
  const { store, cleanup } = await openTestStore(backend);
  const clock = { now: Date.now() * 1000 };
  await bootstrap(store, clock.now, ADMIN_TOKEN);
  const app = await createApp({ store, now: () => clock.now, ...options });
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  return {
    app,
    store,
    clock,
    auth,
    /** A call of the API as the admin, JSON in and out: the status and the parsed body (undefined if empty). */
    call: async (method: string, url: string, payload?: unknown) => {
      const res = await app.inject({
        method: method as 'GET',
        url: `/api/v1${url}`,
        headers: auth,
        ...(payload === undefined ? {} : { payload: payload as string }),
      });
      return { status: res.statusCode, body: (res.body ? res.json() : undefined) as Record<string, any> };
    },
    close: async () => {
      await app.close();
      await cleanup();
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof openTestApp>>;

/**
 * What one describe block opens before its tests (within `timeoutMs`) and closes after them, read through the
 * function this returns (which throws before it is open).
 */
export function forSuite<T extends object>(
  open: () => Promise<T>,
  close: (opened: T) => Promise<void>,
  timeoutMs?: number,
): () => T {
  let opened: T | undefined;
  beforeAll(async () => {
    opened = await open();
  }, timeoutMs);
  afterAll(async () => {
    if (opened) await close(opened);
  });
  return () => {
    if (!opened) throw new Error('the suite opens it in beforeAll');
    return opened;
  };
}

/**
 * An app for one describe block: opened before its tests and closed after them. Taken at describe time; its
 * fields read the block's app once it is open.
 */
export function appForSuite(backend: Backend, options: Parameters<typeof openTestApp>[1] = {}): TestApp {
  const open = forSuite(
    () => openTestApp(backend, options),
    (t) => t.close(),
  );
  return {
    get app() {
      return open().app;
    },
    get store() {
      return open().store;
    },
    get clock() {
      return open().clock;
    },
    get auth() {
      return open().auth;
    },
    call: (method, url, payload) => open().call(method, url, payload),
    close: () => open().close(),
  };
}
