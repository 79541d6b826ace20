export {
  COMPARE_OPS,
  type CompareOp,
  type FilterExpr,
  type FilterField,
  type FilterValue,
  METRIC_STATS,
  type MetricStat,
  RUN_FIELDS,
  type RunField,
  TIME_FIELDS,
  type TimeField,
} from './filter-ast.js';
export { formatFilter } from './filter-formatter.js';
export { MAX_DURATION_SECONDS } from './filter-lexer.js';
export { parseFilter } from './filter-parser.js';
