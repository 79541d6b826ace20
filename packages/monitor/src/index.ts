export {
  type AlertsClient,
  type AlertsListOptions,
  alertsList,
  type CommandContext,
  type CommandRun,
  describeAlert,
  type MonitorCommonOptions,
  type MonitorDiskOptions,
  type MonitorRunsOptions,
  type MonitorSystemOptions,
  monitorDisk,
  monitorRuns,
  monitorSystem,
  parseThreshold,
  smtpFromEnv,
} from './commands.js';
export {
  DiskSpaceMonitor,
  type DiskSpaceMonitorConfig,
  type DiskUsage,
  diskUsage,
  STORAGE_FILE_NAME,
} from './disk-space-monitor.js';
export { EmailNotifier, type SmtpSettings } from './email-notifier.js';
export { readGpus } from './gpu.js';
export {
  type LoopResult,
  type MetricSink,
  Monitor,
  type MonitorConfig,
  type NotifyResult,
} from './monitor.js';
export {
  CollectingNotifier,
  ConsoleNotifier,
  type EventSink,
  type Notifier,
  RunNotifier,
} from './notifier.js';
export { ProcessMonitor, type ProcessMonitorConfig, type ProcessTreeSample } from './process-monitor.js';
export { type RunsClient, RunsMonitor, type RunsMonitorConfig } from './runs-monitor.js';
export {
  SystemMonitor,
  type SystemMonitorConfig,
  type SystemSample,
  type SystemThresholds,
} from './system-monitor.js';
export { TsvFile } from './tsv-file.js';
export { formatBytes, parseSeconds, parseSize } from './units.js';
export {
  type MonitorWebhookPayload,
  WebhookNotifier,
  type WebhookNotifierConfig,
} from './webhook-notifier.js';
