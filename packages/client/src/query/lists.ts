import {
  EVENT_LIST,
  type EventFilters,
  type EventView,
  FOLDER_LIST,
  type FolderFilters,
  type FolderView,
  METRIC_NAME_LIST,
  type MetricNameFilters,
  RUN_LIST,
  type RunFilters,
  type RunView,
  type SeriesView,
} from '@simscope/protocol';
import { toFloat } from './columns.js';
import type { ListSpec } from './lister.js';

// Each list of the API is its protocol definition plus the columns of its rows. A new list (artifacts, alerts,
// telemetry records) is one more of these and one `Lister` field in client.ts.

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
