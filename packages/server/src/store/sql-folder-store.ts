import { randomBytes } from 'node:crypto';
import type { JsonObject } from '@simscope/protocol';
import type { FolderChanges, FolderQuery, FolderRecord, FolderStore } from './folder-store.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql-driver.js';
import { num, numOrNull, parseJson, strOrNull } from './sql-rows.js';

function newFolderId(): string {
  return randomBytes(12).toString('base64url');
}

function folderSelect(d: SqlDriver['dialect']): string {
  return `SELECT pk, id, workspace_id, path, parent_pk, description, ${d.jsonOut('tags')} AS tags,
        ${d.jsonOut('metadata')} AS metadata, created_at FROM folders`;
}

/** A `folders` row as a record. */
function folderFromRow(row: SqlRow): FolderRecord {
  return {
    pk: num(row.pk),
    id: String(row.id),
    workspaceId: String(row.workspace_id),
    path: String(row.path),
    parentPk: numOrNull(row.parent_pk),
    description: strOrNull(row.description),
    tags: parseJson<string[]>(row.tags, []),
    metadata: parseJson<JsonObject>(row.metadata, {}),
    createdAt: num(row.created_at),
  };
}

/** The folder at `path` inside `tx`, created with its missing parents. */
export async function ensureFolderIn(
  tx: SqlDriver,
  workspaceId: string,
  path: string,
  at: number,
): Promise<FolderRecord> {
  const existing = await tx.get(`${folderSelect(tx.dialect)} WHERE workspace_id = ? AND path = ?`, [
    workspaceId,
    path,
  ]);
  if (existing) return folderFromRow(existing);
  const d = tx.dialect;
  const segments = path === '/' ? [] : path.slice(1).split('/');
  let parentPk: number | null = null;
  for (let depth = 0; depth <= segments.length; depth++) {
    const prefix = `/${segments.slice(0, depth).join('/')}`;
    await tx.run(
      `INSERT INTO folders (id, workspace_id, path, parent_pk, description, tags, metadata, created_at)
       VALUES (?, ?, ?, ?, NULL, ${d.jsonParam()}, ${d.jsonParam()}, ?) ON CONFLICT (workspace_id, path) DO NOTHING`,
      [newFolderId(), workspaceId, prefix, parentPk, '[]', '{}', at],
    );
    const row = await tx.get('SELECT pk FROM folders WHERE workspace_id = ? AND path = ?', [
      workspaceId,
      prefix,
    ]);
    parentPk = num(row?.pk);
  }
  const row = await tx.get(`${folderSelect(tx.dialect)} WHERE workspace_id = ? AND path = ?`, [
    workspaceId,
    path,
  ]);
  if (!row) throw new Error(`folder ${path} is missing right after it was written`);
  return folderFromRow(row);
}

/** Folders over any SQL driver. */
export class SqlFolderStore implements FolderStore {
  readonly #db: SqlDriver;
  readonly #folderSelect: string;

  constructor(db: SqlDriver) {
    this.#db = db;
    this.#folderSelect = folderSelect(db.dialect);
  }

  async ensureFolder(workspaceId: string, path: string, at: number): Promise<FolderRecord> {
    return this.#db.transaction((tx) => ensureFolderIn(tx, workspaceId, path, at));
  }

  async getFolder(workspaceId: string, idOrPath: string): Promise<FolderRecord | undefined> {
    const row = await this.#db.get(`${this.#folderSelect} WHERE workspace_id = ? AND (id = ? OR path = ?)`, [
      workspaceId,
      idOrPath,
      idOrPath,
    ]);
    return row && folderFromRow(row);
  }

  async listFolders(workspaceId: string, query: FolderQuery): Promise<FolderRecord[]> {
    const where = ['workspace_id = ?'];
    const params: SqlParam[] = [workspaceId];
    if (query.parent !== null) {
      where.push('parent_pk = (SELECT pk FROM folders WHERE workspace_id = ? AND path = ?)');
      params.push(workspaceId, query.parent);
    }
    if (query.prefix !== null && query.prefix !== '/') {
      where.push('(path = ? OR substr(path, 1, ?) = ?)');
      params.push(query.prefix, query.prefix.length + 1, `${query.prefix}/`);
    }
    if (query.after !== null) {
      where.push('path > ?');
      params.push(query.after);
    }
    params.push(query.limit);
    const rows = await this.#db.all(
      `${this.#folderSelect} WHERE ${where.join(' AND ')} ORDER BY path LIMIT ?`,
      params,
    );
    return rows.map((r) => folderFromRow(r));
  }

  async updateFolder(workspaceId: string, pk: number, changes: FolderChanges): Promise<void> {
    const d = this.#db.dialect;
    const sets: string[] = [];
    const params: SqlParam[] = [];
    if (changes.description !== undefined) {
      sets.push('description = ?');
      params.push(changes.description);
    }
    if (changes.tags !== undefined) {
      sets.push(`tags = ${d.jsonParam()}`);
      params.push(JSON.stringify(changes.tags));
    }
    if (changes.metadata !== undefined) {
      sets.push(`metadata = ${d.jsonParam()}`);
      params.push(JSON.stringify(changes.metadata));
    }
    if (sets.length === 0) return;
    await this.#db.run(`UPDATE folders SET ${sets.join(', ')} WHERE workspace_id = ? AND pk = ?`, [
      ...params,
      workspaceId,
      pk,
    ]);
  }

  #subtree(folder: FolderRecord): { sql: string; params: SqlParam[] } {
    if (folder.path === '/') return { sql: 'workspace_id = ?', params: [folder.workspaceId] };
    return {
      sql: 'workspace_id = ? AND (path = ? OR substr(path, 1, ?) = ?)',
      params: [folder.workspaceId, folder.path, folder.path.length + 1, `${folder.path}/`],
    };
  }

  async folderIsEmpty(workspaceId: string, folder: FolderRecord): Promise<boolean> {
    const child = await this.#db.get(
      'SELECT 1 AS x FROM folders WHERE workspace_id = ? AND parent_pk = ? LIMIT 1',
      [workspaceId, folder.pk],
    );
    if (child) return false;
    const run = await this.#db.get(
      'SELECT 1 AS x FROM runs WHERE workspace_id = ? AND folder_pk = ? LIMIT 1',
      [workspaceId, folder.pk],
    );
    return !run;
  }

  async deleteFolder(workspaceId: string, folder: FolderRecord, recursive: boolean): Promise<number> {
    if (folder.workspaceId !== workspaceId) return 0;
    return this.#db.transaction(async (tx) => {
      const tree = recursive
        ? this.#subtree(folder)
        : { sql: 'workspace_id = ? AND pk = ?', params: [workspaceId, folder.pk] };
      const counted = await tx.get(
        `SELECT COUNT(*) AS n FROM runs WHERE folder_pk IN (SELECT pk FROM folders WHERE ${tree.sql})`,
        tree.params,
      );
      await tx.run(
        `DELETE FROM runs WHERE folder_pk IN (SELECT pk FROM folders WHERE ${tree.sql})`,
        tree.params,
      );
      if (folder.path === '/') {
        await tx.run("DELETE FROM folders WHERE workspace_id = ? AND path <> '/'", [workspaceId]);
      } else {
        await tx.run(`DELETE FROM folders WHERE ${tree.sql}`, tree.params);
      }
      return num(counted?.n);
    });
  }
}
