import { SqlStore } from '../sql-store.js';
import { PostgresDriver } from './postgres-driver.js';

/** The scale-out store: PostgreSQL through a connection pool. */
export class PostgresStore extends SqlStore {
  readonly backend = 'postgres' as const;
  /** The URL it was opened with, for connections of their own (LISTEN, advisory-lock leases). */
  url = '';

  /**
   * Connects to `url` (`postgres://user:pass@host:port/db`). A statement that applies a user's regular
   * expression is cancelled after `regexTimeoutMs` (default 2000).
   */
  static open(url: string, options: { poolSize?: number; regexTimeoutMs?: number } = {}): PostgresStore {
    const store = new PostgresStore(
      new PostgresDriver(url, { max: options.poolSize ?? 8, regexTimeoutMs: options.regexTimeoutMs }),
    );
    store.url = url;
    return store;
  }
}
