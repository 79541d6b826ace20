import type { JsonObject } from '@simscope/protocol';

/** A saved compare-page layout of a workspace, shared by link. */
export interface DashboardRecord {
  id: string;
  workspaceId: string;
  name: string;
  layout: JsonObject;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Dashboards of a workspace; part of `Store`. Names are unique within a workspace. */
export interface DashboardStore {
  /** Stores a new dashboard; false when the workspace has one of that name already. */
  createDashboard(d: DashboardRecord): Promise<boolean>;
  /** A workspace's dashboards by name, at most `limit`. */
  listDashboards(workspaceId: string, limit: number): Promise<DashboardRecord[]>;
  getDashboard(workspaceId: string, idOrName: string): Promise<DashboardRecord | undefined>;
  /** Saves the record's name, layout and updatedAt; false when another dashboard holds the name. */
  updateDashboard(d: DashboardRecord): Promise<boolean>;
  deleteDashboard(workspaceId: string, id: string): Promise<boolean>;
}
