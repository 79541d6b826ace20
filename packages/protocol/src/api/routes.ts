import { LIMITS } from '../limits.js';
import { ACCESS_ROUTES } from './routes-access.js';
import { AUTH_ROUTES } from './routes-auth.js';
import { FIELD_ROUTES } from './routes-fields.js';
import { HPC_ROUTES } from './routes-hpc.js';

/**
 * Who may call a route: nobody needs a token (`none`); a token with this scope whose role in the workspace grants it
 * (`read`: viewers, `write`: editors, `owner`: owners with a write token); any token, no workspace needed
 * (`account`); a server admin's admin token (`admin`); or only a share link (`share`).
 */
export type RouteScope = 'none' | 'read' | 'write' | 'owner' | 'account' | 'admin' | 'share';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One route of the REST API, without its schemas (those are in `route-schemas.ts`, which needs zod). */
export interface RouteSpec {
  method: HttpMethod;
  /** Path under `API_PREFIX`, with `:name` parameters (and `*` for the rest of the path). */
  path: string;
  scope: RouteScope;
  summary: string;
  /** Query parameters and what they mean, for the docs. */
  query?: Readonly<Record<string, string>>;
  /** What the body is when no schema describes it (metric batches, artifact bytes). */
  bodyDescription?: string;
  /** Media type of a described body when it is not JSON or msgpack (artifact uploads: any). */
  bodyType?: string;
}

const PAGE = { limit: 'page size', next: 'cursor' } as const;
const METRIC_BODY =
  '{ writer, seq, clock?, series: [{ name, values, steps?, times?, timestamps? }] }: columns of equal length; JSON arrays (NaN, Infinity, -Infinity as strings) or msgpack binary (int64 steps and timestamps, float64 times and values, little-endian)';

/** Rows a page of `GET /run-table` holds at most. */
export const RUN_TABLE_PAGE = 50_000;

