import { SimscopeError } from '@simscope/protocol';
import pg from 'pg';
import type { Dialect, SqlDriver, SqlParam, SqlRow } from '../sql-driver.js';
import { appliesUserRegex, postgresDialect } from './postgres-dialect.js';

const INT8_OID = 20;

/** Rewrites `?` placeholders as `$1, $2, …`; the store's SQL keeps no `?` inside literals. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function bind(params: readonly SqlParam[]): unknown[] {
  return params.map((p) => {
    if (typeof p === 'bigint') return p.toString();
    if (p instanceof Uint8Array && !Buffer.isBuffer(p))
      return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    return p;
  });
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

/** PostgreSQL's own rejection of a filter's regular expression (RE2 syntax it does not share) is a 400. */
function translate(error: unknown): unknown {
  const e = error as { code?: string; message?: string };
  if (e.code === '2201B') {
    return new SimscopeError(
      'invalid_filter',
      `${e.message}; PostgreSQL reads it as a POSIX regular expression`,
      {
        cause: error,
      },
    );
  }
  if (e.code === '22021' || e.code === '22P05') {
    return new SimscopeError(
      'bad_request',
      'text with the NUL character (\\u0000) cannot be stored or looked up in PostgreSQL',
      { cause: error },
    );
  }
  if (e.code === '53100') {
    return new SimscopeError('storage_full', 'the database disk is full; free some space, then retry', {
      cause: error,
    });
  }
  return error;
}

const QUERY_CANCELED = '57014';

/** A statement with a user's regular expression that ran out of time: the pattern or the query is too costly. */
function timedOut(error: unknown, timeoutMs: number): unknown {
  if ((error as { code?: string }).code !== QUERY_CANCELED) return translate(error);
  return new SimscopeError(
    'invalid_filter',
    `a regular expression took longer than ${timeoutMs} ms in PostgreSQL; simplify it or narrow the query with other conditions`,
    { cause: error, details: { timeoutMs } },
  );
}

interface QueryResult {
  rows: SqlRow[];
  rowCount: number | null;
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<QueryResult>;
}

/** Runs one statement that applies a user's regular expression, under the statement timeout. */
type BoundedQuery = (sql: string, values: unknown[]) => Promise<QueryResult>;

class PostgresSession implements SqlDriver {
  readonly dialect: Dialect = postgresDialect;
  readonly #client: Queryable;
  readonly #bounded: BoundedQuery;

  constructor(client: Queryable, bounded: BoundedQuery) {
    this.#client = client;
    this.#bounded = bounded;
  }

  async #query(sql: string, params: readonly SqlParam[]) {
    if (appliesUserRegex(sql)) return this.#bounded(numbered(sql), bind(params));
    try {
      return await this.#client.query(numbered(sql), bind(params));
    } catch (error) {
      throw translate(error);
    }
  }

  async all<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return (await this.#query(sql, params)).rows as T[];
  }

  async get<T extends SqlRow>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return (await this.#query(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return (await this.#query(sql, params)).rowCount ?? 0;
  }

  async exec(sql: string): Promise<void> {
    await this.#client.query(sql);
  }

  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {}
}

/**
 * node-postgres pool behind the driver interface; a transaction takes one pooled connection. A statement that
 * applies a user's regular expression runs with `SET LOCAL statement_timeout` in a transaction of its own (or
 * of the caller), so no pattern holds a connection and a CPU for long.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect: Dialect = postgresDialect;
  readonly #pool: pg.Pool;
  readonly #session: PostgresSession;
  readonly #regexTimeoutMs: number;

  constructor(url: string, options: { max?: number; regexTimeoutMs?: number } = {}) {
    this.#pool = new pg.Pool({ connectionString: url, max: options.max ?? 8, types });
    this.#pool.on('error', () => {
      // An idle connection that dies is replaced on next use; the query that needs it reports the error.
    });
    this.#regexTimeoutMs = Math.max(1, Math.round(options.regexTimeoutMs ?? 2000));
    this.#session = new PostgresSession(this.#pool as unknown as Queryable, (sql, values) =>
      this.#boundedAlone(sql, values),
    );
  }

  async #boundedAlone(sql: string, values: unknown[]): Promise<QueryResult> {
    const client = await this.#pool.connect();
    try {
      await client.query(`BEGIN; SET LOCAL statement_timeout = ${this.#regexTimeoutMs}`);
      const result = (await client.query(sql, values)) as QueryResult;
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw timedOut(error, this.#regexTimeoutMs);
    } finally {
      client.release();
    }
  }

  /** Inside the caller's transaction: the timeout covers this statement only, then the session's returns. */
  async #boundedWithin(client: Queryable, sql: string, values: unknown[]): Promise<QueryResult> {
    try {
      await client.query(`SET LOCAL statement_timeout = ${this.#regexTimeoutMs}`);
      const result = await client.query(sql, values);
      await client.query('SET LOCAL statement_timeout TO DEFAULT');
      return result;
    } catch (error) {
      throw timedOut(error, this.#regexTimeoutMs);
    }
  }

  all<T extends SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<T[]> {
    return this.#session.all<T>(sql, params);
  }

  get<T extends SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined> {
    return this.#session.get<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlParam[]): Promise<number> {
    return this.#session.run(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.#session.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const queryable = client as unknown as Queryable;
      const session = new PostgresSession(queryable, (sql, values) =>
        this.#boundedWithin(queryable, sql, values),
      );
      const result = await fn(session);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw translate(error);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  usage(): { open: number; idle: number; waiting: number } {
    return { open: this.#pool.totalCount, idle: this.#pool.idleCount, waiting: this.#pool.waitingCount };
  }
}
