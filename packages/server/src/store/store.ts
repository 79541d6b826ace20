import type {
  EventLevel,
  FilterExpr,
  MetricSeries,
  RunSortField,
  RunStatus,
  SeriesAxis,
  TokenScope,
} from '@simscope/protocol';

export type { Json, JsonObject } from '@simscope/protocol';

import type { JsonObject } from '@simscope/protocol';
import type { AlertStore } from './alert-store.js';
import type { ArtifactStore } from './artifact-store.js';
import type { TelemetryStore } from './telemetry-store.js';

export interface UserRecord {
  id: string;
  name: string;
  email: string | null;
  isAdmin: boolean;
  createdAt: number;
}

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: number;
}

export interface TokenRecord {
  id: string;
  userId: string;
  name: string;
  scopes: TokenScope[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface FolderRecord {
  pk: number;
  id: string;
  workspaceId: string;
  path: string;
  parentPk: number | null;
  description: string | null;
  tags: string[];
  metadata: JsonObject;
  createdAt: number;
}

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

export interface SeriesRecord {
  pk: number;
  runPk: number;
  name: string;
  count: number;
  lastStep: number | null;
  lastTime: number | null;
  lastTimestamp: number | null;
  lastValue: number | null;
  minValue: number | null;
  maxValue: number | null;
}

/** Points of one series, filled: every step, time and timestamp is known. */
export interface Points {
  steps: Float64Array;
  times: Float64Array;
  timestamps: Float64Array;
  values: Float64Array;
  /**
   * Set when every time is `(timestamp - timeOrigin) / 1e6`, computed so: the store then keeps no time column
   * and recomputes it bit for bit.
   */
  timeOrigin?: number | null;
}

/** A stored block of a series' points; columns that were not asked for are empty. */
export interface Block extends Points {
  pk: number;
}

/** A block as the block index knows it: its points on an axis lie in `[lo, hi]`. */
export interface BlockIndexEntry {
  pk: number;
  points: number;
  lo: number;
  hi: number;
}

export const BLOCK_COLUMNS = ['steps', 'times', 'timestamps', 'values'] as const;
export type BlockColumn = (typeof BLOCK_COLUMNS)[number];

export interface EventRecord {
  pk: number;
  timestamp: number;
  level: EventLevel;
  message: string;
}

export interface NewEvent {
  timestamp: number;
  level: EventLevel;
  message: string;
}

export interface EventQuery {
  search: string | null;
  levels: EventLevel[] | null;
  from: number | null;
  to: number | null;
  after: { timestamp: number; pk: number } | null;
  limit: number;
  descending: boolean;
}

/** Which metrics of a run to list, by name; every field optional. */
export interface SeriesListQuery {
  name?: string | null;
  /** Names that start with this text. */
  prefix?: string | null;
  /** Names that contain this text, ignoring case. */
  search?: string | null;
  /** Names that match this regular expression. */
  regex?: string | null;
  /** Names after this one (the previous page's last). */
  after?: string | null;
  limit?: number;
}

export interface FolderQuery {
  parent: string | null;
  prefix: string | null;
  after: string | null;
  limit: number;
}

/** When the run started and what time it is, in microseconds: what filling a batch needs besides the store. */
export interface MetricClock {
  startedAt: number;
  now: number;
}

export interface BatchKey {
  writer: string;
  seq: number;
}

/** Everything Simscope keeps, behind one interface with a SQLite and a PostgreSQL implementation. */
export interface Store extends ArtifactStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Alert definitions, states, history and notifications (alert-store.ts). */
  readonly alerts: AlertStore;
  /** Telemetry services, keys and records (telemetry-store.ts). */
  readonly telemetry: TelemetryStore;
  migrate(): Promise<void>;
  close(): Promise<void>;

  countUsers(): Promise<number>;
  createUser(user: UserRecord): Promise<void>;
  getUser(idOrName: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  deleteUser(id: string): Promise<boolean>;

  createWorkspace(workspace: WorkspaceRecord): Promise<void>;
  getWorkspace(idOrName: string): Promise<WorkspaceRecord | undefined>;
  listWorkspaces(): Promise<WorkspaceRecord[]>;
  deleteWorkspace(id: string): Promise<boolean>;
  addMember(workspaceId: string, userId: string, at: number): Promise<void>;
  removeMember(workspaceId: string, userId: string): Promise<boolean>;
  listMembers(workspaceId: string): Promise<UserRecord[]>;
  listUserWorkspaces(userId: string): Promise<WorkspaceRecord[]>;

  createToken(token: TokenRecord, hash: string): Promise<void>;
  findToken(hash: string): Promise<{ token: TokenRecord; user: UserRecord } | undefined>;
  listTokens(userId: string | null): Promise<TokenRecord[]>;
  revokeToken(id: string, at: number): Promise<boolean>;

  ensureFolder(workspaceId: string, path: string, at: number): Promise<FolderRecord>;
  getFolder(workspaceId: string, idOrPath: string): Promise<FolderRecord | undefined>;
  listFolders(workspaceId: string, query: FolderQuery): Promise<FolderRecord[]>;
  updateFolder(
    workspaceId: string,
    pk: number,
    changes: { description?: string | null; tags?: string[]; metadata?: JsonObject },
  ): Promise<void>;
  /** Deletes the folder; with `recursive`, its subfolders and all their runs too. Returns runs deleted. */
  deleteFolder(workspaceId: string, folder: FolderRecord, recursive: boolean): Promise<number>;
  folderIsEmpty(workspaceId: string, folder: FolderRecord): Promise<boolean>;

  createRun(run: NewRun): Promise<RunRecord>;
  getRun(workspaceId: string, idOrName: string): Promise<RunRecord | undefined>;
  listRuns(workspaceId: string, query: RunQuery): Promise<RunRecord[]>;
  /** The same page as `listRuns`, as columns of JSON built by the database (metadata and metrics on request). */
  runColumns(
    workspaceId: string,
    query: RunQuery,
    include: { metadata: boolean; metrics: readonly string[] },
  ): Promise<RunColumns>;
  updateRun(workspaceId: string, pk: number, changes: RunChanges, at: number): Promise<RunRecord>;
  deleteRun(workspaceId: string, pk: number): Promise<boolean>;
  /** Marks `running` runs whose heartbeat is older than their timeout as `lost`; returns them. */
  markLostRuns(now: number): Promise<RunRecord[]>;

  /**
   * Stores a metric batch once per (run, writer, seq), completing missing steps, times and timestamps from the
   * stored state (`fillPoints`). Returns false when the batch was stored before.
   */
  appendMetrics(
    runPk: number,
    key: BatchKey,
    series: readonly MetricSeries[],
    clock: MetricClock,
  ): Promise<boolean>;
  /** Metrics of a run in name order; all of them without a query. */
  listSeries(runPk: number, query?: SeriesListQuery): Promise<SeriesRecord[]>;
  /** Distinct metric names in the workspace, alphabetically, at most `limit`. */
  metricNames(workspaceId: string, limit: number): Promise<string[]>;
  getSeries(runPk: number, name: string): Promise<SeriesRecord | undefined>;
  /**
   * Blocks of a series that may hold points with `from <= axis < to`, ordered by their start on that axis;
   * only `columns` (and always values) are read.
   */
  readBlocks(
    seriesPk: number,
    axis: SeriesAxis,
    from: number,
    to: number,
    columns?: readonly BlockColumn[],
  ): Promise<Block[]>;
  /** The smallest and largest x of a series on an axis (from the blocks' bounds), null when it has no points. */
  axisRange(seriesPk: number, axis: SeriesAxis): Promise<[number, number] | null>;
  /**
   * The blocks `readBlocks` would read, from the block index alone: each one's pk, point count and bounds on the
   * axis, in the same order. Lets a reader count the work before it reads and read it in slices.
   */
  blockIndex(seriesPk: number, axis: SeriesAxis, from: number, to: number): Promise<BlockIndexEntry[]>;
  /** The blocks with these pks, in the order given (missing ones, deleted since, left out). */
  readBlocksByPk(pks: readonly number[], columns?: readonly BlockColumn[]): Promise<Block[]>;

  /** Stores an event batch once per (run, writer, seq); returns false when it was stored before. */
  appendEvents(runPk: number, key: BatchKey, events: readonly NewEvent[]): Promise<boolean>;
  listEvents(runPk: number, query: EventQuery): Promise<EventRecord[]>;
}