/** Every route of the REST API, by name. The order is the order of the docs page. */
export const ROUTES = {
  version: { method: 'GET', path: '/version', scope: 'none', summary: 'Server version (no token needed)' },
  health: { method: 'GET', path: '/health', scope: 'none', summary: 'Liveness (no token needed)' },
  ready: {
    method: 'GET',
    path: '/ready',
    scope: 'none',
    summary:
      'Readiness (no token needed): 200 when the database and blob store answer and migrations are done, else 503 (also while shutting down)',
  },
  openApi: { method: 'GET', path: '/openapi.json', scope: 'none', summary: 'This API as OpenAPI 3.1' },
  docs: { method: 'GET', path: '/docs', scope: 'none', summary: 'This API as a page' },
  me: { method: 'GET', path: '/me', scope: 'read', summary: 'Who the token belongs to and its workspaces' },

  adminProcess: {
    method: 'GET',
    path: '/admin/process',
    scope: 'admin',
    summary:
      "This server process's memory and uptime; gc=true first collects garbage when node runs with --expose-gc",
    query: { gc: 'true to collect garbage first (only when node runs with --expose-gc)' },
  },
  createUser: { method: 'POST', path: '/admin/users', scope: 'admin', summary: 'Create a user' },
  listUsers: { method: 'GET', path: '/admin/users', scope: 'admin', summary: 'List users' },
  deleteUser: {
    method: 'DELETE',
    path: '/admin/users/:user',
    scope: 'admin',
    summary: 'Delete a user and their tokens',
  },
  createWorkspace: {
    method: 'POST',
    path: '/admin/workspaces',
    scope: 'admin',
    summary: 'Create a workspace',
  },
  listWorkspaces: { method: 'GET', path: '/admin/workspaces', scope: 'admin', summary: 'List workspaces' },
  deleteWorkspace: {
    method: 'DELETE',
    path: '/admin/workspaces/:workspace',
    scope: 'admin',
    summary: 'Delete a workspace and all it holds',
  },
  addMember: {
    method: 'POST',
    path: '/admin/workspaces/:workspace/members',
    scope: 'admin',
    summary: 'Add a user to a workspace',
  },
  listMembers: {
    method: 'GET',
    path: '/admin/workspaces/:workspace/members',
    scope: 'admin',
    summary: 'List the members of a workspace',
  },
  removeMember: {
    method: 'DELETE',
    path: '/admin/workspaces/:workspace/members/:user',
    scope: 'admin',
    summary: 'Remove a user from a workspace',
  },
  listRetentionRules: {
    method: 'GET',
    path: '/admin/workspaces/:workspace/retention',
    scope: 'admin',
    summary: 'List the retention rules of a workspace',
  },
  createRetentionRule: {
    method: 'POST',
    path: '/admin/workspaces/:workspace/retention',
    scope: 'admin',
    summary:
      'Add a retention rule: runs of the workspace (or a folder and its subfolders) older than N days are deleted, or each series downsampled (M4) to at most K buckets',
  },
  deleteRetentionRule: {
    method: 'DELETE',
    path: '/admin/workspaces/:workspace/retention/:rule',
    scope: 'admin',
    summary: 'Remove a retention rule',
  },
  applyRetention: {
    method: 'POST',
    path: '/admin/retention/apply',
    scope: 'admin',
    summary: 'Apply every retention rule now (the server also does so periodically)',
  },
  createToken: {
    method: 'POST',
    path: '/admin/tokens',
    scope: 'admin',
    summary: 'Create a token for a user; the secret is shown once',
  },
  listTokens: {
    method: 'GET',
    path: '/admin/tokens',
    scope: 'admin',
    summary: 'List tokens (never their secrets)',
    query: { user: 'only this user' },
  },
  revokeToken: { method: 'DELETE', path: '/admin/tokens/:token', scope: 'admin', summary: 'Revoke a token' },

  createRun: { method: 'POST', path: '/runs', scope: 'write', summary: 'Create a run' },
  listRuns: {
    method: 'GET',
    path: '/runs',
    scope: 'read',
    summary: 'List runs',
    query: {
      filter: 'filter language, e.g. status == running and metadata.beta > 2',
      sort: 'created (default -created), started, ended, heartbeat, name, status; - for descending',
      limit: `page size, 1 to ${LIMITS.pageSize} (default 100)`,
      next: 'cursor from the previous page',
    },
  },
  searchRuns: {
    method: 'POST',
    path: '/runs/search',
    scope: 'read',
    summary: 'List runs, the query in the body: as GET /runs, for filters too long for a URL',
  },
  getRun: { method: 'GET', path: '/runs/:run', scope: 'read', summary: 'Get a run by id or name' },
  updateRun: {
    method: 'PATCH',
    path: '/runs/:run',
    scope: 'write',
    summary:
      'Change a run: name, folder, description, tags (replace, add, remove), metadata (merge; null removes), status',
  },
  deleteRun: {
    method: 'DELETE',
    path: '/runs/:run',
    scope: 'write',
    summary: 'Delete a run and all its data',
  },
  heartbeat: {
    method: 'POST',
    path: '/runs/:run/heartbeat',
    scope: 'write',
    summary: 'Record that the run is alive; answers the abort request',
  },
  requestAbort: { method: 'POST', path: '/runs/:run/abort', scope: 'write', summary: 'Ask the run to stop' },
  readAbort: { method: 'GET', path: '/runs/:run/abort', scope: 'read', summary: 'Read the abort request' },

  ingestMetrics: {
    method: 'POST',
    path: '/runs/:run/metrics',
    scope: 'write',
    summary: 'Ingest a metric batch',
    bodyDescription: METRIC_BODY,
  },
  sinkMetrics: {
    method: 'POST',
    path: '/_sink/runs/:run/metrics',
    scope: 'write',
    summary: 'Check and decode a metric batch, store nothing (benchmarks only)',
    bodyDescription: METRIC_BODY,
  },
  listMetricNames: {
    method: 'GET',
    path: '/runs/:run/metrics',
    scope: 'read',
    summary: 'Metric names of a run with last values, in name order',
    query: {
      name: 'exactly this metric',
      prefix: 'names that start with this text',
      q: 'names that contain this text (case-insensitive)',
      regex: 'names that match this regular expression',
      limit: `page size, 1 to ${LIMITS.pageSize} (default ${LIMITS.pageSize})`,
      next: 'cursor from the previous page',
    },
  },
  readSeries: {
    method: 'GET',
    path: '/runs/:run/metrics/series',
    scope: 'read',
    summary: 'One metric at full fidelity by step range; msgpack (binary columns) when Accept asks for it',
    query: {
      name: 'metric name',
      from: 'first step (inclusive)',
      to: 'last step (exclusive)',
      limit: 'points per page',
      next: 'cursor',
      includeSuperseded: "'true' also returns points a later segment's rewind superseded",
    },
  },
  downsample: {
    method: 'GET',
    path: '/runs/:run/metrics/downsample',
    scope: 'read',
    summary:
      'One metric in N equal-width buckets over [from, to) of x, with first, last, min, max and count (M4)',
    query: {
      name: 'metric name',
      x: 'step (default), time or timestamp',
      from: 'x start (inclusive)',
      to: 'x end (exclusive)',
      buckets: 'N (default 1000)',
      includeSuperseded: "'true' also counts points a later segment's rewind superseded",
    },
  },
  downsampleRuns: {
    method: 'POST',
    path: '/metrics/downsample',
    scope: 'read',
    summary:
      'One metric of many runs in N equal-width M4 buckets on one grid (by default the span of all of them)',
  },
  aggregateMetric: {
    method: 'POST',
    path: '/metrics/aggregate',
    scope: 'read',
    summary:
      "One metric of many runs grouped by tag, folder or a metadata key: per bucket each group's mean and std of the runs' last values and the min of their minima to the max of their maxima",
  },

  createDashboard: {
    method: 'POST',
    path: '/dashboards',
    scope: 'write',
    summary: 'Save a compare-page layout under a name unique in the workspace (409 if taken)',
    bodyDescription: '{"name", "layout": {"runs", "metric", "group", "band", "x", "log", "collapsed"}}',
  },
  listDashboards: {
    method: 'GET',
    path: '/dashboards',
    scope: 'read',
    summary: "The workspace's dashboards by name (at most 1000)",
  },
  getDashboard: {
    method: 'GET',
    path: '/dashboards/:dashboard',
    scope: 'read',
    summary: 'A dashboard by id or name',
  },
  updateDashboard: {
    method: 'PATCH',
    path: '/dashboards/:dashboard',
    scope: 'write',
    summary: 'Rename a dashboard or replace its layout',
    bodyDescription: '{"name"?, "layout"?}',
  },
  deleteDashboard: {
    method: 'DELETE',
    path: '/dashboards/:dashboard',
    scope: 'write',
    summary: 'Delete a dashboard',
  },

  ingestEvents: {
    method: 'POST',
    path: '/runs/:run/events',
    scope: 'write',
    summary: 'Ingest an event batch',
  },
  listEvents: {
    method: 'GET',
    path: '/runs/:run/events',
    scope: 'read',
    summary: 'List events',
    query: {
      q: 'text the message contains (case-insensitive)',
      level: 'comma-separated levels',
      from: 'start time (µs or ISO, inclusive)',
      to: 'end time (exclusive)',
      order: 'asc (default) or desc',
      ...PAGE,
    },
  },

  createFolder: {
    method: 'POST',
    path: '/folders',
    scope: 'write',
    summary: 'Create a folder (and its parents)',
  },
  listFolders: {
    method: 'GET',
    path: '/folders',
    scope: 'read',
    summary: 'List folders',
    query: {
      path: 'exactly this folder',
      parent: 'direct children of this path',
      prefix: 'this folder and all below',
      ...PAGE,
    },
  },
  getFolder: { method: 'GET', path: '/folders/:folder', scope: 'read', summary: 'Get a folder by id' },
  updateFolder: {
    method: 'PATCH',
    path: '/folders/:folder',
    scope: 'write',
    summary: 'Change description, tags, metadata (merge)',
  },
  deleteFolder: {
    method: 'DELETE',
    path: '/folders/:folder',
    scope: 'write',
    summary: 'Delete a folder; recursive=true also deletes subfolders and runs',
    query: { recursive: 'true to delete contents' },
  },

  live: {
    method: 'GET',
    path: '/live',
    scope: 'read',
    summary:
      'Server-sent events of the workspace: run (a run created or changed), metrics, events, deleted, folder',
    query: { runs: 'comma-separated run ids or names: only changes of these runs (default: all)' },
  },
  runTable: {
    method: 'GET',
    path: '/run-table',
    scope: 'read',
    summary: 'Runs as columns (newest first), with chosen metadata and last metric values',
    query: {
      filter: 'filter language, as for GET /runs',
      columns:
        'JSON array of "metadata.PATH" and "metrics.NAME" columns; "min:", "max:", "mean:" or "last:" before metrics.NAME picks that summary',
      limit: `rows per page, 1 to ${RUN_TABLE_PAGE} (default 10000)`,
      next: 'cursor from the previous page',
      metricNames: 'true to list the metric names of the workspace too',
      folderCounts: 'true to count the runs matching the filter in each folder too',
    },
  },
  searchRunTable: {
    method: 'POST',
    path: '/run-table/search',
    scope: 'read',
    summary: 'Runs as columns, the query in the body: as GET /run-table, for filters too long for a URL',
  },

  createAlert: {
    method: 'POST',
    path: '/alerts',
    scope: 'write',
    summary:
      'Create an alert definition, or get the identical one of that name (409 if it differs: PATCH /alerts/:alert changes it)',
  },
  listAlerts: {
    method: 'GET',
    path: '/alerts',
    scope: 'read',
    summary: 'List alert definitions with how many runs each is attached to and how many are critical',
    query: { critical: 'true: only alerts critical on some run', ...PAGE },
  },
  getAlert: {
    method: 'GET',
    path: '/alerts/:alert',
    scope: 'read',
    summary: 'Get an alert definition by id or name',
  },
  updateAlert: {
    method: 'PATCH',
    path: '/alerts/:alert',
    scope: 'write',
    summary:
      'Change fields of an alert definition (null removes one); runs it is attached to use the new one',
    bodyDescription: 'the fields of POST /alerts to change, name excepted',
  },
  listAlertRuns: {
    method: 'GET',
    path: '/alerts/:alert/runs',
    scope: 'read',
    summary: 'The runs an alert is attached to, with its state on each, by run name',
    query: {
      critical: 'true: only runs where it is critical',
      limit: 'page size (default 1000)',
      next: 'cursor',
    },
  },
  deleteAlert: {
    method: 'DELETE',
    path: '/alerts/:alert',
    scope: 'write',
    summary: 'Delete an alert definition, its states and history on every run',
  },
  attachAlert: {
    method: 'POST',
    path: '/runs/:run/alerts',
    scope: 'write',
    summary: 'Attach an alert to a run: { alert } names one, or a definition is created or reused',
    bodyDescription: '{ alert: ID_OR_NAME } or an alert definition (as POST /alerts)',
  },
  listRunAlerts: {
    method: 'GET',
    path: '/runs/:run/alerts',
    scope: 'read',
    summary: "A run's alerts with their states",
    query: { critical: 'true: only critical ones', limit: 'page size (default 1000)', next: 'cursor' },
  },
  getRunAlert: {
    method: 'GET',
    path: '/runs/:run/alerts/:alert',
    scope: 'read',
    summary: "One of a run's alerts with its state",
  },
  detachAlert: {
    method: 'DELETE',
    path: '/runs/:run/alerts/:alert',
    scope: 'write',
    summary: 'Detach an alert from a run (its history there goes too)',
  },
  alertHistory: {
    method: 'GET',
    path: '/runs/:run/alerts/:alert/history',
    scope: 'read',
    summary: "Transitions of one of a run's alerts, oldest first",
    query: PAGE,
  },
  setAlertState: {
    method: 'PUT',
    path: '/runs/:run/alerts/:alert/state',
    scope: 'write',
    summary: "Set a user alert's state on a run (attaching it if needed)",
  },

  createTelemetryKey: {
    method: 'POST',
    path: '/admin/telemetry/keys',
    scope: 'admin',
    summary:
      'Create an ingest-only telemetry key for a service (created with it) in a workspace; the secret is shown once',
  },
  listTelemetryKeys: {
    method: 'GET',
    path: '/admin/telemetry/keys',
    scope: 'admin',
    summary: 'List telemetry keys (never their secrets)',
    query: { service: 'only keys of this service path' },
  },
  revokeTelemetryKey: {
    method: 'DELETE',
    path: '/admin/telemetry/keys/:key',
    scope: 'admin',
    summary: 'Revoke a telemetry key',
  },
  ingestTelemetry: {
    method: 'POST',
    path: '/telemetry/*',
    scope: 'none',
    summary:
      'Ingest a batch of telemetry records into the service at this path (e.g. /telemetry/intake/catalog); needs that service’s telemetry key, not a token',
    bodyDescription:
      '{ writer, seq, records: [{ function, args?, kwargs?, session_id?, timestamp?, …extra fields }] }',
  },
  telemetryServices: {
    method: 'GET',
    path: '/telemetry/services',
    scope: 'read',
    summary: 'Telemetry services of the workspace with their record counts and first and last record times',
  },
  telemetryRecords: {
    method: 'GET',
    path: '/telemetry/records',
    scope: 'read',
    summary: 'List the records of a telemetry service',
    query: {
      service: 'service path, e.g. intake/catalog (required)',
      function: 'comma-separated function names',
      session: 'only this session id',
      from: 'start time (µs or ISO, inclusive)',
      to: 'end time (exclusive)',
      order: 'asc (default) or desc',
      limit: 'page size (default 100)',
      next: 'cursor',
    },
  },
  telemetryUsage: {
    method: 'GET',
    path: '/telemetry/usage',
    scope: 'read',
    summary: 'Calls per function of a telemetry service in time buckets (columnar, for a chart)',
    query: {
      service: 'service path (required)',
      function: 'comma-separated function names (default: all)',
      from: 'start (µs or ISO; default: to minus 7 days), aligned down to a bucket edge',
      to: 'end (default: now), aligned up to a bucket edge',
      bucket: 'bucket width: seconds or 5m, 1h, 1d (default: a width giving at most 200 buckets)',
    },
  },

  saveArtifact: {
    method: 'PUT',
    path: '/runs/:run/artifacts',
    scope: 'write',
    summary:
      'Save an artifact: the body is its bytes (streamed, any size), Content-Type its MIME type; saving a name again replaces it',
    query: {
      name: "artifact name, such as 'system/controlDict' (relative, '/' between segments)",
      category: 'code, input or output',
      sha256:
        "hex sha256 of the bytes, or 'trailer' when those 64 hex digits end the body; refused when they differ",
      size: 'byte count; refused at once when over the quota, and when the body differs',
      metadata: 'JSON object',
    },
    bodyDescription: 'the bytes of the file, streamed; its Content-Type is the MIME type',
    bodyType: '*/*',
  },
  listArtifacts: {
    method: 'GET',
    path: '/runs/:run/artifacts',
    scope: 'read',
    summary: "List a run's artifacts by name",
    query: {
      category: 'code, input or output',
      name: 'exactly this name',
      startsWith: 'names that start with this text',
      contains: 'names that contain this text',
      endsWith: 'names that end with this text',
      limit: 'page size, 1 to 1000 (default 1000)',
      next: 'cursor',
    },
  },
  readArtifact: {
    method: 'GET',
    path: '/runs/:run/artifacts/content',
    scope: 'read',
    summary:
      'The bytes of an artifact, with its Content-Type, Content-Disposition: attachment and ETag (its sha256); honours Range',
    query: { name: 'artifact name' },
  },
  deleteArtifact: {
    method: 'DELETE',
    path: '/runs/:run/artifacts',
    scope: 'write',
    summary: 'Delete an artifact; its bytes are freed when no other artifact has the same',
    query: { name: 'artifact name' },
  },
  saveArray: {
    method: 'PUT',
    path: '/runs/:run/arrays',
    scope: 'write',
    summary:
      'Save one step of an array series: the body is its little-endian elements in C order (streamed); its min, max and mean also become metrics name.min, name.max, name.mean; saving a step again replaces it',
    query: {
      name: 'array series name',
      step: 'whole number ≥ 0',
      time: 'simulation time (optional)',
      shape: "1 to 3 dimensions such as '512,512' (up to 16 Mi elements 1-D, 4096 × 4096 2-D, 256³ 3-D)",
      dtype: 'int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32 or float64',
      axes: 'JSON list, one {label?, values?} per dimension (optional)',
    },
    bodyDescription: 'the elements, little-endian, C order, streamed (Content-Type application/octet-stream)',
  },
  listArrays: {
    method: 'GET',
    path: '/runs/:run/arrays',
    scope: 'read',
    summary: "A run's array series (without name), or the steps of one series (with name), in step order",
    query: {
      name: 'array series name: list its steps',
      limit: 'steps per page (default 1000)',
      next: 'cursor',
    },
  },
  readArray: {
    method: 'GET',
    path: '/runs/:run/arrays/data',
    scope: 'read',
    summary:
      'One step of an array, whole or a region: raw little-endian bytes (x-simscope-dtype, x-simscope-shape headers) or JSON with format=json',
    query: {
      name: 'array series name',
      step: 'step (default: the last); with nearest=true the nearest stored step',
      nearest: "'true' to read the nearest stored step",
      region: "numpy-style slicing per dimension, such as '::4,100:200' or '7,:' (default: all)",
      format: "'raw' (default) or 'json'",
    },
  },
  artifactUsage: {
    method: 'GET',
    path: '/artifacts/usage',
    scope: 'read',
    summary: "Bytes the workspace's artifacts take (each distinct content once) and the quota",
  },
  ...FIELD_ROUTES,
  ...HPC_ROUTES,
  ...AUTH_ROUTES,
  ...ACCESS_ROUTES,
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

/** The `:name` parameters of a path template, as an object type (`*` is the rest of the path). */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : P extends `${string}*`
      ? { '*': string }
      : Record<never, string>;

/** The parameters of a route by name. */
export type RouteParams<R extends RouteName> = PathParams<(typeof ROUTES)[R]['path']>;

/**
 * The path of a route under `API_PREFIX` with its parameters filled in and encoded.
 * @example pathOf('getRun', { run: 'cavity-1' }) // '/runs/cavity-1'
 */
export function pathOf<R extends RouteName>(route: R, params: RouteParams<R>): string;
export function pathOf(route: RouteSpec, params: Record<string, string>): string;
export function pathOf(route: RouteName | RouteSpec, params: Record<string, string>): string {
  const spec: RouteSpec = typeof route === 'string' ? ROUTES[route] : route;
  return spec.path.replace(/:([A-Za-z]+)|\*$/g, (match, name: string | undefined) => {
    const value = params[name ?? '*'];
    if (value === undefined) throw new Error(`pathOf: ${spec.path} needs '${name ?? '*'}'`);
    return match === '*' ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value);
  });
}
