import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { BACKENDS, type Backend, openTestStore } from '../../../../test/fixtures.js';
import { MIGRATIONS } from './migrations.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** The store's data where a second connection can look at its tables, and a way to open it again. */
async function openInspectable(backend: Backend): Promise<{
  open(): Store;
  count(sql: string): Promise<number>;
  cleanup(): Promise<void>;
}> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'simscope-store-'));
    const file = join(dir, 'simscope.db');
    return {
      open: () => SqliteStore.open(file),
      count: async (sql) => {
        const db = new Database(file, { readonly: true });
        try {
          return Number((db.prepare(sql).get() as { n: number }).n);
        } finally {
          db.close();
        }
      },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const adminUrl = inject('postgresUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  const query = async (target: string, sql: string) => {
    const c = new pg.Client(target);
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await query(adminUrl, `CREATE DATABASE ${name}`);
  return {
    open: () => PostgresStore.open(url, { poolSize: 2 }),
    count: async (sql) => Number((await query(url, sql)).rows[0].n),
    cleanup: async () => {
      await query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

describe.each(BACKENDS)('store on %s', (backend) => {
  it('is composed of one sub-store per aggregate over one database', async () => {
    const { store, cleanup } = await openTestStore(backend);
    try {
      expect(store.backend).toBe(backend);
      const parts = [
        'identity',
        'folders',
        'runs',
        'metrics',
        'events',
        'artifacts',
        'alerts',
        'telemetry',
      ] as const;
      for (const part of parts) expect(store[part], part).toBeTypeOf('object');
      await store.identity.createWorkspace({ id: 'w', name: 'w', createdAt: 1 });
      const run = await store.runs.createRun({
        id: 'r',
        workspaceId: 'w',
        name: 'r',
        folder: '/f',
        userId: 'u',
        description: null,
        tags: [],
        metadata: {},
        system: {},
        status: 'running',
        createdAt: 1,
        startedAt: 1,
        heartbeatAt: 1,
        heartbeatTimeout: null,
      });
      expect((await store.folders.getFolder('w', '/f'))?.path).toBe(run.folder);
    } finally {
      await cleanup();
    }
  });

  it('migrates twice, and again from a new connection, without repeating a migration or losing data', async () => {
    const data = await openInspectable(backend);
    try {
      const first = data.open();
      await first.migrate();
      await first.identity.createWorkspace({ id: 'w1', name: 'kept', createdAt: 5 });
      await first.migrate();
      await first.close();
      const second = data.open();
      await second.migrate();
      expect((await second.identity.getWorkspace('w1'))?.name).toBe('kept');
      await second.close();
      expect(MIGRATIONS.length).toBeGreaterThanOrEqual(1);
      expect(await data.count('SELECT COUNT(*) AS n FROM schema_migrations')).toBe(MIGRATIONS.length);
      expect(await data.count('SELECT COUNT(DISTINCT version) AS n FROM schema_migrations')).toBe(
        MIGRATIONS.length,
      );
      expect(await data.count('SELECT COUNT(*) AS n FROM schema_migrations WHERE version = 1')).toBe(1);
    } finally {
      await data.cleanup();
    }
  });
});
