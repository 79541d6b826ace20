import type { ArtifactCategory, JsonObject } from '@simscope/protocol';
import { SimscopeError } from '@simscope/protocol';
import type {
  ArtifactQuery,
  ArtifactRecord,
  ArtifactStore,
  FreeBlobResult,
  NewArtifact,
  SaveArtifactOptions,
} from './artifact-store.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql-driver.js';
import { isForeignKeyViolation, num, parseJson } from './sql-rows.js';

/** Artifact rows and the blob index over any SQL driver. */
export class SqlArtifactStore implements ArtifactStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  #artifact(row: SqlRow): ArtifactRecord {
    return {
      pk: num(row.pk),
      runPk: num(row.run_pk),
      workspaceId: String(row.workspace_id),
      name: String(row.name),
      category: String(row.category) as ArtifactCategory,
      mimeType: String(row.mime_type),
      size: num(row.size),
      sha256: String(row.sha256),
      metadata: parseJson<JsonObject>(row.metadata, {}),
      createdAt: num(row.created_at),
    };
  }

  #artifactSelect(d: SqlDriver['dialect']): string {
    return `SELECT pk, run_pk, workspace_id, name, category, mime_type, size, sha256,
      ${d.jsonOut('metadata')} AS metadata, created_at FROM artifacts`;
  }

  async #artifactBytes(db: SqlDriver, workspaceId: string): Promise<number> {
    const row = await db.get(
      `SELECT COALESCE(SUM(size), 0) AS n FROM blobs
       WHERE sha256 IN (SELECT sha256 FROM artifacts WHERE workspace_id = ?)`,
      [workspaceId],
    );
    return num(row?.n);
  }

  async saveArtifact(
    artifact: NewArtifact,
    options: SaveArtifactOptions,
  ): Promise<{ artifact: ArtifactRecord; replaced: ArtifactRecord | null }> {
    const d = this.#db.dialect;
    const lock = d.forUpdate;
    return this.#db.transaction(async (tx) => {
      // Saves into one workspace take turns when a quota applies, so that two cannot both fit the last bytes.
      if (options.quota !== null && lock) {
        await tx.get(`SELECT id FROM workspaces WHERE id = ?${lock}`, [artifact.workspaceId]);
      }
      const previousRow = await tx.get(`${this.#artifactSelect(d)} WHERE run_pk = ? AND name = ?${lock}`, [
        artifact.runPk,
        artifact.name,
      ]);
      const replaced = previousRow ? this.#artifact(previousRow) : null;
      if (options.quota !== null) {
        const used = await this.#artifactBytes(tx, artifact.workspaceId);
        const present = await tx.get(
          'SELECT 1 AS x FROM artifacts WHERE workspace_id = ? AND sha256 = ? LIMIT 1',
          [artifact.workspaceId, artifact.sha256],
        );
        let freed = 0;
        if (replaced && replaced.sha256 !== artifact.sha256) {
          const other = await tx.get(
            'SELECT 1 AS x FROM artifacts WHERE workspace_id = ? AND sha256 = ? AND pk <> ? LIMIT 1',
            [artifact.workspaceId, replaced.sha256, replaced.pk],
          );
          if (!other) freed = replaced.size;
        }
        const after = used - freed + (present ? 0 : artifact.size);
        if (after > options.quota) {
          throw new SimscopeError(
            'quota_exceeded',
            `saving '${artifact.name}' (${artifact.size} bytes) would exceed this workspace's artifact quota of ${options.quota} bytes (${used} used)`,
            { details: { field: 'size', quota: options.quota, used, size: artifact.size } },
          );
        }
      }
      // Insert-or-find the blob row and lock it; a collection that deleted it meanwhile makes us insert again.
      let created = false;
      for (;;) {
        const inserted = await tx.run(
          'INSERT INTO blobs (sha256, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
          [artifact.sha256, artifact.size, artifact.createdAt],
        );
        if (await tx.get(`SELECT sha256 FROM blobs WHERE sha256 = ?${lock}`, [artifact.sha256])) {
          created = inserted > 0;
          break;
        }
      }
      await options.place(created);
      const row = await this.#insertArtifact(tx, artifact);
      return { artifact: { ...artifact, pk: num(row?.pk) }, replaced };
    });
  }

  async #insertArtifact(tx: SqlDriver, artifact: NewArtifact): Promise<SqlRow | undefined> {
    const d = tx.dialect;
    try {
      return await tx.get(
        `INSERT INTO artifacts (run_pk, workspace_id, name, category, mime_type, size, sha256, metadata, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ${d.jsonParam()}, ?)
         ON CONFLICT (run_pk, name) DO UPDATE SET category = excluded.category, mime_type = excluded.mime_type,
           size = excluded.size, sha256 = excluded.sha256, metadata = excluded.metadata,
           created_at = excluded.created_at
         RETURNING pk`,
        [
          artifact.runPk,
          artifact.workspaceId,
          artifact.name,
          artifact.category,
          artifact.mimeType,
          artifact.size,
          artifact.sha256,
          JSON.stringify(artifact.metadata),
          artifact.createdAt,
        ],
      );
    } catch (error) {
      if (isForeignKeyViolation(error)) {
        throw new SimscopeError('not_found', 'the run was deleted while its artifact was saved', {
          cause: error,
        });
      }
      throw error;
    }
  }

  async getArtifact(runPk: number, name: string): Promise<ArtifactRecord | undefined> {
    const row = await this.#db.get(
      `${this.#artifactSelect(this.#db.dialect)} WHERE run_pk = ? AND name = ?`,
      [runPk, name],
    );
    return row && this.#artifact(row);
  }

  async listArtifacts(runPk: number, query: ArtifactQuery): Promise<ArtifactRecord[]> {
    const where = ['run_pk = ?'];
    const params: SqlParam[] = [runPk];
    // Byte order in both databases, so that pages and cursors agree.
    const key = this.#db.dialect.name === 'postgres' ? 'name COLLATE "C"' : 'name';
    // Lengths in code points, as both databases count them.
    const length = (text: string) => [...text].length;
    if (query.category !== null) {
      where.push('category = ?');
      params.push(query.category);
    }
    if (query.name !== null) {
      where.push('name = ?');
      params.push(query.name);
    }
    if (query.startsWith !== null) {
      where.push('substr(name, 1, ?) = ?');
      params.push(length(query.startsWith), query.startsWith);
    }
    if (query.contains !== null) {
      where.push(this.#db.dialect.name === 'postgres' ? 'strpos(name, ?) > 0' : 'instr(name, ?) > 0');
      params.push(query.contains);
    }
    if (query.endsWith !== null) {
      where.push('length(name) >= ? AND substr(name, length(name) - ? + 1) = ?');
      const n = length(query.endsWith);
      params.push(n, n, query.endsWith);
    }
    if (query.after !== null) {
      where.push(`${key} > ?`);
      params.push(query.after);
    }
    params.push(query.limit);
    const rows = await this.#db.all(
      `${this.#artifactSelect(this.#db.dialect)} WHERE ${where.join(' AND ')} ORDER BY ${key} LIMIT ?`,
      params,
    );
    return rows.map((r) => this.#artifact(r));
  }

  async deleteArtifact(runPk: number, name: string): Promise<boolean> {
    return (await this.#db.run('DELETE FROM artifacts WHERE run_pk = ? AND name = ?', [runPk, name])) > 0;
  }

  artifactBytes(workspaceId: string): Promise<number> {
    return this.#artifactBytes(this.#db, workspaceId);
  }

  async hasBlob(sha256: string, workspaceId?: string): Promise<boolean> {
    const row =
      workspaceId === undefined
        ? await this.#db.get('SELECT 1 AS x FROM blobs WHERE sha256 = ?', [sha256])
        : await this.#db.get('SELECT 1 AS x FROM artifacts WHERE workspace_id = ? AND sha256 = ? LIMIT 1', [
            workspaceId,
            sha256,
          ]);
    return row !== undefined;
  }

  async knownBlobs(sha256s: readonly string[]): Promise<Set<string>> {
    const known = new Set<string>();
    for (let start = 0; start < sha256s.length; start += 500) {
      const part = sha256s.slice(start, start + 500);
      const rows = await this.#db.all(
        `SELECT sha256 FROM blobs WHERE sha256 IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const row of rows) known.add(String(row.sha256));
    }
    return known;
  }

  async queuedBlobs(limit: number): Promise<string[]> {
    const rows = await this.#db.all('SELECT sha256 FROM blob_unref ORDER BY sha256 LIMIT ?', [limit]);
    return rows.map((r) => String(r.sha256));
  }

  async queueUnreferencedBlobs(): Promise<number> {
    return this.#db.run(
      `INSERT INTO blob_unref (sha256) SELECT b.sha256 FROM blobs b
       WHERE NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.sha256 = b.sha256)
       AND NOT EXISTS (SELECT 1 FROM array_chunks c WHERE c.sha256 = b.sha256) ON CONFLICT DO NOTHING`,
    );
  }

  async freeBlob(sha256: string, remove: () => Promise<void>): Promise<FreeBlobResult> {
    const postgres = this.#db.dialect.name === 'postgres';
    return this.#db.transaction(async (tx) => {
      const row = await tx.get(
        `SELECT sha256 FROM blobs WHERE sha256 = ?${postgres ? ' FOR UPDATE SKIP LOCKED' : ''}`,
        [sha256],
      );
      if (!row) {
        if (postgres && (await tx.get('SELECT 1 AS x FROM blobs WHERE sha256 = ?', [sha256]))) return 'busy';
        await tx.run('DELETE FROM blob_unref WHERE sha256 = ?', [sha256]);
        return 'gone';
      }
      await tx.run('DELETE FROM blob_unref WHERE sha256 = ?', [sha256]);
      // A new statement, so it sees every artifact committed before the lock was taken.
      if (await tx.get('SELECT 1 AS x FROM artifacts WHERE sha256 = ? LIMIT 1', [sha256])) return 'in_use';
      if (await tx.get('SELECT 1 AS x FROM array_chunks WHERE sha256 = ? LIMIT 1', [sha256])) return 'in_use';
      await remove();
      await tx.run('DELETE FROM blobs WHERE sha256 = ?', [sha256]);
      return 'freed';
    });
  }
}
