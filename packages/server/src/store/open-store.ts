import { statSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
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

/** One line per part of the data dir (the dir, the SQLite file) that users other than the server's may read. */
export function dataDirWarnings(dataDir: string): string[] {
  const warnings: string[] = [];
  for (const [path, private_] of [
    [dataDir, '700'],
    [join(dataDir, 'simscope.db'), '600'],
  ] as const) {
    let mode: number;
    try {
      mode = statSync(path).mode & 0o777;
    } catch {
      continue;
    }
    if (mode & 0o077) {
      warnings.push(
        `${path} is open to other users (mode ${mode.toString(8)}); chmod ${private_} it to keep workspaces private`,
      );
    }
  }
  return warnings;
}
