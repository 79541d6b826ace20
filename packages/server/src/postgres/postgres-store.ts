import { SqlStore } from '../store/sql-store.js';
import { PostgresDriver } from './postgres-driver.js';

/** The scale-out store: PostgreSQL through a connection pool. */
export class PostgresStore extends SqlStore {
  readonly backend = 'postgres' as const;

  /** Connects to `url` (`postgres://user:pass@host:port/db`). */
  static open(url: string, options: { poolSize?: number } = {}): PostgresStore {
    return new PostgresStore(new PostgresDriver(url, { max: options.poolSize ?? 8 }));
  }
}
