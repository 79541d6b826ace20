import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyMigrations, MIGRATIONS, type Migration } from './migrations.js';
import { SqliteDriver } from './sqlite/sqlite-driver.js';

const table = (version: number, name: string): Migration => ({
  version,
  name,
  sql: () => `CREATE TABLE ${name} (id INTEGER PRIMARY KEY);`,
});

describe('applyMigrations', () => {
  let dir: string;
  let db: InstanceType<typeof Database>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-migrations-'));
    db = new Database(join(dir, 'm.db'));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const versions = () =>
    db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .all()
      .map((r) => (r as { version: number }).version);

  it('applies versions with a gap, then the missing version when a later merge brings it', async () => {
    const driver = new SqliteDriver(db);
    expect(await applyMigrations(driver, [table(1, 'a'), table(2, 'b'), table(4, 'd')])).toEqual([1, 2, 4]);
    expect(versions()).toEqual([1, 2, 4]);
    expect(
      await applyMigrations(driver, [table(1, 'a'), table(2, 'b'), table(4, 'd'), table(3, 'c')]),
    ).toEqual([3]);
    expect(versions()).toEqual([1, 2, 3, 4]);
    expect(
      await applyMigrations(driver, [table(1, 'a'), table(2, 'b'), table(3, 'c'), table(4, 'd')]),
    ).toEqual([]);
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b', 'c', 'd') ORDER BY name",
      )
      .all();
    expect(tables).toEqual([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }]);
  });

  it('refuses two migrations with one version', async () => {
    await expect(applyMigrations(new SqliteDriver(db), [table(1, 'a'), table(1, 'b')])).rejects.toThrow(
      'duplicate migration versions: 1, 1',
    );
  });

  it('lists the project migrations with unique versions in ascending order', () => {
    const list = MIGRATIONS.map((m) => m.version);
    expect(list).toEqual([...new Set(list)].sort((a, b) => a - b));
    expect(list).toContain(4);
  });
});
