export {
  type ArtifactFilter,
  type ArtifactInfo,
  artifactNameFor,
  detectMimeType,
  type SaveManyOptions,
  type SaveOptions,
} from './artifacts.js';
export type { SendStats } from './batch-sender.js';
export {
  Client,
  type EventInfo,
  type FolderInfo,
  type MetricInfo,
  type MetricValues,
  type RunInfo,
} from './client.js';
export { type ConnectionOptions, type ResolvedConnection, resolveConfig } from './config.js';
export { ClientError } from './errors.js';
export type { RetryOptions } from './http-transport.js';
export {
  type CloseResult,
  type EventOptions,
  type InitOptions,
  type MetricOptions,
  Run,
  type RunConfig,
  withRun,
} from './run.js';
