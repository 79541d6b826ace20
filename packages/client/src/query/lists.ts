import {
  ALERT_LIST,
  type AlertFilters,
  type AlertListItem,
  ARTIFACT_LIST,
  type ArtifactFilters,
  type ArtifactView,
  EVENT_LIST,
  type EventFilters,
  type EventView,
  FOLDER_LIST,
  type FolderFilters,
  type FolderView,
  METRIC_NAME_LIST,
  type MetricNameFilters,
  RUN_ALERT_LIST,
  RUN_LIST,
  type RunAlertFilters,
  type RunAlertView,
  type RunFilters,
  type RunView,
  type SeriesView,
  TELEMETRY_RECORD_LIST,
  type TelemetryRecordFilters,
  type TelemetryRecordView,
} from '@simscope/protocol';
import { toFloat } from './columns.js';
import type { ListSpec } from './lister.js';

// Each list of the API is its protocol definition plus the columns of its rows; a new list is one more of these
// and one `Lister` field in client.ts.

export const RUNS: ListSpec<RunFilters, unknown, RunView> = {
  ...(RUN_LIST as ListSpec<RunFilters, unknown, RunView>),
  columns: [
    { name: 'id', kind: 'string', value: (r) => r.id },
    { name: 'name', kind: 'string', value: (r) => r.name },
    { name: 'folder', kind: 'string', value: (r) => r.folder },
    { name: 'user', kind: 'string', value: (r) => r.user },
    { name: 'description', kind: 'string', value: (r) => r.description },
    { name: 'status', kind: 'category', value: (r) => r.status },
    { name: 'tags', kind: 'strings', value: (r) => r.tags },
    { name: 'created', kind: 'time', value: (r) => r.created },
    { name: 'started', kind: 'time', value: (r) => r.started },
    { name: 'ended', kind: 'time', value: (r) => r.ended },
    { name: 'heartbeat', kind: 'time', value: (r) => r.heartbeat },
    { name: 'heartbeatTimeout', kind: 'float', value: (r) => r.heartbeatTimeout },
    { name: 'abortRequested', kind: 'bool', value: (r) => r.abort.requested },
    { name: 'metadata', kind: 'object', value: (r) => r.metadata },
    { name: 'system', kind: 'object', value: (r) => r.system },
  ],
};

export const FOLDERS: ListSpec<FolderFilters, unknown, FolderView> = {
  ...(FOLDER_LIST as ListSpec<FolderFilters, unknown, FolderView>),
  columns: [
    { name: 'id', kind: 'string', value: (f) => f.id },
    { name: 'path', kind: 'string', value: (f) => f.path },
    { name: 'description', kind: 'string', value: (f) => f.description },
    { name: 'tags', kind: 'strings', value: (f) => f.tags },
    { name: 'created', kind: 'time', value: (f) => f.created },
    { name: 'metadata', kind: 'object', value: (f) => f.metadata },
  ],
};

export const EVENTS: ListSpec<EventFilters, unknown, EventView> = {
  ...(EVENT_LIST as ListSpec<EventFilters, unknown, EventView>),
  columns: [
    { name: 'timestamp', kind: 'time', value: (e) => e.timestamp },
    { name: 'level', kind: 'category', value: (e) => e.level },
    { name: 'message', kind: 'string', value: (e) => e.message },
  ],
};

export const METRIC_NAMES: ListSpec<MetricNameFilters, unknown, SeriesView> = {
  ...(METRIC_NAME_LIST as ListSpec<MetricNameFilters, unknown, SeriesView>),
  columns: [
    { name: 'name', kind: 'string', value: (m) => m.name },
    { name: 'count', kind: 'int', value: (m) => m.count },
    { name: 'lastStep', kind: 'int', value: (m) => m.last.step },
    { name: 'lastTime', kind: 'float', value: (m) => m.last.time },
    { name: 'lastTimestamp', kind: 'time', value: (m) => m.last.timestamp },
    { name: 'lastValue', kind: 'float', value: (m) => toFloat(m.last.value) },
    { name: 'min', kind: 'float', value: (m) => toFloat(m.min) },
    { name: 'max', kind: 'float', value: (m) => toFloat(m.max) },
  ],
};

