import type { Database, Statement } from 'better-sqlite3';
import type { Dialect, SqlDriver, SqlParam, SqlRow } from '../store/sql-driver.js';
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

/**
 * better-sqlite3 behind the async driver interface. Statements run synchronously; a transaction holds a lock
 * so that statements of other requests wait instead of joining it.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect: Dialect = sqliteDialect;
  readonly #db: Database;
  readonly #statements = new Map<string, Statement>();
  /** Transactions run one after another in this chain; `#locked` is true while one is open. */
  #queue: Promise<unknown> = Promise.resolve();
  #locked = false;

  constructor(db: Database) {
    this.#db = db;
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

  allSync<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): T[] {
    const stmt = this.#prepare(sql);
    if (stmt.reader) return stmt.all(...bind(params)) as T[];
    stmt.run(...bind(params));
    return [];
  }

  getSync<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): T | undefined {
    return this.#prepare(sql).get(...bind(params)) as T | undefined;
  }

  runSync(sql: string, params: readonly SqlParam[] = []): number {
    return this.#prepare(sql).run(...bind(params)).changes;
  }

  async all<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    while (this.#locked) await this.#idle();
    return this.allSync<T>(sql, params);
  }

  async get<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    while (this.#locked) await this.#idle();
    return this.getSync<T>(sql, params);
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    while (this.#locked) await this.#idle();
    return this.runSync(sql, params);
  }

  execSync(sql: string): void {
    this.#db.exec(sql);
  }

  async exec(sql: string): Promise<void> {
    while (this.#locked) await this.#idle();
    this.#db.exec(sql);
  }

  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    const result = this.#queue.catch(() => undefined).then(() => this.#runTransaction(fn));
    this.#queue = result;
    return result;
  }

  async #runTransaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    this.#locked = true;
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(new SqliteTransaction(this));
        this.#db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
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
