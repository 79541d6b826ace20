import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  folderCreateSchema,
  formatFilter,
  type JsonObject,
  LIMITS,
  parseInput,
  type RouteScope,
  runCreateSchema,
  runUpdateSchema,
} from '@simscope/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import { decodeCursor, encodeCursor } from '../../services/cursor.js';
import { FolderService } from '../../services/folder-service.js';
import type { MetricService } from '../../services/metric-service.js';
import type { RunService } from '../../services/run-service.js';
import { invalid, MlflowError, missing } from './mlflow-errors.js';
import {
  experimentNameMatcher,
  mlflowFilterToSimscope,
  mlflowOrder,
  parseMlflowFilter,
  STATUS_FROM_MLFLOW,
} from './mlflow-filter.js';
import {
  asObject,
  checkBatchLimits,
  checkUniqueParams,
  type Input,
  int,
  keyValue,
  list,
  MLFLOW_LIMITS,
  metricPoint,
  pageToken,
  str,
} from './mlflow-input.js';
import { MlflowRuns } from './mlflow-runs.js';
import {
  DEFAULT_EXPERIMENT_ID,
  experimentId,
  experimentView,
  folderPath,
  metricValue,
  runInfoView,
} from './mlflow-views.js';

export interface MlflowRoutesOptions {
  ctx(request: FastifyRequest): ServiceContext;
  runs: RunService;
  metrics: MetricService;
  authenticate(scope: RouteScope): (request: FastifyRequest) => Promise<void>;
}

/**
 * A run id MLflow's Python client accepts (`get_run` checks `^[a-zA-Z0-9][\w\-]{0,255}$`): Simscope's 16
 * characters, never starting with `-` or `_`.
 */
