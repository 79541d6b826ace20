export * from './alerts.js';
export * from './api/index.js';
export * from './api/query-params.js';
export * from './api/route-schemas.js';
export * from './arrays.js';
export * from './artifacts.js';
export * from './durations.js';
export * from './error-codes.js';
export * from './errors.js';
export * from './filter/index.js';
export * from './limits.js';
export * from './metric-batch.js';
export * from './nvidia-smi.js';
export * from './paths.js';
export * from './query/list-filters.js';
export {
  escapeRegex,
  type LookupShape,
  lookups,
  lookupValueSchema,
  MAX_IN_VALUES,
  MAX_PATTERN_LENGTH,
  regexSchema,
  splitLookup,
  timeValueSchema,
} from './query/lookups.js';
export * from './schemas.js';
export * from './telemetry.js';
export * from './time.js';
export * from './user-pattern.js';
export * from './validation.js';
export * from './views.js';
