import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SqlStore } from '../store/sql-store.js';
import { SqliteDriver } from './sqlite-driver.js';

/** The embedded store: one SQLite file in WAL mode. */
export class SqliteStore extends SqlStore {
  readonly backend = 'sqlite' as const;

  /** Opens (creating if needed) the database at `file`; `:memory:` for a throwaway one. */
  static open(file: string): SqliteStore {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a killed process (what the durability promise covers); only power loss can lose
    // the last commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -65536');
    return new SqliteStore(new SqliteDriver(db));
  }
}
