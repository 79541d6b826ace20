import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SqlStore } from '../store/sql-store.js';
import { SqliteDriver } from './sqlite-driver.js';

export interface SqliteOptions {
  /** Checkpoint the WAL from a worker thread every this many ms (0: leave it to SQLite, in the request path). */
  checkpointMs?: number;
}

/** The embedded store: one SQLite file in WAL mode, checkpointed by a worker thread. */
export class SqliteStore extends SqlStore {
  readonly backend = 'sqlite' as const;
  #checkpointer: Worker | undefined;

  /** Opens (creating if needed) the database at `file`; `:memory:` for a throwaway one. */
  static open(file: string, options: SqliteOptions = {}): SqliteStore {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    // Big pages keep metric blocks (tens of KB each) in few overflow pages; only takes effect on a new file.
    db.pragma('page_size = 16384');
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a killed process (the durability promise) without an fsync; the
    // checkpoint fsyncs, so a power loss can lose the last commits but never corrupt the file.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -65536');
    const checkpointMs = file === ':memory:' ? 0 : (options.checkpointMs ?? 100);
    if (checkpointMs > 0) db.pragma('wal_autocheckpoint = 16384');
    const store = new SqliteStore(new SqliteDriver(db));
    if (checkpointMs > 0) {
      store.#checkpointer = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
        workerData: { file, intervalMs: checkpointMs },
      });
      store.#checkpointer.unref();
    }
    return store;
  }

  override async close(): Promise<void> {
    const worker = this.#checkpointer;
    this.#checkpointer = undefined;
    if (worker) {
      const stopped = new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('exit', () => resolve());
        worker.once('error', () => resolve());
      });
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
    }
    await super.close();
  }
}
