import { randomInt } from 'node:crypto';
import { type JsonObject, type MetricSeries, parseInput, runUpdateSchema } from '@simscope/protocol';
import type { ServiceContext } from '../../services/context.js';
import type { MetricService } from '../../services/metric-service.js';
import type { RunService } from '../../services/run-service.js';
import type { FolderRecord } from '../../store/folder-store.js';
import type { RunRecord } from '../../store/run-store.js';
import { MlflowError, missing } from './mlflow-errors.js';
import { asObject, type Input, type Point, str } from './mlflow-input.js';
import {
  DEFAULT_EXPERIMENT_ID,
  experimentId,
  type KeyValue,
  keyValues,
  metricValue,
  runInfoView,
} from './mlflow-views.js';

/** Experiments and runs as MLflow sees them, read and written through Simscope's run and metric services. */
export class MlflowRuns {
  readonly #runs: RunService;
  readonly #metrics: MetricService;

  constructor(runs: RunService, metrics: MetricService) {
    this.#runs = runs;
    this.#metrics = metrics;
  }

  async experimentFolder(c: ServiceContext, id: string): Promise<FolderRecord> {
    if (id === DEFAULT_EXPERIMENT_ID) return c.store.folders.ensureFolder(c.auth.workspace.id, '/', c.now());
    const folder = id.startsWith('/') ? undefined : await c.store.folders.getFolder(c.auth.workspace.id, id);
    if (!folder || folder.path === '/') {
      throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${id} exists`);
    }
    return folder;
  }

  async findRun(c: ServiceContext, input: Input): Promise<RunRecord> {
    const id = str(input, 'run_id') ?? str(input, 'run_uuid');
    if (id === undefined) throw missing('run_id');
    const run = await c.store.runs.getRun(c.auth.workspace.id, id);
    if (!run || run.id !== id) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run '${id}' not found`);
    return run;
  }

  async experimentOf(c: ServiceContext, run: RunRecord, cache = new Map<string, string>()) {
    let id = cache.get(run.folder);
    if (id === undefined) {
      const folder = await c.store.folders.getFolder(c.auth.workspace.id, run.folder);
      id = folder ? experimentId(folder) : DEFAULT_EXPERIMENT_ID;
      cache.set(run.folder, id);
    }
    return id;
  }

  async fullRun(c: ServiceContext, run: RunRecord, cache?: Map<string, string>) {
    const series = await c.store.metrics.listSeries(run.pk);
    const tags = keyValues({ ...asObject(run.metadata.tags), 'mlflow.runName': run.name });
    const inputs = Array.isArray(run.metadata.inputs) ? run.metadata.inputs : [];
    return {
      info: runInfoView(run, await this.experimentOf(c, run, cache)),
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
  async writeMetadata(c: ServiceContext, run: RunRecord, params: KeyValue[], tags: KeyValue[]) {
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
    await this.#runs.update(c, run.id, parseInput(runUpdateSchema, changes));
  }

  async logPoints(c: ServiceContext, run: RunRecord, points: Point[]) {
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
    await this.#metrics.ingest(c, run, { writer: 'mlflow', seq: randomInt(2 ** 47), clock: null, series });
  }
}
