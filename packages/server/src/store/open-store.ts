import { join } from 'node:path';
import { PostgresStore } from '../postgres/postgres-store.js';
import { SqliteStore } from '../sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Opens the store a `--db` setting names: a `postgres://` URL, a SQLite file path, or the data dir's default. */
export async function openStore(db: string | undefined, dataDir: string): Promise<Store> {
  const store =
    db && /^postgres(ql)?:\/\//.test(db)
      ? PostgresStore.open(db)
      : SqliteStore.open(db ? db.replace(/^sqlite:(\/\/)?/, '') : join(dataDir, 'simscope.db'));
  await store.migrate();
  return store;
}
