import type {
  AlertFilters,
  AlertListItem,
  AlertTransitionView,
  AlertView,
  ArrayExportView,
  ArtifactCategory,
  ArtifactFilters,
  EventFilters,
  EventLevel,
  EventView,
  FolderFilters,
  FolderView,
  MetricNameFilters,
  RunAlertFilters,
  RunAlertView,
  RunFilters,
  RunView,
  SeriesView,
  TelemetryRecordFilters,
  TelemetryRecordView,
} from '@simscope/protocol';
import {
  M4_COLUMNS,
  MSGPACK_TYPE,
  paginate,
  pathOf,
  ROUTES,
  type RouteName,
  type RouteResponse,
} from '@simscope/protocol';
import { Unpackr } from 'msgpackr';
import { type ArrayCellSeries, exportArrays, readArrayCell } from './array-series.js';
import { type ArrayData, readArray } from './arrays.js';
import { decodeObject } from './artifact-codec.js';
import { checkArtifactName, checkCategory } from './artifact-names.js';
import {
  type ArtifactFilter,
  type ArtifactInfo,
  downloadArtifact,
  downloadBytes,
  downloadTarget,
  mapLimit,
} from './artifacts.js';
import { type ConnectionOptions, type ResolvedConnection, resolveConfig, suggestLogin } from './config.js';
import { ClientError } from './errors.js';
import { type CallArgs, type CallInput, HttpTransport, type RetryOptions } from './http-transport.js';
import { type ListItem, type ListRouteName, type PageQuery, requestPage } from './query/list-request.js';
import { KeyedLister, type KeyedListSpec, Lister, type ListSpec } from './query/lister.js';
import {
  ALERTS,
  ARTIFACTS,
  EVENTS,
  FOLDERS,
  METRIC_NAMES,
  RUN_ALERTS,
  RUNS,
  type RunAlertKey,
  type RunItemKey,
  TELEMETRY_RECORDS,
} from './query/lists.js';
import { type MetricTableOptions, type RunSelection, readMetricTable } from './query/metric-reader.js';
import type { MetricTable } from './query/metric-table.js';
import type { ProgressStream } from './query/progress.js';
import { seriesPages } from './query/series-pages.js';
import { spoolDirectory } from './spool.js';
import { type SyncedRun, type SyncOptions, syncSpools } from './spool-upload.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** A run as the server returns it; times are microseconds since the epoch. */
export type RunInfo = RunView;
export type MetricInfo = SeriesView;
export type EventInfo = EventView;
export type FolderInfo = FolderView;
/** An alert definition with how many runs it is attached to and how many are critical. */
export type AlertInfo = AlertListItem;
/** One alert attached to one run, with the run's state for it. */
export type RunAlertInfo = RunAlertView;
export type AlertTransitionInfo = AlertTransitionView;

/** One metric of one run: x values on the chosen axis, and the values. */
export interface MetricValues {
  run: string;
  name: string;
  x: Float64Array;
  values: Float64Array;
}

function float64(bytes: Uint8Array): Float64Array {
  return new Float64Array(Uint8Array.prototype.slice.call(bytes).buffer);
}

function int64(bytes: Uint8Array): Float64Array {
  const words = new Int32Array(Uint8Array.prototype.slice.call(bytes).buffer);
  const out = new Float64Array(words.length / 2);
  for (let i = 0; i < out.length; i++)
    out[i] = (words[2 * i + 1] ?? 0) * 4294967296 + ((words[2 * i] ?? 0) >>> 0);
  return out;
}

export interface ClientOptions extends ConnectionOptions {
  /** Retries of every call; each call may pass its own. */
  retries?: Partial<RetryOptions>;
  /** The progress bar of every `listAll` and `metricTable`: on stderr when it is a terminal (default); `false`: none. */
  progress?: boolean | ProgressStream;
  /** Per-request time limit in ms (default 30 s). */
  timeoutMs?: number;
  /** A connection resolved already (by the CLI): used as it is, with nothing read from the environment or files. */
  connection?: ResolvedConnection;
  /** Where `sync` finds spooled runs (`SIMSCOPE_SPOOL_DIR` wins); default `$XDG_DATA_HOME/simscope/spool`. */
  spoolDir?: string;
}