export const ARTIFACTS: ListSpec<ArtifactFilters, unknown, ArtifactView> = {
  ...(ARTIFACT_LIST as ListSpec<ArtifactFilters, unknown, ArtifactView>),
  columns: [
    { name: 'name', kind: 'string', value: (a) => a.name },
    { name: 'category', kind: 'category', value: (a) => a.category },
    { name: 'mimeType', kind: 'string', value: (a) => a.mimeType },
    { name: 'size', kind: 'int', value: (a) => a.size },
    { name: 'sha256', kind: 'string', value: (a) => a.sha256 },
    { name: 'created', kind: 'time', value: (a) => a.created },
    { name: 'metadata', kind: 'object', value: (a) => a.metadata },
  ],
};

export const ALERTS: ListSpec<AlertFilters, unknown, AlertListItem> = {
  ...(ALERT_LIST as ListSpec<AlertFilters, unknown, AlertListItem>),
  columns: [
    { name: 'id', kind: 'string', value: (a) => a.id },
    { name: 'name', kind: 'string', value: (a) => a.name },
    { name: 'source', kind: 'category', value: (a) => a.source },
    { name: 'description', kind: 'string', value: (a) => a.description },
    { name: 'rule', kind: 'category', value: (a) => a.rule },
    { name: 'metric', kind: 'string', value: (a) => a.metric },
    { name: 'threshold', kind: 'float', value: (a) => a.threshold },
    { name: 'rangeLow', kind: 'float', value: (a) => a.rangeLow },
    { name: 'rangeHigh', kind: 'float', value: (a) => a.rangeHigh },
    { name: 'aggregation', kind: 'category', value: (a) => a.aggregation },
    { name: 'pattern', kind: 'string', value: (a) => a.pattern },
    { name: 'match', kind: 'category', value: (a) => a.match },
    { name: 'window', kind: 'float', value: (a) => a.window },
    { name: 'frequency', kind: 'float', value: (a) => a.frequency },
    { name: 'notification', kind: 'strings', value: (a) => a.notification },
    { name: 'emails', kind: 'strings', value: (a) => a.emails },
    { name: 'webhook', kind: 'string', value: (a) => a.webhook },
    { name: 'notifyOk', kind: 'bool', value: (a) => a.notifyOk },
    { name: 'abortOnCritical', kind: 'bool', value: (a) => a.abortOnCritical },
    { name: 'created', kind: 'time', value: (a) => a.created },
    { name: 'runs', kind: 'int', value: (a) => a.runs },
    { name: 'critical', kind: 'int', value: (a) => a.critical },
  ],
};

export const RUN_ALERTS: ListSpec<RunAlertFilters, unknown, RunAlertView> = {
  ...(RUN_ALERT_LIST as ListSpec<RunAlertFilters, unknown, RunAlertView>),
  columns: [
    { name: 'run', kind: 'string', value: (a) => a.run.name },
    { name: 'alert', kind: 'string', value: (a) => a.alert.name },
    { name: 'source', kind: 'category', value: (a) => a.alert.source },
    { name: 'state', kind: 'category', value: (a) => a.state },
    { name: 'since', kind: 'time', value: (a) => a.since },
    { name: 'evaluated', kind: 'time', value: (a) => a.evaluated },
    { name: 'next', kind: 'time', value: (a) => a.next },
    { name: 'value', kind: 'float', value: (a) => a.value },
  ],
};

const RECORD_FIELDS = new Set(['id', 'timestamp', 'function', 'args', 'kwargs', 'session_id']);

/** A record's extra fields, the ones beyond those every record has. */
function extraFields(r: TelemetryRecordView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(r)) if (!RECORD_FIELDS.has(key)) out[key] = value;
  return out;
}

export const TELEMETRY_RECORDS: ListSpec<TelemetryRecordFilters, unknown, TelemetryRecordView> = {
  ...(TELEMETRY_RECORD_LIST as ListSpec<TelemetryRecordFilters, unknown, TelemetryRecordView>),
  columns: [
    { name: 'id', kind: 'int', value: (r) => r.id },
    { name: 'timestamp', kind: 'time', value: (r) => r.timestamp },
    { name: 'function', kind: 'category', value: (r) => r.function },
    { name: 'session_id', kind: 'string', value: (r) => r.session_id },
    { name: 'args', kind: 'json', value: (r) => JSON.stringify(r.args) },
    { name: 'kwargs', kind: 'object', value: (r) => r.kwargs },
    { name: 'extra', kind: 'object', value: extraFields },
  ],
};
