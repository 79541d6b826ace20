import { SimscopeError } from '@simscope/protocol';
import pg from 'pg';
import type { Dialect, SqlDriver, SqlParam, SqlRow } from '../store/sql-driver.js';
import { postgresDialect } from './postgres-dialect.js';

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

/** PostgreSQL's own rejection of a filter's regular expression (JavaScript syntax it does not share) is a 400. */
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
  if (e.code === '53100') {
    return new SimscopeError('storage_full', 'the database disk is full; free some space, then retry', {
      cause: error,
    });
  }
  return error;
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: SqlRow[]; rowCount: number | null }>;
}

class PostgresSession implements SqlDriver {
  readonly dialect: Dialect = postgresDialect;
  readonly #client: Queryable;

  constructor(client: Queryable) {
    this.#client = client;
  }

  async #query(sql: string, params: readonly SqlParam[]) {
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

/** node-postgres pool behind the driver interface; a transaction takes one pooled connection. */
export class PostgresDriver implements SqlDriver {
  readonly dialect: Dialect = postgresDialect;
  readonly #pool: pg.Pool;
  readonly #session: PostgresSession;

  constructor(url: string, options: { max?: number } = {}) {
    this.#pool = new pg.Pool({ connectionString: url, max: options.max ?? 8, types });
    this.#pool.on('error', () => {
      // An idle connection that dies is replaced on next use; the query that needs it reports the error.
    });
    this.#session = new PostgresSession(this.#pool as unknown as Queryable);
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
      const result = await fn(new PostgresSession(client as unknown as Queryable));
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
}