/**
 * Reads and deletes runs, metrics, events and folders. Each list has `list` (one page) and `listAll` (every
 * page, with `maxPages`, `keepFailed`, `resumeFrom`, progress), with typed filters the server applies.
 * @example
 * const client = new Client({ workspace: 'fluids' });
 * const runs = await client.runs.listAll({ status: 'completed', metadata__re__gte: 1000 }, { maxPages: 5 });
 * const table = await runs.toArrow();
 */
export class Client {
  readonly #transport: HttpTransport;
  readonly #progress: boolean | ProgressStream | undefined;
  readonly #url: string;
  readonly #spoolDir: string;
  /**
   * Runs: filters such as `{ status__in, created__gte, name__regex, metadata__KEY__gt, metrics__NAME__STAT__lt }`;
   * `get(idOrName)`.
   */
  readonly runs: KeyedLister<RunFilters, RunView, string>;
  /** Folders: `{ path, parent, under }`; `get(idOrPath)`. */
  readonly folders: KeyedLister<FolderFilters, FolderView, string>;
  /** Events of a run: `{ run, level__in, message__icontains, timestamp__gte, order }`; no `get` (no ids). */
  readonly events: Lister<EventFilters, EventView>;
  /** Metrics of a run with their last value, min and max: `{ run, name__startswith, name__regex }`; `get({ run, name })`. */
  readonly metricNames: KeyedLister<MetricNameFilters, SeriesView, RunItemKey>;
  /** Artifacts of a run: `{ run, category, name, name__startswith, name__contains, name__endswith }`; `get({ run, name })`. */
  readonly artifacts: KeyedLister<ArtifactFilters, ArtifactInfo, RunItemKey>;
  /** Alert definitions of the workspace, by name, with their runs and critical counts: `{ critical }`; `get(idOrName)`. */
  readonly alerts: KeyedLister<AlertFilters, AlertListItem, string, AlertView>;
  /** Alerts attached to a run, by name, with the run's state for each: `{ run, critical }`; `get({ run, alert })`. */
  readonly runAlerts: KeyedLister<RunAlertFilters, RunAlertView, RunAlertKey>;
  /** Telemetry records of a service: `{ service, function__in, session, timestamp__gte, order }`; no `get` (no route reads one). */
  readonly telemetryRecords: Lister<TelemetryRecordFilters, TelemetryRecordView>;

