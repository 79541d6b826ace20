import type { RunView } from '../views.js';
import type { WorkspaceRole } from './routes-access.js';

/** A page of a listing: its items and the cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** `GET /version`. */
export interface VersionView {
  name: 'simscope';
  version: string;
  api: 'v1';
  store: string;
}

/** A user as the admin routes return it. */
export interface UserView {
  id: string;
  name: string;
  email: string | null;
  admin: boolean;
  created: number;
}

export interface WorkspaceView {
  id: string;
  name: string;
  created: number;
}

/** A retention rule of a workspace (`folder` null: all of it). */
export interface RetentionRuleView {
  id: string;
  workspace: string;
  folder: string | null;
  action: 'delete' | 'downsample';
  olderThanDays: number;
  buckets: number | null;
  created: number;
}

/** A token as the admin routes return it (never its secret, except once when created). */
export interface TokenView {
  id: string;
  user: string;
  name: string;
  scopes: string[];
  created: number;
  expires: number | null;
  revoked: number | null;
}

/** `GET /me`: who the token belongs to and the workspaces it may pick. */
export interface Me {
  user: { id: string; name: string; email: string | null; admin: boolean };
  token: { id: string; name: string; scopes: string[]; expires: number | null };
  /** The current workspace and the caller's role in it. */
  workspace: { id: string; name: string; role: WorkspaceRole };
  workspaces: { id: string; name: string }[];
}

/** `GET /admin/process`: this server process's memory and uptime. */
export interface ProcessView {
  pid: number;
  uptime: number;
  gc: boolean;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
}

/** A change that browsers watching a workspace are told about (`GET /live`). */
export type LiveMessage =
  | { type: 'run'; run: RunView }
  | { type: 'deleted'; run: string }
  | { type: 'metrics'; run: string; names: string[] }
  | { type: 'events'; run: string }
  | { type: 'folder'; path: string };

/** Why the server ended a live stream for good (`event: closed`): the token or membership no longer lets it read. */
export interface LiveClosed {
  reason: 'token_revoked' | 'token_expired' | 'membership_removed' | 'user_deleted';
  message: string;
}

/**
 * M4 buckets over `[from, to)`: per bucket the count and the points with the least and greatest x and value;
 * columns of equal length (NaN where a bucket is empty). `C` is how a column is held.
 */
export interface Buckets<C = ArrayLike<number>> {
  from: number;
  to: number;
  count: C;
  firstX: C;
  firstY: C;
  lastX: C;
  lastY: C;
  minX: C;
  minY: C;
  maxX: C;
  maxY: C;
}

/** A JSON number column: non-finite values are the strings "NaN", "Infinity", "-Infinity". */
type JsonColumn = (number | string)[];

/** `GET /runs/:run/metrics/downsample` in JSON (msgpack carries the columns as float64 bytes). */
export interface DownsampleView extends Buckets<JsonColumn> {
  name: string;
  x: 'step' | 'time' | 'timestamp';
}

/** `POST /metrics/downsample` in JSON: each run's buckets on one grid, or why it has none. */
export interface DownsampleRunsView {
  name: string;
  x: 'step' | 'time' | 'timestamp';
  from: number;
  to: number;
  runs: ({ run: string } & (Buckets<JsonColumn> | { error: { code: 'not_found'; message: string } }))[];
}

/** One group of `POST /metrics/aggregate`: per bucket, over the runs with a point in it. */
export interface AggregateGroupView {
  /** The group's value: a tag, a folder path, or a metadata value as text (strings as they are, others as JSON). */
  value: string | null;
  /** The ids of the group's runs. */
  runs: string[];
  /** Runs with a point in the bucket. */
  n: number[];
  /** Mean and (population) standard deviation of the runs' last values in the bucket. */
  mean: JsonColumn;
  std: JsonColumn;
  /** The least of the runs' minima and the greatest of their maxima in the bucket. */
  min: JsonColumn;
  max: JsonColumn;
}

/** `POST /metrics/aggregate`: groups in the order of their values (runs without the key last, value null). */
export interface AggregateView {
  name: string;
  x: 'step' | 'time' | 'timestamp';
  by: string;
  from: number;
  to: number;
  buckets: number;
  groups: AggregateGroupView[];
  /** Runs not found, or without the metric. */
  missing: { run: string; error: { code: 'not_found'; message: string } }[];
}

/** A saved compare-page layout (`/dashboards`); open it at `/compare?dashboard=<id>`. */
export interface DashboardView {
  id: string;
  name: string;
  layout: {
    runs?: string[];
    metric?: string | null;
    group?: string | null;
    band?: 'std' | 'range';
    x?: 'step' | 'time' | 'timestamp';
    log?: boolean;
    collapsed?: string[];
  };
  createdBy: string | null;
  /** Microseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

/** `GET /runs/:run/metrics/series` in JSON: the asked columns of one page of points. */
export interface SeriesPageView {
  name: string;
  steps?: number[];
  times?: number[];
  timestamps?: number[];
  values?: JsonColumn;
  next: string | null;
}

/** `GET /ready`: whether this server should get traffic; each part is false when it did not answer. */
export interface ReadyView {
  ok: boolean;
  database: boolean;
  migrations: boolean;
  blobs: boolean;
  /** True once the server is shutting down (SIGTERM): it finishes what it has and takes nothing new. */
  draining: boolean;
}
