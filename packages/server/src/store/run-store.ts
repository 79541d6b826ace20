import type { FilterExpr, JsonObject, RunSortField, RunStatus } from '@simscope/protocol';

export interface RunRecord {
  pk: number;
  id: string;
  workspaceId: string;
  name: string;
  folder: string;
  userId: string | null;
  userName: string | null;
  description: string | null;
  tags: string[];
  metadata: JsonObject;
  system: JsonObject;
  status: RunStatus;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  heartbeatAt: number | null;
  heartbeatTimeout: number | null;
  abortAt: number | null;
  abortReason: string | null;
  /** The segment now writing (1 until a restart appends one; run-segments). */
  segment: number;
}

export interface NewRun {
  id: string;
  workspaceId: string;
  name: string;
  folder: string;
  userId: string;
  description: string | null;
  tags: string[];
  metadata: JsonObject;
  system: JsonObject;
  status: RunStatus;
  createdAt: number;
  startedAt: number | null;
  heartbeatAt: number | null;
  heartbeatTimeout: number | null;
}

/** Columns of a run that an update may set; absent fields keep their value. */
export interface RunChanges {
  name?: string;
  folder?: string;
  description?: string | null;
  tags?: string[];
  metadata?: JsonObject;
  system?: JsonObject;
  status?: RunStatus;
  startedAt?: number | null;
  endedAt?: number | null;
  heartbeatAt?: number | null;
  heartbeatTimeout?: number | null;
  abortAt?: number | null;
  abortReason?: string | null;
}

/** A page of runs as columns, each column the JSON array text of its values in the page's order. */
export interface RunColumns {
  count: number;
  id: string;
  name: string;
  folder: string;
  /** The name of the user who made each run (null where unknown). */
  user: string;
  status: string;
  tags: string;
  created: string;
  started: string;
  ended: string;
  /** The runs' metadata objects; null unless asked for. */
  metadata: string | null;
  /** The last value of each asked-for metric (null where a run has none; NaN and infinities as strings). */
  metrics: string[];
  /** Sort key and pk of the page's last run, when more runs follow it. */
  more: { key: string | number; pk: number } | null;
}

export interface RunQuery {
  where: FilterExpr | null;
  sort: RunSortField;
  descending: boolean;
  /** Sort key and id of the last row of the previous page. */
  after: { key: string | number | null; pk: number } | null;
  limit: number;
  now: number;
}

/** Which summary of a metric a run-table column holds (`metrics[i]` with `stats[i]`, `last` when not given). */
const RUN_COLUMN_STATS = ['last', 'min', 'max', 'mean'] as const;
export type RunColumnStat = (typeof RUN_COLUMN_STATS)[number];

/** Runs of a workspace; part of `Store`. */
export interface RunStore {
  /** Creates the run, and its folder with missing parents; `conflict` when the name or id is taken. */
  createRun(run: NewRun): Promise<RunRecord>;
  /** The run with this id, else the one with this name. */
  getRun(workspaceId: string, idOrName: string): Promise<RunRecord | undefined>;
  listRuns(workspaceId: string, query: RunQuery): Promise<RunRecord[]>;
  /** The same page as `listRuns`, as columns of JSON built by the database (metadata and metrics on request). */
  runColumns(
    workspaceId: string,
    query: RunQuery,
    include: { metadata: boolean; metrics: readonly string[]; stats?: readonly RunColumnStat[] },
  ): Promise<RunColumns>;
  /** How many runs matching `where` each folder holds directly (folders with none left out). */
  folderCounts(
    workspaceId: string,
    where: FilterExpr | null,
    now: number,
  ): Promise<{ path: string; runs: number }[]>;
  /** Sets `changes` (a new folder is created) and returns the run; `not_found` when it is gone. */
  updateRun(workspaceId: string, pk: number, changes: RunChanges, at: number): Promise<RunRecord>;
  deleteRun(workspaceId: string, pk: number): Promise<boolean>;
  /** Marks `running` runs whose heartbeat is older than their timeout as `lost`; returns them. */
  markLostRuns(now: number): Promise<RunRecord[]>;
}