function mlflowRunId(): string {
  for (;;) {
    const id = randomBytes(12).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

type Handler = (input: Input, c: ServiceContext, reply: FastifyReply) => Promise<unknown>;
type Route = (method: 'GET' | 'POST', path: string, scope: RouteScope, handler: Handler) => void;

/** The MLflow REST API 2.0 over Simscope's services; each route is served under `api/` and `ajax-api/`. */
export function registerMlflowRoutes(app: FastifyInstance, options: MlflowRoutesOptions): void {
  const route: Route = (method, path, scope, handler) => {
    for (const base of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
      app.route({
        method,
        url: `${base}${path}`,
        onRequest: options.authenticate(scope),
        handler: async function mlflowRoute(request, reply) {
          const input = asObject(method === 'GET' ? request.query : request.body);
          return handler(input, options.ctx(request), reply);
        },
      });
    }
  };
  const api = new MlflowRuns(options.runs, options.metrics);
  registerExperimentRoutes(route, api);
  registerRunRoutes(route, api, options.runs);
  registerLoggingRoutes(route, api, options.runs);
  registerReadRoutes(route, api, options.runs, options.metrics);
}

/** create, get, get-by-name and search of experiments (folders). */
function registerExperimentRoutes(route: Route, api: MlflowRuns): void {
  const folders = new FolderService();
  route('POST', '/experiments/create', 'write', async (input, c) => {
    const name = str(input, 'name', true);
    const path = parseInput(folderCreateSchema, { path: folderPath(name) }).path;
    if (await c.store.folders.getFolder(c.auth.workspace.id, path)) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
    }
    const tags = list(input, 'tags').map((t, i) => keyValue(t, 'tag', `tags[${i}]`));
    const created = await folders.create(c, {
      path,
      ...(tags.length ? { metadata: { tags: Object.fromEntries(tags.map((t) => [t.key, t.value])) } } : {}),
    });
    return { experiment_id: experimentId(created) };
  });

  route('GET', '/experiments/get', 'read', async (input, c) => ({
    experiment: experimentView(await api.experimentFolder(c, str(input, 'experiment_id', true))),
  }));

  route('POST', '/experiments/set-experiment-tag', 'write', async (input, c) => {
    const folder = await api.experimentFolder(c, str(input, 'experiment_id', true));
    const tag = keyValue(input, 'tag', '');
    const tags = { ...asObject(folder.metadata.tags), [tag.key]: tag.value } as JsonObject;
    await folders.update(c, folder.id, { metadata: { tags } });
    return {};
  });

  route('GET', '/experiments/get-by-name', 'read', async (input, c) => {
    const name = str(input, 'experiment_name', true);
    const path = folderPath(name);
    const folder =
      path === '/'
        ? await api.experimentFolder(c, DEFAULT_EXPERIMENT_ID)
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
}

/** create, get, update and delete of runs. */
function registerRunRoutes(route: Route, api: MlflowRuns, runs: RunService): void {
  route('POST', '/runs/create', 'write', async (input, c) => {
    const folder = await api.experimentFolder(c, str(input, 'experiment_id') ?? DEFAULT_EXPERIMENT_ID);
    const tags = list(input, 'tags').map((t, i) => keyValue(t, 'tag', `tags[${i}]`));
    const tagMap = Object.fromEntries(tags.map((t) => [t.key, t.value]));
    const name = str(input, 'run_name') ?? (tagMap['mlflow.runName'] || undefined);
    const start = int(input, 'start_time');
    const note = tagMap['mlflow.note.content'];
    const body = parseInput(runCreateSchema, {
      id: mlflowRunId(),
      folder: folder.path,
      ...(name === undefined ? {} : { name }),
      ...(start === undefined ? {} : { createdAt: Math.min(start * 1000, c.now()) }),
      ...(note === undefined ? {} : { description: note }),
      metadata: tags.length ? { tags: tagMap } : {},
      status: 'running',
    });
    const view = await runs.create(c, body);
    return { run: await api.fullRun(c, await runs.find(c, view.id)) };
  });

  route('GET', '/runs/get', 'read', async (input, c) => ({
    run: await api.fullRun(c, await api.findRun(c, input)),
  }));

  route('POST', '/runs/update', 'write', async (input, c) => {
    const run = await api.findRun(c, input);
    const status = str(input, 'status');
    const end = int(input, 'end_time');
    const name = str(input, 'run_name');
    const mapped = status === undefined ? undefined : STATUS_FROM_MLFLOW[status]?.[0];
    if (status !== undefined && mapped === undefined)
      throw invalid('status', status, 'expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED');
    const changes: Record<string, unknown> = {};
    if (name !== undefined) changes.name = name;
    // `start_run(run_id=…)` sets an ended run RUNNING to log more; Simscope keeps it ended (its status rules) and
    // takes the points, as MLflow does.
    const resumes = mapped === 'running' && run.status !== 'created';
    if (mapped !== undefined && !resumes && mapped !== run.status) {
      changes.status = mapped;
      if (end !== undefined) changes.statusAt = Math.min(end * 1000, c.now());
    }
    await runs.update(c, run.id, parseInput(runUpdateSchema, changes));
    return { run_info: runInfoView(await runs.find(c, run.id), await api.experimentOf(c, run)) };
  });

  route('POST', '/runs/delete', 'write', async (input, c) => {
    await runs.delete(c, (await api.findRun(c, input)).id);
    return {};
  });
}

/** log-metric, log-parameter, set-tag, delete-tag, log-batch and log-inputs. */
function registerLoggingRoutes(route: Route, api: MlflowRuns, runs: RunService): void {
  route('POST', '/runs/log-metric', 'write', async (input, c) => {
    const run = await api.findRun(c, input);
    await api.logPoints(c, run, [metricPoint(input, '')]);
    return {};
  });

  route('POST', '/runs/log-parameter', 'write', async (input, c) => {
    const run = await api.findRun(c, input);
    await api.writeMetadata(c, run, [keyValue(input, 'parameter', '')], []);
    return {};
  });

  route('POST', '/runs/set-tag', 'write', async (input, c) => {
    const run = await api.findRun(c, input);
    await api.writeMetadata(c, run, [], [keyValue(input, 'tag', '')]);
    return {};
  });

  route('POST', '/runs/delete-tag', 'write', async (input, c) => {
    const run = await api.findRun(c, input);
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
    const run = await api.findRun(c, input);
    const rawMetrics = list(input, 'metrics');
    const rawParams = list(input, 'params');
    const rawTags = list(input, 'tags');
    checkBatchLimits(rawMetrics.length, rawParams.length, rawTags.length);
    const points = rawMetrics.map((m, i) => metricPoint(m, `metrics[${i}]`));
    const params = rawParams.map((p, i) => keyValue(p, 'parameter', `params[${i}]`));
    checkUniqueParams(params);
    const tags = rawTags.map((t, i) => keyValue(t, 'tag', `tags[${i}]`));
    await api.writeMetadata(c, run, params, tags);
    await api.logPoints(c, run, points);
    return {};
  });

  // As MLflow's server does: each logged model's JSON is appended to the tag `mlflow.log-model.history`.
  route('POST', '/runs/log-model', 'write', async (input, c) => {
    const run = await api.findRun(c, input);
    const modelJson = str(input, 'model_json', true);
    let model: unknown;
    try {
      model = JSON.parse(modelJson);
    } catch {
      throw invalid('model_json', `${modelJson.slice(0, 40)}`, 'expected a JSON object');
    }
    const key = 'mlflow.log-model.history';
    const old = asObject(run.metadata.tags)[key];
    let history: unknown[] = [];
    if (typeof old === 'string') {
      try {
        const parsed: unknown = JSON.parse(old);
        if (Array.isArray(parsed)) history = parsed;
      } catch {
        history = [];
      }
    }
    await api.writeMetadata(c, run, [], [{ key, value: JSON.stringify([...history, model]) }]);
    return {};
  });

  route('POST', '/runs/log-inputs', 'write', async (input, c) => {
    const run = await api.findRun(c, input);
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
}

/** get-history and search-runs. */
function registerReadRoutes(route: Route, api: MlflowRuns, runs: RunService, metrics: MetricService): void {
  route('GET', '/metrics/get-history', 'read', async (input, c, reply) => {
    const run = await api.findRun(c, input);
    const key = str(input, 'metric_key', true);
    const asked = int(input, 'max_results');
    if (asked !== undefined && (asked < 1 || asked > MLFLOW_LIMITS.historyPage)) {
      throw invalid('max_results', asked, `must be between 1 and ${MLFLOW_LIMITS.historyPage}`);
    }
    if (!(await c.store.metrics.getSeries(run.pk, key))) return { metrics: [] };
    const read = (limit: number, next: string | null) =>
      metrics.series(c, run, {
        name: key,
        columns: ['step', 'timestamp', 'value'],
        from: null,
        to: null,
        limit,
        ...(next === null ? {} : { next }),
      });
    // MLflow's Python client asks without max_results and follows no token: it gets the whole history (up to
    // `historyAll` points). Pages are read and written out one at a time, so the event loop turns between them;
    // the first is read before answering, so a bad token is still an MLflow error.
    const budget = asked ?? MLFLOW_LIMITS.historyAll;
    let current = await read(Math.min(MLFLOW_LIMITS.historyPage, budget), pageToken(input) ?? null);
    async function* history() {
      yield '{"metrics":[';
      let count = 0;
      for (;;) {
        const { page } = current;
        const points = new Array(page.values.length);
        for (let i = 0; i < points.length; i++) {
          points[i] = {
            key,
            value: metricValue(page.values[i] ?? Number.NaN),
            timestamp: Math.floor((page.timestamps[i] ?? 0) / 1000),
            step: page.steps[i] ?? 0,
          };
        }
        if (points.length > 0) yield `${count > 0 ? ',' : ''}${JSON.stringify(points).slice(1, -1)}`;
        count += points.length;
        if (current.next === null || count >= budget) break;
        current = await read(Math.min(MLFLOW_LIMITS.historyPage, budget - count), current.next);
      }
      yield current.next === null ? ']}' : `],"next_page_token":${JSON.stringify(current.next)}}`;
    }
    return reply.type('application/json; charset=utf-8').send(Readable.from(history()));
  });

  const searchRuns = async (input: Input, c: ServiceContext) => {
    const ids = list(input, 'experiment_ids').map(String);
    const max = int(input, 'max_results') ?? 1000;
    if (max < 1 || max > MLFLOW_LIMITS.maxResults) {
      throw invalid('max_results', max, `must be between 1 and ${MLFLOW_LIMITS.maxResults}`);
    }
    const view = str(input, 'run_view_type');
    if (view === 'DELETED_ONLY') return { runs: [] };
    const experiments = await Promise.all(ids.map((id) => api.experimentFolder(c, id)));
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
    for (const item of page.items) out.push(await api.fullRun(c, await runs.find(c, item.id), cache));
    return page.next ? { runs: out, next_page_token: page.next } : { runs: out };
  };
  route('POST', '/runs/search', 'read', searchRuns);
  route('GET', '/runs/search', 'read', searchRuns);
}
