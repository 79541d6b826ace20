/** Comparison operators of the run filter language; `matches` tests a regular expression. */
export const COMPARE_OPS = ['==', '!=', '<', '<=', '>', '>=', 'contains', 'not contains', 'matches'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

/** Aggregates of a metric that a filter can compare: `metrics.loss.last < 0.1`. */
export const METRIC_STATS = ['last', 'min', 'max', 'count', 'step'] as const;
export type MetricStat = (typeof METRIC_STATS)[number];

/** Plain run columns a filter can name. */
export const RUN_FIELDS = ['id', 'name', 'status', 'folder', 'user', 'description'] as const;
export type RunField = (typeof RUN_FIELDS)[number];

/** Run times a filter can compare, absolutely or relatively ("ago"). */
export const TIME_FIELDS = ['created', 'started', 'ended', 'heartbeat'] as const;
export type TimeField = (typeof TIME_FIELDS)[number];

export type FilterField =
  | { kind: 'run'; name: RunField }
  | { kind: 'time'; name: TimeField }
  | { kind: 'tags' }
  | { kind: 'metadata'; path: string[] }
  | { kind: 'metric'; name: string; stat: MetricStat };

export type FilterValue =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  /** A relative time such as `5h`: seconds before now. */
  | { kind: 'duration'; seconds: number }
  /** An absolute time such as `2026-01-31` or `2026-01-31T12:00:00Z`: microseconds since the epoch. */
  | { kind: 'timestamp'; micros: number };

export type FilterExpr =
  | { kind: 'and'; items: FilterExpr[] }
  | { kind: 'or'; items: FilterExpr[] }
  | { kind: 'not'; expr: FilterExpr }
  | { kind: 'compare'; field: FilterField; op: CompareOp; value: FilterValue }
  | { kind: 'exists'; field: FilterField }
  | { kind: 'hasTag'; tag: string };
