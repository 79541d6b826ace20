/** Limits the server enforces on every input; clients check the same numbers before sending. */
export const LIMITS = {
  /** Run, metric, folder segment and artifact base names. */
  nameLength: 255,
  /** Metadata keys (each segment of a dotted path). */
  keyLength: 255,
  /** Metadata serialised as JSON, per run or folder. */
  metadataBytes: 256 * 1024,
  /** Levels of objects and arrays in free JSON (metadata, telemetry fields); the metadata object is level 1. */
  jsonDepth: 64,
  /**
   * Largest timestamp in microseconds since the epoch (2^53 − 1, in the year 2255), in JSON and msgpack alike;
   * steps are whole numbers within ±(2^53 − 1).
   */
  maxMicros: Number.MAX_SAFE_INTEGER,
  tagLength: 128,
  tagsPerRun: 256,
  descriptionLength: 64 * 1024,
  folderDepth: 32,
  folderPathLength: 1024,
  eventMessageLength: 64 * 1024,
  eventsPerBatch: 100_000,
  seriesPerBatch: 10_000,
  pointsPerBatch: 1_000_000,
  writerIdLength: 64,
  /** Default maximum request body, in bytes; the server's `bodyLimit` setting overrides it. */
  bodyBytes: 64 * 1024 * 1024,
  pageSize: 1000,
  seriesPageSize: 1_000_000,
  downsampleBuckets: 100_000,
  /** Runs in one downsampling request of many runs. */
  downsampleRuns: 1000,
  /** Buckets of all runs together in one downsampling request (each bucket is 72 bytes out). */
  downsampleTotalBuckets: 2_000_000,
} as const;
