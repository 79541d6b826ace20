import { randomInt } from 'node:crypto';
import {
  folderCreateSchema,
  formatFilter,
  type JsonObject,
  LIMITS,
  type MetricSeries,
  parseInput,
  type RouteScope,
  runCreateSchema,
  runUpdateSchema,
} from '@simscope/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import { decodeCursor, encodeCursor } from '../../services/cursor.js';
import { FolderService } from '../../services/folder-service.js';
import type { MetricService } from '../../services/metric-service.js';
import type { RunService } from '../../services/run-service.js';
import type { FolderRecord } from '../../store/folder-store.js';
import type { RunRecord } from '../../store/run-store.js';
import { invalid, MlflowError, missing } from './mlflow-errors.js';
import {
  mlflowFilterToSimscope,
  mlflowOrder,
  parseMlflowFilter,
  STATUS_FROM_MLFLOW,
} from './mlflow-filter.js';
import {
  DEFAULT_EXPERIMENT_ID,
  experimentId,
  experimentView,
  folderPath,
  type KeyValue,
  keyValues,
  metricValue,
  runInfoView,
} from './mlflow-views.js';

/** MLflow's limits on one `log-batch` request (mlflow/utils/validation.py). */
export const MLFLOW_LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  maxResults: 50_000,
  historyPage: 25_000,
} as const;

export interface MlflowRoutesOptions {
  ctx(request: FastifyRequest): ServiceContext;
  runs: RunService;
  metrics: MetricService;
  authenticate(scope: RouteScope): (request: FastifyRequest) => Promise<void>;
}

type Input = Record<string, unknown>;

const KEY_PATTERN = /^[/\w.\- ]*$/;

function str(input: Input, field: string, required: true): string;
function str(input: Input, field: string, required?: false): string | undefined;
function str(input: Input, field: string, required = false): string | undefined {
  const value = input[field];
  if (value === undefined || value === null || value === '') {
    if (required) throw missing(field);
    return undefined;
  }
  if (typeof value !== 'string') throw invalid(field, value, 'expected a string');
  return value;
}

function int(input: Input, field: string): number | undefined {
  const raw = input[field];
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw invalid(field, raw, 'expected an integer');
  return value;
}

function list(input: Input, field: string): unknown[] {
  const value = input[field];
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) throw invalid(field, value, 'expected a list');
  return value;
}

function checkKey(key: unknown, field: string): string {
  if (typeof key !== 'string' || key === '') throw missing(`${field}.key`);
  if (key.length > MLFLOW_LIMITS.keyLength) {
    throw invalid(
      `${field}.key`,
      key,
      `length ${key.length} exceeds the limit of ${MLFLOW_LIMITS.keyLength}`,
    );
  }
  if (!KEY_PATTERN.test(key) || key.split('/').includes('..') || key.startsWith('/')) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid name '${key}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).`,
    );
  }
  return key;
}

function keyValue(raw: unknown, field: string, maxValue: number): KeyValue {
  if (typeof raw !== 'object' || raw === null) throw invalid(field, raw, 'expected an object');
  const entry = raw as Input;
  const key = checkKey(entry.key, field);
  const value = entry.value === undefined || entry.value === null ? '' : entry.value;
  if (typeof value !== 'string') throw invalid(`${field}.value`, value, 'expected a string');
  if (value.length > maxValue) {
    throw invalid(
      `${field}.value`,
      `${value.slice(0, 20)}...`,
      `length ${value.length} exceeds the limit of ${maxValue}`,
    );
  }
  return { key, value };
}

interface Point {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };

