export type { AlertCreateInput as AlertOptions, AlertState } from '@simscope/protocol';
export type { SendStats } from './batch-sender.js';
export {
  type AlertInfo,
  type AlertTransitionInfo,
  Client,
  type EventInfo,
  type FolderInfo,
  type MetricInfo,
  type MetricValues,
  type RunAlertInfo,
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
