import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SimscopeError } from '@simscope/protocol';
import Database from 'better-sqlite3';

/** The SQLite file a server's settings name: `--db FILE` (or `sqlite:FILE`), else `DATA_DIR/simscope.db`. */
export function sqliteFileOf(db: string, dataDir: string): string {
  if (/^postgres(ql)?:\/\//.test(db)) {
    throw new SimscopeError(
      'invalid_field',
      'db: backup and restore read a SQLite file; for PostgreSQL use pg_dump and pg_restore (docs/deploy.md)',
    );
  }
  return db ? db.replace(/^sqlite:(\/\/)?/, '') : join(dataDir, 'simscope.db');
}

/** Throws unless `file` is a Simscope database that passes SQLite's quick check. */
function checkDatabase(file: string, what: string): void {
  if (!existsSync(file)) throw new SimscopeError('not_found', `${what}: no file ${file}`);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(String(check));
    db.prepare('SELECT max(version) AS v FROM schema_migrations').get();
  } catch (error) {
    throw new SimscopeError(
      'invalid_field',
      `${what}: ${file} is not a Simscope database (${(error as Error).message})`,
      { cause: error },
    );
  } finally {
    db?.close();
  }
}

/**
 * Copies a live SQLite database to `dest` with SQLite's online backup API, while servers keep writing: all pages are
 * copied in one step under one read transaction, so the copy is the database as of one moment (in WAL mode readers
 * do not block writers, and a copy in many small steps would restart at every write of another process).
 */
export async function backupSqlite(source: string, dest: string): Promise<{ pages: number }> {
  checkDatabase(source, 'backup');
  if (existsSync(dest)) throw new SimscopeError('conflict', `backup: ${dest} exists; name a new file`);
  const db = new Database(source, { readonly: true, fileMustExist: true });
  const partial = `${dest}.partial`;
  try {
    const result = await db.backup(partial, { progress: () => Number.MAX_SAFE_INTEGER });
    renameSync(partial, dest);
    return { pages: result.totalPages };
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    db.close();
  }
}

/**
 * Replaces the database at `target` by the backup `file`. The servers over `target` must be stopped: the restore
 * takes SQLite's exclusive lock first and refuses while another process has the database open.
 */
export async function restoreSqlite(file: string, target: string): Promise<{ pages: number }> {
  checkDatabase(file, 'restore');
  const dest = new Database(target, { timeout: 200 });
  try {
    try {
      // Exclusive locking mode in WAL needs every other connection gone; a running server keeps one open.
      dest.pragma('locking_mode = EXCLUSIVE');
      dest.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      throw new SimscopeError(
        'conflict',
        `restore: ${target} is in use (${(error as Error).message}); stop the servers that use it first`,
        { cause: error },
      );
    }
  } finally {
    dest.close();
  }
  const source = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const result = await source.backup(target, { progress: () => Number.MAX_SAFE_INTEGER });
    return { pages: result.totalPages };
  } finally {
    source.close();
  }
}
