import type { EventLevel, RunStatus } from './schemas.js';

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A number as JSON carries it: non-finite values are the strings "NaN", "Infinity", "-Infinity". */
export type JsonNumber = number | string;

/** A run as the API returns it; times are microseconds since the epoch, durations seconds. */
export interface RunView {
  id: string;
  name: string;
  folder: string;
  user: string | null;
  description: string | null;
  tags: string[];
  metadata: JsonObject;
  system: JsonObject;
  status: RunStatus;
  created: number;
  started: number | null;
  ended: number | null;
  heartbeat: number | null;
  heartbeatTimeout: number | null;
  abort: { requested: boolean; at: number | null; reason: string | null };
}

/** One metric of a run: point count, the point at the largest step, and value extremes. */
export interface SeriesView {
  name: string;
  count: number;
  last: { step: number | null; time: number | null; timestamp: number | null; value: JsonNumber | null };
  min: JsonNumber | null;
  max: JsonNumber | null;
}

export interface EventView {
  timestamp: number;
  time: string;
  level: EventLevel;
  message: string;
  /** The run segment that logged it; only on runs that restarted (run segments). */
  segment?: number;
}

export interface FolderView {
  id: string;
  path: string;
  description: string | null;
  tags: string[];
  metadata: JsonObject;
  created: number;
}

/** A page of runs as columns (`GET /run-table`), newest first: what a table of many runs needs and nothing more. */
export interface RunTablePage {
  count: number;
  id: string[];
  name: string[];
  status: string[];
  folder: string[];
  user: (string | null)[];
  tags: string[][];
  created: number[];
  started: (number | null)[];
  /** When each run ended; for a `lost` run, its last heartbeat (when it stopped reporting), so durations stop. */
  ended: (number | null)[];
  /** One array per requested column (`metadata.KEY…` or `metrics.NAME`), null where a run has no value. */
  columns: Record<string, Json[]>;
  /** Top-level metadata keys of the first 1000 runs, sorted (first page only; empty on later pages). */
  metadataKeys: string[];
  /** Leaf paths of the same runs' metadata, nested objects flattened with dots (`mesh.nx`), sorted (first page only). */
  metadataPaths?: string[];
  /** Runs matching the filter in each folder (its own runs, not its subfolders'), on request only. */
  folderCounts?: Record<string, number>;
  /** Metric names of the workspace (on request only). */
  metricNames?: string[];
  next: string | null;
}

/** The columns of M4 downsampling buckets, in the order the API documents them. */
export const M4_COLUMNS = [
  'count',
  'firstX',
  'firstY',
  'lastX',
  'lastY',
  'minX',
  'minY',
  'maxX',
  'maxY',
] as const;
