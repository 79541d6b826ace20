import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from './migrations.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

const TELEMETRY_TABLES = ['telemetry_batches', 'telemetry_keys', 'telemetry_records', 'telemetry_services'];

describe('migration 5 (telemetry) and version gaps', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-migrate-'));
    file = join(dir, 'simscope.db');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const migrate = async () => {
    const store = SqliteStore.open(file, { checkpointMs: 0 });
    await store.migrate();
    await store.close();
  };
  const inspect = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(file);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const versions = () =>
    inspect((db) =>
      db
        .prepare('SELECT version FROM schema_migrations ORDER BY version')
        .all()
        .map((r) => (r as { version: number }).version),
    );
  const telemetryTables = () =>
    inspect((db) =>
      db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'telemetry_%' ORDER BY name",
        )
        .all()
        .map((r) => (r as { name: string }).name),
    );

  it('has its own version, in order with the others', () => {
    const list = MIGRATIONS.map((m) => m.version);
    expect(list.slice(0, 2)).toEqual([1, 2]);
    expect(list).toContain(5);
    expect(list).toEqual([...new Set(list)].sort((a, b) => a - b));
  });

  it('creates the telemetry tables on a fresh database', async () => {
    await migrate();
    expect(versions()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(telemetryTables()).toEqual(TELEMETRY_TABLES);
  });

  it('applies a missing version below one already recorded, as when a branch merges later', async () => {
    await migrate();
    inspect((db) => {
      for (const table of TELEMETRY_TABLES) db.exec(`DROP TABLE ${table}`);
      db.exec('DELETE FROM schema_migrations WHERE version = 5');
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        1000,
        'later',
        1,
      );
    });
    await migrate();
    expect(versions()).toContain(5);
    expect(versions().at(-1)).toBe(1000);
    expect(telemetryTables()).toEqual(TELEMETRY_TABLES);
  });
});
