export type {
  AlertCreateInput as AlertOptions,
  AlertState,
  EventFilters,
  FolderFilters,
  ListQuery,
  MetricNameFilters,
  RunFilters,
  TimeInput,
} from '@simscope/protocol';
export type { ArrayCellSeries } from './array-series.js';
export {
  type ArrayData,
  type HistogramInput,
  histogramArray,
  type LogArrayOptions,
  type LogHistogramOptions,
  type NumericArray,
} from './arrays.js';
export { artifactNameFor, detectMimeType } from './artifact-names.js';
export type {
  ArtifactFilter,
  ArtifactInfo,
  SaveManyOptions,
  SaveOptions,
} from './artifacts.js';
export type { SendStats } from './batch-sender.js';
export {
  type AlertInfo,
  type AlertTransitionInfo,
  Client,
  type ClientOptions,
  type EventInfo,
  type FolderInfo,
  type MetricInfo,
  type MetricValues,
  type RunAlertInfo,
  type RunInfo,
} from './client.js';
export {
  type ConnectionOptions,
  findProjectFile,
  type ResolvedConnection,
  resolveConfig,
  userConfigFile,
} from './config.js';
export { ClientError } from './errors.js';
export {
  type CallInput,
  HttpTransport,
  type RequestOptions,
  type RetryOptions,
} from './http-transport.js';
export { type LogCaptureOptions, parseLogLine, pinoLevel } from './log-capture.js';
export { type ArrowTable, loadArrow } from './query/arrow.js';
export type { Column, ColumnKind, ColumnSpec } from './query/columns.js';
export { ListResult, type ListState } from './query/list-result.js';
export {
  type GetOptions,
  KeyedLister,
  type KeyedListSpec,
  type ListAllOptions,
  Lister,
  type ListOptions,
  type ListSpec,
} from './query/lister.js';
export type { RunAlertKey, RunItemKey } from './query/lists.js';
export type { MetricTableOptions, RunSelection } from './query/metric-reader.js';
export { type MetricRow, MetricTable } from './query/metric-table.js';
export {
  formatProgress,
  type ListProgress,
  ProgressBar,
  type ProgressCallback,
  type ProgressOptions,
  type ProgressStream,
} from './query/progress.js';
export type { WriteTarget } from './query/writers.js';
export { Run } from './run.js';
export type { CloseResult, EventOptions, InitOptions, MetricOptions, RunConfig } from './run-options.js';
export { withRun } from './run-scope.js';
export type { ReconnectOptions } from './run-segments.js';
export { type SchedulerInfo, schedulerInfo } from './scheduler-info.js';
export type { SyncedRun, SyncOptions } from './spool-upload.js';