function metricPoint(raw: unknown, field: string): Point {
  if (typeof raw !== 'object' || raw === null) throw invalid(field, raw, 'expected an object');
  const entry = raw as Input;
  const key = checkKey(entry.key, field);
  let value = entry.value;
  if (typeof value === 'string' && value in NON_FINITE) value = NON_FINITE[value];
  if (typeof value !== 'number') {
    if (value === undefined || value === null) throw missing(`${field}.value`);
    throw invalid(`${field}.value`, value, 'expected a number');
  }
  const timestamp = int(entry, 'timestamp');
  if (timestamp === undefined) throw missing(`${field}.timestamp`);
  if (timestamp < 0 || timestamp > LIMITS.maxMicros / 1000) {
    throw invalid(`${field}.timestamp`, timestamp, 'expected milliseconds since the epoch');
  }
  return { key, value, timestamp, step: int(entry, 'step') ?? 0 };
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Where MLflow keeps a page position: our cursor, opaque to the client. */
function pageToken(input: Input): string | undefined {
  return str(input, 'page_token');
}

/** The MLflow REST API 2.0 over Simscope's services; registered twice (under `api/` and `ajax-api/`). */
export function registerMlflowRoutes(app: FastifyInstance, options: MlflowRoutesOptions): void {
  const { ctx, runs, metrics } = options;
  const folders = new FolderService();

  const route = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    scope: RouteScope,
    handler: (input: Input, c: ServiceContext) => Promise<unknown>,
  ) => {
    for (const base of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
      app.route({
        method,
        url: `${base}${path}`,
        onRequest: options.authenticate(scope),
        handler: async function mlflowRoute(request) {
          const input = asObject(method === 'GET' ? request.query : request.body);
          return handler(input, ctx(request));
        },
      });
    }
  };

  async function experimentFolder(c: ServiceContext, id: string): Promise<FolderRecord> {
    if (id === DEFAULT_EXPERIMENT_ID) return c.store.folders.ensureFolder(c.auth.workspace.id, '/', c.now());
    const folder = id.startsWith('/') ? undefined : await c.store.folders.getFolder(c.auth.workspace.id, id);
    if (!folder || folder.path === '/') {
      throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${id} exists`);
    }
    return folder;
  }

  async function findRun(c: ServiceContext, input: Input): Promise<RunRecord> {
    const id = str(input, 'run_id') ?? str(input, 'run_uuid');
    if (id === undefined) throw missing('run_id');
    const run = await c.store.runs.getRun(c.auth.workspace.id, id);
    if (!run || run.id !== id) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run '${id}' not found`);
    return run;
  }

  async function experimentOf(c: ServiceContext, run: RunRecord, cache = new Map<string, string>()) {
    let id = cache.get(run.folder);
    if (id === undefined) {
      const folder = await c.store.folders.getFolder(c.auth.workspace.id, run.folder);
      id = folder ? experimentId(folder) : DEFAULT_EXPERIMENT_ID;
      cache.set(run.folder, id);
    }
    return id;
  }

  async function fullRun(c: ServiceContext, run: RunRecord, cache?: Map<string, string>) {
    const series = await c.store.metrics.listSeries(run.pk);
    const tags = keyValues({ ...asObject(run.metadata.tags), 'mlflow.runName': run.name });
    const inputs = Array.isArray(run.metadata.inputs) ? run.metadata.inputs : [];
    return {
      info: runInfoView(run, await experimentOf(c, run, cache)),
      data: {
        metrics: series
          .filter((s) => s.lastValue !== null || s.count > 0)
          .map((s) => ({
            key: s.name,
            value: metricValue(s.lastValue ?? Number.NaN),
            timestamp: Math.floor((s.lastTimestamp ?? 0) / 1000),
            step: s.lastStep ?? 0,
          })),
        params: keyValues(run.metadata.params),
        tags,
      },
      inputs: { dataset_inputs: inputs },
    };
  }

  /** Stores params (refusing a change of a logged value, as MLflow does) and tags in the run's metadata. */
  async function writeMetadata(c: ServiceContext, run: RunRecord, params: KeyValue[], tags: KeyValue[]) {
    if (params.length === 0 && tags.length === 0) return;
    const metadata: JsonObject = {};
    const changes: { name?: string; description?: string | null; metadata: JsonObject } = { metadata };
    if (params.length > 0) {
      const old = asObject(run.metadata.params);
      const next: JsonObject = { ...(old as JsonObject) };
      for (const { key, value } of params) {
        const had = old[key];
        if (had !== undefined && had !== value) {
          throw new MlflowError(
            'INVALID_PARAMETER_VALUE',
            `Changing param values is not allowed. Param with key='${key}' was already logged with value='${String(had)}' for run ID='${run.id}'. Attempted logging new value '${value}'.`,
          );
        }
        next[key] = value;
      }
      metadata.params = next;
    }
    if (tags.length > 0) {
      const next: JsonObject = { ...(asObject(run.metadata.tags) as JsonObject) };
      for (const { key, value } of tags) {
        next[key] = value;
        if (key === 'mlflow.runName' && value !== '') changes.name = value;
        if (key === 'mlflow.note.content') changes.description = value;
      }
      metadata.tags = next;
    }
    await runs.update(c, run.id, parseInput(runUpdateSchema, changes));
  }

  async function logPoints(c: ServiceContext, run: RunRecord, points: Point[]) {
    if (points.length === 0) return;
    const byKey = new Map<string, Point[]>();
    for (const p of points) {
      const list = byKey.get(p.key);
      if (list) list.push(p);
      else byKey.set(p.key, [p]);
    }
    const series: MetricSeries[] = [...byKey].map(([name, list]) => ({
      name,
      steps: Float64Array.from(list, (p) => p.step),
      times: null,
      timestamps: Float64Array.from(list, (p) => p.timestamp * 1000),
      values: Float64Array.from(list, (p) => p.value),
    }));
    // Each request is its own batch: MLflow clients number nothing, so a random seq keeps batches apart.
    await metrics.ingest(c, run, { writer: 'mlflow', seq: randomInt(2 ** 47), clock: null, series });
  }

  route('POST', '/experiments/create', 'write', async (input, c) => {
    const name = str(input, 'name', true);
    const path = parseInput(folderCreateSchema, { path: folderPath(name) }).path;
    if (await c.store.folders.getFolder(c.auth.workspace.id, path)) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
    }
    const tags = list(input, 'tags').map((t, i) => keyValue(t, `tags[${i}]`, MLFLOW_LIMITS.tagValueLength));
    const created = await folders.create(c, {
      path,
      ...(tags.length ? { metadata: { tags: Object.fromEntries(tags.map((t) => [t.key, t.value])) } } : {}),
    });
    return { experiment_id: experimentId(created) };
  });

  route('GET', '/experiments/get', 'read', async (input, c) => ({
    experiment: experimentView(await experimentFolder(c, str(input, 'experiment_id', true))),
  }));

  route('GET', '/experiments/get-by-name', 'read', async (input, c) => {
    const name = str(input, 'experiment_name', true);
    const path = folderPath(name);
    const folder =
      path === '/'
        ? await experimentFolder(c, DEFAULT_EXPERIMENT_ID)
        : path.startsWith('/') && (await c.store.folders.getFolder(c.auth.workspace.id, path));
    if (!folder || folder.path !== path) {
      throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'`);
    }
    return { experiment: experimentView(folder) };
  });

  const searchExperiments = async (input: Input, c: ServiceContext) => {
    const max = int(input, 'max_results') ?? 1000;
    if (max < 1 || max > MLFLOW_LIMITS.maxResults) {
      throw invalid('max_results', max, `must be between 1 and ${MLFLOW_LIMITS.maxResults}`);
    }
    const match = experimentNameMatcher(str(input, 'filter'));
    await c.store.folders.ensureFolder(c.auth.workspace.id, '/', c.now());
    const token = pageToken(input);
    let after = token ? (decodeCursor(token, ['string'])[0] as string) : null;
    const out: ReturnType<typeof experimentView>[] = [];
    // Reads folders in path order; stops at `max` matches or after a bounded scan, and says where it stopped.
    for (let scanned = 0; scanned < 10_000; ) {
      const rows = await c.store.folders.listFolders(c.auth.workspace.id, {
        parent: null,
        prefix: null,
        after,
        limit: 1000,
      });
      for (const folder of rows) {
        scanned++;
        after = folder.path;
        const view = experimentView(folder);
        if (match(view.name)) out.push(view);
        if (out.length === max) break;
      }
      if (out.length === max || rows.length < 1000) {
        const more = out.length === max && (rows.length === 1000 || rows.at(-1)?.path !== after);
        return more ? { experiments: out, next_page_token: encodeCursor([after]) } : { experiments: out };
      }
    }
    return { experiments: out, next_page_token: encodeCursor([after]) };
  };
  route('POST', '/experiments/search', 'read', searchExperiments);
  route('GET', '/experiments/search', 'read', searchExperiments);

  route('POST', '/runs/create', 'write', async (input, c) => {
    const folder = await experimentFolder(c, str(input, 'experiment_id') ?? DEFAULT_EXPERIMENT_ID);
    const tags = list(input, 'tags').map((t, i) => keyValue(t, `tags[${i}]`, MLFLOW_LIMITS.tagValueLength));
    const tagMap = Object.fromEntries(tags.map((t) => [t.key, t.value]));
    const name = str(input, 'run_name') ?? (tagMap['mlflow.runName'] || undefined);
    const start = int(input, 'start_time');
    const note = tagMap['mlflow.note.content'];
    const body = parseInput(runCreateSchema, {
      folder: folder.path,
      ...(name === undefined ? {} : { name }),
      ...(start === undefined ? {} : { createdAt: Math.min(start * 1000, c.now()) }),
      ...(note === undefined ? {} : { description: note }),
      metadata: tags.length ? { tags: tagMap } : {},
      status: 'running',
    });
    const view = await runs.create(c, body);
    return { run: await fullRun(c, await runs.find(c, view.id)) };
  });

  route('GET', '/runs/get', 'read', async (input, c) => ({ run: await fullRun(c, await findRun(c, input)) }));

  route('POST', '/runs/update', 'write', async (input, c) => {
    const run = await findRun(c, input);
    const status = str(input, 'status');
    const end = int(input, 'end_time');
    const name = str(input, 'run_name');
    const mapped = status === undefined ? undefined : STATUS_FROM_MLFLOW[status]?.[0];
    if (status !== undefined && mapped === undefined)
      throw invalid('status', status, 'expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED');
    const changes: Record<string, unknown> = {};
    if (name !== undefined) changes.name = name;
    if (mapped !== undefined && !(mapped === 'running' && run.status === 'lost') && mapped !== run.status) {
      changes.status = mapped;
      if (end !== undefined) changes.statusAt = Math.min(end * 1000, c.now());
    }
    await runs.update(c, run.id, parseInput(runUpdateSchema, changes));
    return { run_info: runInfoView(await runs.find(c, run.id), await experimentOf(c, run)) };
  });

  route('POST', '/runs/delete', 'write', async (input, c) => {
    await runs.delete(c, (await findRun(c, input)).id);
    return {};
  });

  route('POST', '/runs/log-metric', 'write', async (input, c) => {
    const run = await findRun(c, input);
    await logPoints(c, run, [metricPoint(input, 'metric')]);
    return {};
  });

  route('POST', '/runs/log-parameter', 'write', async (input, c) => {
    const run = await findRun(c, input);
    await writeMetadata(c, run, [keyValue(input, 'param', MLFLOW_LIMITS.paramValueLength)], []);
    return {};
  });

  route('POST', '/runs/set-tag', 'write', async (input, c) => {
    const run = await findRun(c, input);
    await writeMetadata(c, run, [], [keyValue(input, 'tag', MLFLOW_LIMITS.tagValueLength)]);
    return {};
  });

  route('POST', '/runs/delete-tag', 'write', async (input, c) => {
    const run = await findRun(c, input);
    const key = str(input, 'key', true);
    const tags = asObject(run.metadata.tags);
    if (!(key in tags)) {
      throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key} in run with id ${run.id}`);
    }
    const { [key]: _removed, ...rest } = tags;
    await runs.update(c, run.id, parseInput(runUpdateSchema, { metadata: { tags: rest } }));
    return {};
  });

  route('POST', '/runs/log-batch', 'write', async (input, c) => {
    const run = await findRun(c, input);
    const rawMetrics = list(input, 'metrics');
    const rawParams = list(input, 'params');
    const rawTags = list(input, 'tags');
    const tooMany = (what: string, got: number, max: number) =>
      new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `A batch logging request can contain at most ${max} ${what}. Got ${got} ${what}. Please split up ${what} across multiple requests and try again.`,
      );
    if (rawMetrics.length > MLFLOW_LIMITS.metricsPerBatch) {
      throw tooMany('metrics', rawMetrics.length, MLFLOW_LIMITS.metricsPerBatch);
    }
    if (rawParams.length > MLFLOW_LIMITS.paramsPerBatch)
      throw tooMany('params', rawParams.length, MLFLOW_LIMITS.paramsPerBatch);
    if (rawTags.length > MLFLOW_LIMITS.tagsPerBatch)
      throw tooMany('tags', rawTags.length, MLFLOW_LIMITS.tagsPerBatch);
    const total = rawMetrics.length + rawParams.length + rawTags.length;
    if (total > MLFLOW_LIMITS.entitiesPerBatch) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `A batch logging request can contain at most ${MLFLOW_LIMITS.entitiesPerBatch} total metrics, params, and tags. Got ${total} entities.`,
      );
    }
    const points = rawMetrics.map((m, i) => metricPoint(m, `metrics[${i}]`));
    const params = rawParams.map((p, i) => keyValue(p, `params[${i}]`, MLFLOW_LIMITS.paramValueLength));
    const seen = new Map<string, string>();
    for (const p of params) {
      if (seen.has(p.key) && seen.get(p.key) !== p.value) {
        throw new MlflowError(
          'INVALID_PARAMETER_VALUE',
          `Duplicate parameter keys have been submitted: ['${p.key}']. Please ensure the request contains only one param value per param key.`,
        );
      }
      seen.set(p.key, p.value);
    }
    const tags = rawTags.map((t, i) => keyValue(t, `tags[${i}]`, MLFLOW_LIMITS.tagValueLength));
    await writeMetadata(c, run, params, tags);
    await logPoints(c, run, points);
    return {};
  });

  route('POST', '/runs/log-inputs', 'write', async (input, c) => {
    const run = await findRun(c, input);
    const datasets = list(input, 'datasets');
    for (const [i, d] of datasets.entries()) {
      const dataset = asObject(asObject(d).dataset);
      if (typeof dataset.name !== 'string' || typeof dataset.digest !== 'string') {
        throw missing(`datasets[${i}].dataset.name and digest`);
      }
    }
    if (datasets.length === 0) return {};
    const old = Array.isArray(run.metadata.inputs) ? run.metadata.inputs : [];
    await runs.update(
      c,
      run.id,
      parseInput(runUpdateSchema, { metadata: { inputs: [...old, ...datasets] } }),
    );
    return {};
  });

  route('GET', '/metrics/get-history', 'read', async (input, c) => {
    const run = await findRun(c, input);
    const key = str(input, 'metric_key', true);
    const max = int(input, 'max_results') ?? MLFLOW_LIMITS.historyPage;
    if (max < 1 || max > MLFLOW_LIMITS.historyPage) {
      throw invalid('max_results', max, `must be between 1 and ${MLFLOW_LIMITS.historyPage}`);
    }
    if (!(await c.store.metrics.getSeries(run.pk, key))) return { metrics: [] };
    const token = pageToken(input);
    const { page, next } = await metrics.series(c, run, {
      name: key,
      columns: ['step', 'timestamp', 'value'],
      from: null,
      to: null,
      limit: max,
      ...(token === undefined ? {} : { next: token }),
    });
    const points = [];
    for (let i = 0; i < page.values.length; i++) {
      points.push({
        key,
        value: metricValue(page.values[i]!),
        timestamp: Math.floor(page.timestamps[i]! / 1000),
        step: page.steps[i]!,
      });
    }
    return next ? { metrics: points, next_page_token: next } : { metrics: points };
  });

  const searchRuns = async (input: Input, c: ServiceContext) => {
    const ids = list(input, 'experiment_ids').map(String);
    const max = int(input, 'max_results') ?? 1000;
    if (max < 1 || max > MLFLOW_LIMITS.maxResults) {
      throw invalid('max_results', max, `must be between 1 and ${MLFLOW_LIMITS.maxResults}`);
    }
    const view = str(input, 'run_view_type');
    if (view === 'DELETED_ONLY') return { runs: [] };
    const experiments = await Promise.all(ids.map((id) => experimentFolder(c, id)));
    const where = mlflowFilterToSimscope(parseMlflowFilter(str(input, 'filter') ?? ''));
    if (experiments.length > 0) {
      where.unshift({
        kind: 'or',
        items: experiments.map((f) => ({
          kind: 'compare' as const,
          field: { kind: 'run' as const, name: 'folder' as const },
          op: '==' as const,
          value: { kind: 'string' as const, value: f.path },
        })),
      });
    }
    const orderBy = list(input, 'order_by').map(String);
    const token = pageToken(input);
    const page = await runs.list(c, {
      ...(where.length ? { filter: formatFilter({ kind: 'and', items: where }) } : {}),
      sort: mlflowOrder(orderBy),
      limit: Math.min(max, LIMITS.pageSize),
      ...(token === undefined ? {} : { next: token }),
    });
    const cache = new Map<string, string>();
    const out = [];
    for (const item of page.items) out.push(await fullRun(c, await runs.find(c, item.id), cache));
    return page.next ? { runs: out, next_page_token: page.next } : { runs: out };
  };
  route('POST', '/runs/search', 'read', searchRuns);
  route('GET', '/runs/search', 'read', searchRuns);
}

/** The experiment filter of `search-experiments`: `name = 'x'`, `name != 'x'`, `name LIKE 'x%'`, `name ILIKE …`. */
function experimentNameMatcher(filter: string | undefined): (name: string) => boolean {
  if (!filter) return () => true;
  const clauses = parseMlflowFilter(filter);
  const tests = clauses.map((clause) => {
    if (clause.entity !== 'attribute' || clause.key !== 'name' || typeof clause.values[0] !== 'string') {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `Invalid filter '${filter}': this server filters experiments by name only`,
      );
    }
    const value = clause.values[0];
    switch (clause.op) {
      case '=':
        return (name: string) => name === value;
      case '!=':
        return (name: string) => name !== value;
      case 'LIKE':
      case 'ILIKE': {
        const flags = clause.op === 'ILIKE' ? 'i' : '';
        const source = value
          .replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
          .replace(/%/g, '.*')
          .replace(/_/g, '.');
        const regex = new RegExp(`^${source}$`, flags);
        return (name: string) => regex.test(name);
      }
      default:
        throw new MlflowError(
          'INVALID_PARAMETER_VALUE',
          `Invalid comparator '${clause.op}' for experiment name`,
        );
    }
  });
  return (name) => tests.every((test) => test(name));
}
