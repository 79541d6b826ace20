import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SqlStore } from '../store/sql-store.js';
import { SqliteDriver } from './sqlite-driver.js';
import { registerRegexp } from './sqlite-regexp.js';

export interface SqliteOptions {
  /** Checkpoint the WAL from a worker thread every this many ms (0: leave it to SQLite, in the request path). */
  checkpointMs?: number;
  /** Bytes of decoded metric blocks kept in memory. */
  cacheBytes?: number;
}

// Copies the WAL into the database file (with its fsyncs) off the server's event loop. PASSIVE never blocks the
// writer; the main connection keeps a large autocheckpoint as a backstop should this thread stop. Inline source,
// so the same code runs from TypeScript sources (tests) and from the build.
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage('stopped');
});
`;

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
    registerRegexp(db);
    const checkpointMs = file === ':memory:' ? 0 : (options.checkpointMs ?? 100);
    const store = new SqliteStore(new SqliteDriver(db), { cacheBytes: options.cacheBytes });
    if (checkpointMs > 0) {
      db.pragma('wal_autocheckpoint = 16384');
      const driver = createRequire(import.meta.url).resolve('better-sqlite3');
      const worker = new Worker(CHECKPOINTER, {
        eval: true,
        workerData: { file, intervalMs: checkpointMs, driver },
      });
      worker.on('error', () => {
        // Without the worker SQLite checkpoints by itself, in the request path.
        db.pragma('wal_autocheckpoint = 1000');
      });
      worker.once('exit', () => {
        if (store.#checkpointer === worker) store.#checkpointer = undefined;
      });
      worker.unref();
      store.#checkpointer = worker;
    }
    return store;
  }

  override async close(): Promise<void> {
    const worker = this.#checkpointer;
    this.#checkpointer = undefined;
    if (worker) {
      await new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('exit', () => resolve());
        worker.postMessage('stop');
      });
      await worker.terminate();
    }
    await super.close();
  }
}
