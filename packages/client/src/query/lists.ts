import {
  ALERT_LIST,
  type AlertFilters,
  type AlertListItem,
  type AlertView,
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
  pathOf,
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
import { ClientError, SimscopeError } from '../errors.js';
import type { HttpTransport, RetryOptions } from '../http-transport.js';
import { toFloat } from './columns.js';
import { requestPage } from './list-request.js';
import type { KeyedListSpec, ListSpec } from './lister.js';

// Each list of the API is its protocol definition plus the columns of its rows (and, where a row has an id and a
// route reads one, `get`); a new list is one more of these and one `Lister` field in client.ts.

/** A run (id or name) and one of its metrics or artifacts by name. */
export interface RunItemKey {
  run: string;
  name: string;
}

/** A run (id or name) and an alert attached to it (id or name). */
export interface RunAlertKey {
  run: string;
  alert: string;
}

/** A key part as given: refused when it is not a non-empty string, as an empty id would read the whole list. */
function keyPart(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new SimscopeError(
      'invalid_field',
      `${field}: must be a non-empty string, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The parts of a key of a run's row, each checked. */
function runKey<K extends string>(key: { run: string } & Record<K, string>, part: K): [string, string] {
  if (typeof key !== 'object' || key === null) {
    throw new SimscopeError('invalid_field', `key: must be { run, ${part} }, got ${JSON.stringify(key)}`);
  }
  return [keyPart(key.run, 'key.run'), keyPart(key[part], `key.${part}`)];
}

/**
 * The one row of a listing that the exact-name filter picks (for rows that have a key but no route of their own);
 * a 404 `ClientError` when there is none.
 */
async function onlyRow<T>(
  transport: HttpTransport,
  route: 'listMetricNames' | 'listArtifacts',
  key: RunItemKey,
  what: string,
  retries: Partial<RetryOptions> | undefined,
): Promise<T> {
  const [run, name] = runKey(key, 'name');
  const path = pathOf(route, { run });
  const page = await requestPage(transport, route, path, { name, limit: 1 }, retries);
  const row = page.items[0];
  if (!row) throw new ClientError('not_found', `GET ${path}: no ${what} '${name}' in run '${run}'`, 404);
  return row as T;
}

export const RUNS: KeyedListSpec<RunFilters, unknown, RunView, string> = {
  ...(RUN_LIST as ListSpec<RunFilters, unknown, RunView>),
  get: (transport, run, retries) =>
    transport.call('getRun', { params: { run: keyPart(run, 'run') }, retries }),
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

export const FOLDERS: KeyedListSpec<FolderFilters, unknown, FolderView, string> = {
  ...(FOLDER_LIST as ListSpec<FolderFilters, unknown, FolderView>),
  get: (transport, folder, retries) =>
    transport.call('getFolder', { params: { folder: keyPart(folder, 'folder') }, retries }),
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

export const METRIC_NAMES: KeyedListSpec<MetricNameFilters, unknown, SeriesView, RunItemKey> = {
  ...(METRIC_NAME_LIST as ListSpec<MetricNameFilters, unknown, SeriesView>),
  get: (transport, key, retries) => onlyRow(transport, 'listMetricNames', key, 'metric', retries),
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

export const ARTIFACTS: KeyedListSpec<ArtifactFilters, unknown, ArtifactView, RunItemKey> = {
  ...(ARTIFACT_LIST as ListSpec<ArtifactFilters, unknown, ArtifactView>),
  get: (transport, key, retries) => onlyRow(transport, 'listArtifacts', key, 'artifact', retries),
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

export const ALERTS: KeyedListSpec<AlertFilters, unknown, AlertListItem, string, AlertView> = {
  ...(ALERT_LIST as ListSpec<AlertFilters, unknown, AlertListItem>),
  get: (transport, alert, retries) =>
    transport.call('getAlert', { params: { alert: keyPart(alert, 'alert') }, retries }),
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

export const RUN_ALERTS: KeyedListSpec<RunAlertFilters, unknown, RunAlertView, RunAlertKey> = {
  ...(RUN_ALERT_LIST as ListSpec<RunAlertFilters, unknown, RunAlertView>),
  get: (transport, key, retries) => {
    const [run, alert] = runKey(key, 'alert');
    return transport.call('getRunAlert', { params: { run, alert }, retries });
  },
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
