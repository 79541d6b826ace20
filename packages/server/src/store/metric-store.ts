import type { MetricSeries, SeriesAxis } from '@simscope/protocol';

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

/** When the run started and what time it is, in microseconds: what filling a batch needs besides the store. */
export interface MetricClock {
  startedAt: number;
  now: number;
  /** The run's segment that writes the batch (1 when not given). */
  segment?: number;
}

/** Whether a read includes points a later segment's rewind superseded (default: hidden). */
export interface ReadOptions {
  superseded?: boolean;
}

export interface BatchKey {
  writer: string;
  seq: number;
}

/** A run's metric series and their blocks of points; part of `Store`. */
export interface MetricStore {
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
    options?: ReadOptions,
  ): Promise<Block[]>;
  /** The smallest and largest x of a series on an axis (from the blocks' bounds), null when it has no points. */
  axisRange(seriesPk: number, axis: SeriesAxis): Promise<[number, number] | null>;
  /**
   * The blocks `readBlocks` would read, from the block index alone: each one's pk, point count and bounds on the
   * axis, in the same order. Lets a reader count the work before it reads and read it in slices.
   */
  blockIndex(
    seriesPk: number,
    axis: SeriesAxis,
    from: number,
    to: number,
    options?: ReadOptions,
  ): Promise<BlockIndexEntry[]>;
  /** The blocks with these pks, in the order given (missing ones, deleted since, left out). */
  readBlocksByPk(
    pks: readonly number[],
    columns?: readonly BlockColumn[],
    options?: ReadOptions,
  ): Promise<Block[]>;
  /** Recomputes a series' summary (count, extremes, last point, mean) from its visible points, after a rewind. */
  recomputeSummary(seriesPk: number): Promise<void>;
  /** Replaces every point of a series by `points` (in step order), its summary recomputed; retention's downsampling. */
  replaceSeries(seriesPk: number, points: Points): Promise<void>;
}
