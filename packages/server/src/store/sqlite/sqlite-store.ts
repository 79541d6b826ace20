import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SqlStore } from '../sql-store.js';
import { SqliteDriver } from './sqlite-driver.js';
import { registerRegexp } from './sqlite-regexp.js';

export interface SqliteOptions {
  /** Checkpoint the WAL from a worker thread every this many ms (0: leave it to SQLite, in the request path). */
  checkpointMs?: number;
  /** Bytes of decoded metric blocks kept in memory. */
  cacheBytes?: number;
  /** Truncate the WAL to nothing after this many ms without a write (0: never; the size limit still holds). */
  idleTruncateMs?: number;
  /** Ms a write waits for a lock held by another process before it answers `database_busy`. */
  busyWaitMs?: number;
}

/** The WAL is cut back to this size whenever a checkpoint lets SQLite start it over. */
export const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

// Copies the WAL into the database file (with its fsyncs) off the server's event loop. PASSIVE never blocks the
// writer; the main connection keeps a large autocheckpoint as a backstop should this thread stop. When the server
// has been idle a while, TRUNCATE empties the WAL file (it waits for writers, so only then). Inline source, so the
// same code runs from TypeScript sources (tests) and from the build.
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 200');
const checkpoint = (mode) => { try { db.pragma('wal_checkpoint(' + mode + ')'); } catch {} };
const timer = setInterval(() => checkpoint('PASSIVE'), workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'truncate') return checkpoint('TRUNCATE');
  clearInterval(timer);
  checkpoint('PASSIVE');
  db.close();
  parentPort.postMessage('stopped');
});
`;

/** The embedded store: one SQLite file in WAL mode, checkpointed by a worker thread. */
export class SqliteStore extends SqlStore {
  readonly backend = 'sqlite' as const;
  #checkpointer: Worker | undefined;
  #idle: NodeJS.Timeout | undefined;

  /** Opens (creating if needed) the database at `file`; `:memory:` for a throwaway one. */
  static open(file: string, options: SqliteOptions = {}): SqliteStore {
    if (file !== ':memory:') {
      // Private to the server's user: SQLite gives the -wal and -shm files the mode of the database file.
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'a', 0o600));
    }
    const db = new Database(file);
    // Big pages keep metric blocks (tens of KB each) in few overflow pages; only takes effect on a new file.
    db.pragma('page_size = 16384');
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a killed process (the durability promise) without an fsync; the
    // checkpoint fsyncs, so a power loss can lose the last commits but never corrupt the file.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // SQLite's own wait for a lock would block the event loop; the driver waits in slices instead.
    db.pragma('busy_timeout = 0');
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
    db.pragma('cache_size = -65536');
    registerRegexp(db);
    const checkpointMs = file === ':memory:' ? 0 : (options.checkpointMs ?? 100);
    const idleTruncateMs = options.idleTruncateMs ?? 5000;
    let wrote = () => {};
    const driver = new SqliteDriver(db, { busyWaitMs: options.busyWaitMs, onWrite: () => wrote() });
    const store = new SqliteStore(driver, { cacheBytes: options.cacheBytes });
    if (checkpointMs > 0) {
      db.pragma('wal_autocheckpoint = 16384');
      const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
      const worker = new Worker(CHECKPOINTER, {
        eval: true,
        workerData: { file, intervalMs: checkpointMs, driver: driverPath },
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
      if (idleTruncateMs > 0) {
        const idle = setTimeout(() => store.#checkpointer?.postMessage('truncate'), idleTruncateMs).unref();
        store.#idle = idle;
        wrote = () => idle.refresh();
      }
    }
    return store;
  }

  override async close(): Promise<void> {
    clearTimeout(this.#idle);
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
