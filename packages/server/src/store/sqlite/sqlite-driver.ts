import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimscopeError } from '@simscope/protocol';
import type { Database, Statement } from 'better-sqlite3';
import type { Dialect, SqlDriver, SqlParam, SqlRow } from '../sql-driver.js';
import { sqliteDialect } from './sqlite-dialect.js';

type BindValue = string | number | bigint | Buffer | null;

function bind(params: readonly SqlParam[]): BindValue[] {
  return params.map((p) => {
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (p instanceof Uint8Array && !Buffer.isBuffer(p))
      return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    return p as BindValue;
  });
}

/** How long a statement waits for a lock another process holds before it answers `database_busy`. */
const BUSY_WAIT_MS = 2000;
/** The pause between two tries for the lock: the event loop serves other requests meanwhile. */
const BUSY_SLICE_MS = 20;
/** Below this many free bytes an I/O error of the database is taken for a full disk. */
const FULL_BELOW_BYTES = 64 * 1024 * 1024;

export interface SqliteDriverOptions {
  /** Ms a statement waits for another process's lock, in slices that yield, before `database_busy`. */
  busyWaitMs?: number;
  /** Called after each write that changed something (the checkpointer's idle clock). */
  onWrite?: () => void;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)(_|$)/.test(code);
}

/**
 * better-sqlite3 behind the async driver interface. Statements run synchronously; a transaction holds a lock
 * so that statements of other requests wait instead of joining it.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect: Dialect = sqliteDialect;
  readonly #db: Database;
  readonly #statements = new Map<string, Statement>();
  readonly #busyWaitMs: number;
  readonly #onWrite: () => void;
  /** Transactions run one after another in this chain; `#locked` is true while one is open. */
  #queue: Promise<unknown> = Promise.resolve();
  #locked = false;
  #queued = 0;

  // busy_timeout must stay 0 on `db`: SQLite's own wait for a lock blocks the event loop.
  constructor(db: Database, options: SqliteDriverOptions = {}) {
    this.#db = db;
    this.#busyWaitMs = options.busyWaitMs ?? BUSY_WAIT_MS;
    this.#onWrite = options.onWrite ?? (() => {});
  }

  /** The error a caller sees: a full disk as `storage_full`, a lock as `database_busy`, others as they are. */
  #failure(error: unknown): unknown {
    const code = (error as { code?: unknown })?.code;
    if (typeof code !== 'string') return error;
    if (code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && this.#diskNearlyFull())) {
      return new SimscopeError('storage_full', 'the database disk is full; free some space, then retry', {
        cause: error,
      });
    }
    if (isBusy(error)) {
      return new SimscopeError(
        'database_busy',
        `the database is locked by another process (waited ${this.#busyWaitMs} ms); retry later`,
        { cause: error },
      );
    }
    return error;
  }

  // SQLite reports a failed write as SQLITE_IOERR_* without its errno; free space tells ENOSPC apart.
  #diskNearlyFull(): boolean {
    if (this.#db.memory) return false;
    try {
      const fs = statfsSync(dirname(this.#db.name));
      return fs.bavail * fs.bsize < FULL_BELOW_BYTES;
    } catch {
      return false;
    }
  }

  /** Runs `attempt` once no transaction of ours is open, trying again while another process holds a lock. */
  async #retry<T>(attempt: () => T): Promise<T> {
    const deadline = performance.now() + this.#busyWaitMs;
    for (;;) {
      while (this.#locked) await this.#idle();
      try {
        return attempt();
      } catch (error) {
        if (!isBusy(error) || performance.now() >= deadline) throw this.#failure(error);
      }
      await sleep(BUSY_SLICE_MS);
    }
  }

  #prepare(sql: string): Statement {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      if (this.#statements.size > 500) this.#statements.clear();
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  // Callers loop on `#locked` themselves right before their synchronous statement, so that no queued transaction
  // can begin between the check and the statement.
  #idle(): Promise<unknown> {
    return this.#queue.catch(() => undefined);
  }

  #all<T extends SqlRow>(sql: string, params: readonly SqlParam[]): T[] {
    const stmt = this.#prepare(sql);
    if (stmt.reader) return stmt.all(...bind(params)) as T[];
    this.#changed(stmt.run(...bind(params)).changes);
    return [];
  }

  #run(sql: string, params: readonly SqlParam[]): number {
    return this.#changed(this.#prepare(sql).run(...bind(params)).changes);
  }

  #exec(sql: string): void {
    this.#db.exec(sql);
    this.#onWrite();
  }

  #changed(changes: number): number {
    if (changes > 0) this.#onWrite();
    return changes;
  }

  #sync<T>(attempt: () => T): T {
    try {
      return attempt();
    } catch (error) {
      throw this.#failure(error);
    }
  }

  allSync<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): T[] {
    return this.#sync(() => this.#all<T>(sql, params));
  }

  getSync<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): T | undefined {
    return this.#sync(() => this.#prepare(sql).get(...bind(params)) as T | undefined);
  }

  runSync(sql: string, params: readonly SqlParam[] = []): number {
    return this.#sync(() => this.#run(sql, params));
  }

  async all<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.#retry(() => this.#all<T>(sql, params));
  }

  async get<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return this.#retry(() => this.#prepare(sql).get(...bind(params)) as T | undefined);
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return this.#retry(() => this.#run(sql, params));
  }

  execSync(sql: string): void {
    this.#sync(() => this.#exec(sql));
  }

  async exec(sql: string): Promise<void> {
    return this.#retry(() => this.#exec(sql));
  }

  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    this.#queued++;
    const result = this.#queue
      .catch(() => undefined)
      .then(() => {
        this.#queued--;
        return this.#runTransaction(fn);
      });
    this.#queue = result;
    return result;
  }

  usage(): { open: number; idle: number; waiting: number } {
    return { open: 1, idle: this.#locked ? 0 : 1, waiting: this.#queued };
  }

  // Until BEGIN IMMEDIATE has the write lock nothing of ours is open, so reads go on while it waits. A COMMIT
  // refused for a lock leaves the transaction open and is simply tried again; once the wait is over it rolls back.
  async #runTransaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    await this.#retry(() => this.#db.exec('BEGIN IMMEDIATE'));
    this.#locked = true;
    try {
      const result = await fn(new SqliteTransaction(this));
      const deadline = performance.now() + this.#busyWaitMs;
      for (;;) {
        try {
          this.#exec('COMMIT');
          return result;
        } catch (error) {
          if (!isBusy(error) || performance.now() >= deadline) throw error;
        }
        await sleep(BUSY_SLICE_MS);
      }
    } catch (error) {
      try {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      } catch {
        // SQLite rolls back by itself what it could not roll back here.
      }
      throw this.#failure(error);
    } finally {
      this.#locked = false;
    }
  }

  async close(): Promise<void> {
    while (this.#locked) await this.#idle();
    this.#statements.clear();
    this.#db.close();
  }
}

/** The view of the driver inside a transaction: runs statements without waiting for the lock it holds. */
class SqliteTransaction implements SqlDriver {
  readonly dialect: Dialect = sqliteDialect;
  readonly #driver: SqliteDriver;

  constructor(driver: SqliteDriver) {
    this.#driver = driver;
  }

  async all<T extends SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<T[]> {
    return this.#driver.allSync<T>(sql, params);
  }

  async get<T extends SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined> {
    return this.#driver.getSync<T>(sql, params);
  }

  async run(sql: string, params?: readonly SqlParam[]): Promise<number> {
    return this.#driver.runSync(sql, params);
  }

  async exec(sql: string): Promise<void> {
    this.#driver.execSync(sql);
  }

  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {}
}
