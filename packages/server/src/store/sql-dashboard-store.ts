import type { JsonObject } from '@simscope/protocol';
import type { DashboardRecord, DashboardStore } from './dashboard-store.js';
import type { SqlDriver, SqlRow } from './sql-driver.js';
import { num, strOrNull } from './sql-rows.js';

function dashboard(row: SqlRow): DashboardRecord {
  return {
    id: String(row.id),
    workspaceId: String(row.workspace_id),
    name: String(row.name),
    layout: JSON.parse(String(row.layout)) as JsonObject,
    createdBy: strOrNull(row.created_by),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

/** Dashboards over any SQL driver. */
export class SqlDashboardStore implements DashboardStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async createDashboard(d: DashboardRecord): Promise<boolean> {
    const inserted = await this.#db.run(
      `INSERT INTO dashboards (id, workspace_id, name, layout, created_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, name) DO NOTHING`,
      [d.id, d.workspaceId, d.name, JSON.stringify(d.layout), d.createdBy, d.createdAt, d.updatedAt],
    );
    return inserted > 0;
  }

  async listDashboards(workspaceId: string, limit: number): Promise<DashboardRecord[]> {
    const rows = await this.#db.all('SELECT * FROM dashboards WHERE workspace_id = ? ORDER BY name LIMIT ?', [
      workspaceId,
      limit,
    ]);
    return rows.map(dashboard);
  }

  async getDashboard(workspaceId: string, idOrName: string): Promise<DashboardRecord | undefined> {
    const row =
      (await this.#db.get('SELECT * FROM dashboards WHERE workspace_id = ? AND id = ?', [
        workspaceId,
        idOrName,
      ])) ??
      (await this.#db.get('SELECT * FROM dashboards WHERE workspace_id = ? AND name = ?', [
        workspaceId,
        idOrName,
      ]));
    return row ? dashboard(row) : undefined;
  }

  async updateDashboard(d: DashboardRecord): Promise<boolean> {
    const taken = await this.#db.get(
      'SELECT id FROM dashboards WHERE workspace_id = ? AND name = ? AND id <> ?',
      [d.workspaceId, d.name, d.id],
    );
    if (taken) return false;
    await this.#db.run(
      'UPDATE dashboards SET name = ?, layout = ?, updated_at = ? WHERE workspace_id = ? AND id = ?',
      [d.name, JSON.stringify(d.layout), d.updatedAt, d.workspaceId, d.id],
    );
    return true;
  }

  async deleteDashboard(workspaceId: string, id: string): Promise<boolean> {
    return (
      (await this.#db.run('DELETE FROM dashboards WHERE workspace_id = ? AND id = ?', [workspaceId, id])) > 0
    );
  }
}
