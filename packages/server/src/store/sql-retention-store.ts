import type { ExpiredRun, RetentionAction, RetentionRuleRecord, RetentionStore } from './retention-store.js';
import type { SqlDriver, SqlParam, SqlRow } from './sql-driver.js';
import { num, numOrNull, strOrNull } from './sql-rows.js';

function rule(row: SqlRow): RetentionRuleRecord {
  return {
    id: String(row.id),
    workspaceId: String(row.workspace_id),
    folder: strOrNull(row.folder),
    action: String(row.action) as RetentionAction,
    olderThanDays: num(row.older_than_days),
    buckets: numOrNull(row.buckets),
    createdAt: num(row.created_at),
  };
}

/** Retention rules over any SQL driver. */
export class SqlRetentionStore implements RetentionStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async createRule(r: RetentionRuleRecord): Promise<RetentionRuleRecord> {
    await this.#db.run(
      `INSERT INTO retention_rules (id, workspace_id, folder, action, older_than_days, buckets, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [r.id, r.workspaceId, r.folder, r.action, r.olderThanDays, r.buckets, r.createdAt],
    );
    return r;
  }

  async listRules(workspaceId?: string): Promise<RetentionRuleRecord[]> {
    const rows =
      workspaceId === undefined
        ? await this.#db.all('SELECT * FROM retention_rules ORDER BY pk')
        : await this.#db.all('SELECT * FROM retention_rules WHERE workspace_id = ? ORDER BY pk', [
            workspaceId,
          ]);
    return rows.map(rule);
  }

  async deleteRule(workspaceId: string, id: string): Promise<boolean> {
    return (
      (await this.#db.run('DELETE FROM retention_rules WHERE workspace_id = ? AND id = ?', [
        workspaceId,
        id,
      ])) > 0
    );
  }

  async expiredRuns(r: RetentionRuleRecord, before: number, limit: number): Promise<ExpiredRun[]> {
    const where = [
      'r.workspace_id = ?',
      "r.status <> 'running'",
      'COALESCE(r.ended_at, r.heartbeat_at, r.created_at) < ?',
    ];
    const params: SqlParam[] = [r.workspaceId, before];
    if (r.folder !== null) {
      // The folder and its subfolders, compared by prefix without LIKE so that no character of a path is special.
      const prefix = `${r.folder}/`;
      where.push('(f.path = ? OR substr(f.path, 1, ?) = ?)');
      params.push(r.folder, prefix.length, prefix);
    }
    if (r.action === 'downsample') {
      where.push('NOT EXISTS (SELECT 1 FROM retention_downsampled d WHERE d.run_pk = r.pk)');
    }
    params.push(limit);
    const rows = await this.#db.all(
      `SELECT r.pk, r.id, r.workspace_id FROM runs r JOIN folders f ON f.pk = r.folder_pk
       WHERE ${where.join(' AND ')} ORDER BY r.pk LIMIT ?`,
      params,
    );
    return rows.map((row) => ({
      pk: num(row.pk),
      id: String(row.id),
      workspaceId: String(row.workspace_id),
    }));
  }

  async markDownsampled(runPk: number, buckets: number, at: number): Promise<void> {
    await this.#db.run(
      `INSERT INTO retention_downsampled (run_pk, buckets, at) VALUES (?, ?, ?)
       ON CONFLICT (run_pk) DO UPDATE SET buckets = excluded.buckets, at = excluded.at`,
      [runPk, buckets, at],
    );
  }
}