  constructor(options: ClientOptions = {}) {
    const connection = options.connection ?? resolveConfig(options);
    suggestLogin(connection);
    this.#transport = new HttpTransport({
      ...connection,
      retries: options.retries,
      timeoutMs: options.timeoutMs,
    });
    this.#url = connection.url;
    this.#spoolDir = spoolDirectory(options.spoolDir);
    this.#progress = options.progress;
    this.runs = this.#keyed(RUNS);
    this.folders = this.#keyed(FOLDERS);
    this.events = this.#lister(EVENTS);
    this.metricNames = this.#keyed(METRIC_NAMES);
    this.artifacts = this.#keyed(ARTIFACTS);
    this.alerts = this.#keyed(ALERTS);
    this.runAlerts = this.#keyed(RUN_ALERTS);
    this.telemetryRecords = this.#lister(TELEMETRY_RECORDS);
  }

  #lister<In, T>(spec: ListSpec<In, unknown, T>): Lister<In, T> {
    return new Lister(this.#transport, spec, { progress: this.#progress });
  }

  #keyed<In, T, Key, One>(spec: KeyedListSpec<In, unknown, T, Key, One>): KeyedLister<In, T, Key, One> {
    return new KeyedLister(this.#transport, spec, { progress: this.#progress });
  }

  /**
   * Every point of the chosen metrics of the chosen runs as one long table (run, metric, step, time, timestamp,
   * value), to turn into Arrow, CSV or JSON lines. Without `names`, every metric of each run.
   * @example
   * const table = await client.metricTable(await client.runs.listAll({ folder: '/cfd' }), ['residual/p']);
   * const arrow = await table.toArrow();
   */
  metricTable(
    runs: RunSelection,
    names?: string | readonly string[],
    options: MetricTableOptions = {},
  ): Promise<MetricTable> {
    return readMetricTable(this.#transport, this.metricNames, runs, names, {
      ...options,
      progress: options.progress ?? this.#progress,
    });
  }

  /**
   * Uploads the runs in the spool (offline runs, and what online runs kept while the server was away) that
   * belong to this server, and removes each one once all of it is on the server. Safe to run again: nothing is
   * stored twice. Spools still held by a live process are skipped unless `force`.
   */
  sync(options: SyncOptions = {}): Promise<SyncedRun[]> {
    return syncSpools(this.#transport, this.#spoolDir, this.#url, options);
  }

  getRun(idOrName: string): Promise<RunInfo> {
    return this.#transport.call('getRun', { params: { run: idOrName } });
  }

  /** Runs matching a filter (the filter language of docs/filter-language.md), newest first unless `sort` says. */
  getRuns(filter = '', options: { sort?: string; limit?: number } = {}): Promise<RunInfo[]> {
    const query = { filter: filter || undefined, sort: options.sort };
    return this.#listAll('listRuns', {}, query, options.limit ?? 100, 1000);
  }

  /**
   * Calls one route of the API's table (`ROUTES` of `@simscope/protocol`), for what the listers and methods here
   * do not cover (the admin routes, aborting a run).
   * @example const user = await client.call('createUser', { body: { name: 'ada' } });
   */
  call<R extends RouteName>(route: R, ...args: CallArgs<R, CallInput<R>>): Promise<RouteResponse<R>> {
    return this.#transport.call(route, ...(args as [CallInput<R>]));
  }

  /**
   * A listing route page by page, until it ends or `limit` items came (`pageSize` per request); `more` says
   * whether another page follows.
   * @example for await (const { items } of client.pages('listEvents', { params: { run }, pageSize: 10_000 })) show(items);
   */
  async *pages<R extends ListRouteName>(
    route: R,
    options: { params?: Record<string, string>; query?: PageQuery; limit?: number; pageSize: number },
  ): AsyncGenerator<{ items: ListItem<R>[]; more: boolean }> {
    const path = pathOf(ROUTES[route], options.params ?? {});
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    let count = 0;
    let next: string | null = null;
    const fetchPage = async (cursor: string | null) => {
      const query = {
        ...options.query,
        limit: Math.min(options.pageSize, limit - count),
        next: cursor ?? undefined,
      };
      const page = await requestPage(this.#transport, route, path, query);
      next = page.next;
      return page;
    };
    for await (const items of paginate(fetchPage, { maxItems: limit })) {
      count += items.length;
      yield { items, more: next !== null && count < limit };
    }
  }

  /** Pages through a listing until it ends or `limit` items are in. */
  async #listAll<R extends ListRouteName>(
    route: R,
    params: Record<string, string>,
    query: PageQuery,
    limit: number,
    pageSize: number,
  ): Promise<ListItem<R>[]> {
    const out: ListItem<R>[] = [];
    for await (const { items } of this.pages(route, { params, query, limit, pageSize })) out.push(...items);
    return out;
  }

  async getMetricNames(run: string): Promise<MetricInfo[]> {
    return (await this.metricNames.listAll({ run }, { progress: false })).items;
  }

  /**
   * Values of metrics against `xaxis`, for each run and name. With `maxPoints`, long series come downsampled
   * (M4: first, last, min and max of each of `maxPoints / 4` buckets).
   */
  async getMetricValues(
    runs: string | string[],
    names: string | string[],
    options: { xaxis?: 'step' | 'time' | 'timestamp'; maxPoints?: number } = {},
  ): Promise<MetricValues[]> {
    const xaxis = options.xaxis ?? 'step';
    const column = xaxis === 'step' ? 'steps' : xaxis === 'time' ? 'times' : 'timestamps';
    const out: MetricValues[] = [];
    for (const run of [runs].flat()) {
      for (const name of [names].flat()) {
        if (options.maxPoints) {
          const raw = await this.#transport.call('downsample', {
            params: { run },
            query: { name, x: xaxis, buckets: Math.max(1, Math.floor(options.maxPoints / 4)) },
            accept: MSGPACK_TYPE,
          });
          out.push({ run, name, ...m4Points(unpackr.unpack(raw) as Record<string, Uint8Array>) });
          continue;
        }
        const xs: Float64Array[] = [];
        const ys: Float64Array[] = [];
        for await (const page of seriesPages(this.#transport, run, { name, columns: `${xaxis},value` })) {
          const x = page[column];
          if (!x || !page.values) throw new Error(`a page of '${name}' came without ${column} or values`);
          xs.push(column === 'times' ? float64(x) : int64(x));
          ys.push(float64(page.values));
        }
        out.push({ run, name, x: concat(xs), values: concat(ys) });
      }
    }
    return out;
  }

  getEvents(
    run: string,
    options: { contains?: string; level?: EventLevel[]; limit?: number } = {},
  ): Promise<EventInfo[]> {
    const query = { q: options.contains, level: options.level?.join(',') };
    return this.#listAll('listEvents', { run }, query, options.limit ?? 1000, 10_000);
  }

  /** The alerts of one run with their states (`critical: true` for the critical ones only). */
  getAlerts(options: { run: string; critical?: boolean }): Promise<RunAlertInfo[]>;
  /** The workspace's alert definitions, each with its count of runs and of critical runs. */
  getAlerts(options?: { critical?: boolean; limit?: number }): Promise<AlertInfo[]>;
  async getAlerts(
    options: { run?: string; critical?: boolean; limit?: number } = {},
  ): Promise<RunAlertInfo[] | AlertInfo[]> {
    const critical = options.critical ? 'true' : undefined;
    if (options.run !== undefined) {
      const params = { run: options.run };
      return this.#listAll('listRunAlerts', params, { critical }, options.limit ?? Infinity, 1000);
    }
    return this.#listAll('listAlerts', {}, { critical }, options.limit ?? 1000, 1000);
  }

  /** The transitions of one alert on one run, oldest first. */
  getAlertHistory(
    run: string,
    alert: string,
    options: { limit?: number } = {},
  ): Promise<AlertTransitionInfo[]> {
    return this.#listAll('alertHistory', { run, alert }, {}, options.limit ?? 1000, 1000);
  }

  async deleteRun(run: string): Promise<void> {
    await this.#transport.call('deleteRun', { params: { run } });
  }

  async deleteRuns(runs: string[]): Promise<void> {
    for (const run of runs) await this.deleteRun(run);
  }

  /**
   * A run's artifacts by name, all of them or those the filter picks; a category alone may be given as text,
   * as Simvue's `list_artifacts(run, 'input')`.
   */
  listArtifacts(run: string, filter: ArtifactFilter | ArtifactCategory = {}): Promise<ArtifactInfo[]> {
    if (typeof filter === 'string') filter = { category: filter };
    else if (typeof filter !== 'object' || filter === null) {
      return Promise.reject(
        new ClientError(
          'invalid_field',
          `listArtifacts filter: expected an object or a category, got ${filter === null ? 'null' : typeof filter}`,
          0,
        ),
      );
    }
    return this.#listAll(
      'listArtifacts',
      { run },
      {
        category: filter.category === undefined ? undefined : checkCategory(filter.category),
        startsWith: filter.startsWith,
        contains: filter.contains,
        endsWith: filter.endsWith,
      },
      Number.MAX_SAFE_INTEGER,
      1000,
    );
  }

  /**
   * One step of a run's array series as a typed array of its dtype (the last step when `step` is absent; with
   * `nearest`, the stored step nearest to `step`); `region` takes numpy-style slicing such as `'::4,100:200'`.
   */
  getArray(
    run: string,
    name: string,
    step?: number,
    options: { region?: string; nearest?: boolean } = {},
  ): Promise<ArrayData> {
    return readArray(this.#transport, run, name, step, options);
  }

  /** The value of element `cell` (such as `[12, 40]`) at each step of an array series, from step `from`. */
  getArrayCell(
    run: string,
    name: string,
    cell: number[],
    options: { from?: number } = {},
  ): Promise<ArrayCellSeries> {
    return readArrayCell(this.#transport, run, name, cell, options.from);
  }

  /**
   * Writes array series `name` to an HDF5 file at `path` (datasets `NAME/data`, `NAME/step`, `NAME/time`, as the
   * recorder lays them out), calling `onProgress` as the server writes steps; returns the file's absolute path.
   */
  exportArrays(
    run: string,
    name: string,
    path: string,
    options: { onProgress?: (view: ArrayExportView) => void } = {},
  ): Promise<string> {
    return exportArrays(this.#transport, run, name, path, options.onProgress);
  }

  /**
   * Downloads one artifact into `path` (default: the working directory), keeping the directories of its name
   * (`system/controlDict` goes to `PATH/system/controlDict`); returns the file's path.
   */
  async getArtifactAsFile(
    run: string,
    name: string,
    options: { path?: string } | string = {},
  ): Promise<string> {
    if (typeof options === 'string') options = { path: options };
    return downloadArtifact(this.#transport, run, checkArtifactName(name), options.path ?? process.cwd());
  }

  /**
   * Downloads the artifacts the filter picks (all by default) into `path`, `concurrency` at a time (default 4);
   * returns the files' paths. Names are checked first: none can write outside `path`.
   */
  async getArtifactsAsFiles(
    run: string,
    options: (ArtifactFilter & { path?: string; concurrency?: number }) | string = {},
    category?: ArtifactCategory,
  ): Promise<string[]> {
    // Simvue's positional form: (run, path, category).
    if (typeof options === 'string') options = { path: options, ...(category ? { category } : {}) };
    else if (category !== undefined) {
      throw new ClientError(
        'invalid_field',
        'getArtifactsAsFiles: give the category in the options object, or the path as text before it',
        0,
      );
    }
    const dir = options.path ?? process.cwd();
    const artifacts = await this.listArtifacts(run, options);
    for (const a of artifacts) downloadTarget(dir, a.name);
    return mapLimit(artifacts, options.concurrency ?? 4, (a) =>
      downloadArtifact(this.#transport, run, a.name, dir),
    );
  }

  /** Reads an artifact into memory: JSON parsed, `.npy` as a typed array, anything else as bytes. */
  async getArtifactAsObject(run: string, name: string): Promise<unknown> {
    const { bytes, mimeType } = await downloadBytes(this.#transport, run, name);
    return decodeObject(bytes, mimeType);
  }

  async deleteArtifact(run: string, name: string): Promise<void> {
    await this.#transport.call('deleteArtifact', {
      params: { run },
      query: { name: checkArtifactName(name) },
    });
  }

  getFolders(options: { prefix?: string; parent?: string; limit?: number } = {}): Promise<FolderInfo[]> {
    const query = { prefix: options.prefix, parent: options.parent };
    return this.#listAll('listFolders', {}, query, options.limit ?? 1000, 1000);
  }
}

function concat(parts: Float64Array[]): Float64Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The points of M4 buckets in x order, without repeats: what a chart draws. */
function m4Points(b: Record<string, Uint8Array>): { x: Float64Array; values: Float64Array } {
  const col = (k: string) => float64(b[k] ?? new Uint8Array(0));
  const [count, fx, fy, lx, ly, nx, ny, mx, my] = M4_COLUMNS.map(col) as [Float64Array, ...Float64Array[]];
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < count.length; i++) {
    if (count[i] === 0) continue;
    const at = (c: Float64Array | undefined) => c?.[i] ?? Number.NaN;
    const pts: [number, number][] = [
      [at(fx), at(fy)],
      [at(nx), at(ny)],
      [at(mx), at(my)],
      [at(lx), at(ly)],
    ];
    pts.sort((a, c) => a[0] - c[0]);
    let last = Number.NaN;
    for (const [px, py] of pts) {
      if (Number.isNaN(px) || px === last) continue;
      x.push(px);
      y.push(py);
      last = px;
    }
  }
  return { x: Float64Array.from(x), values: Float64Array.from(y) };
}
