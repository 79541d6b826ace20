import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConstructorProps } from 'mlflow/lib/mlflow.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../packages/server/src/blob/local-blob-store.js';
import { ADMIN_TOKEN, BACKENDS, openTestApp, type TestApp } from '../test/fixtures.js';

// The npm `mlflow` client (2.0.7) is CommonJS whose types declare `export default`: required, so that the values
// and their declared types agree under NodeNext.
const require = createRequire(import.meta.url);
const { default: MLflow, MLflowBase } =
  require('mlflow/lib/mlflow.js') as typeof import('mlflow/lib/mlflow.js');
const { RunStatus, ViewType } = require('mlflow/enum.js') as typeof import('mlflow/enum.js');

type Experiment = import('mlflow/lib/interface.js').Experiment;

/**
 * Calls the package lacks or gets wrong, sent through its own request code: it predates MLflow 2.0's
 * `experiments/search` and `get-by-name`, and its `setExperimentTag` drops the `/` before the path.
 */
class MissingCalls extends MLflowBase {
  constructor(args: ConstructorProps) {
    super(args);
    this.path = '/experiments';
  }
  search(body: {
    filter?: string;
    max_results?: number;
    page_token?: string;
  }): Promise<{ experiments: Experiment[]; next_page_token?: string }> {
    return this.req('post', '/search', body);
  }
  getByName(experiment_name: string): Promise<{ experiment: Experiment }> {
    return this.req('get', '/get-by-name', { experiment_name });
  }
  setTag(experiment_id: string, key: string, value: string): Promise<unknown> {
    return this.req('post', '/set-experiment-tag', { experiment_id, key, value });
  }
}

/** What the client refused: it throws `Error(Error(JSON.stringify({ status, statusText, data })))`. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; data: unknown }> {
  try {
    await call;
  } catch (error) {
    const { status, data } = JSON.parse((error as Error).message.replace(/^Error: /, ''));
    return { status, data };
  }
  throw new Error('the call was answered, not refused');
}

const notFound = (method: string, path: string) => ({
  status: 404,
  data: {
    error_code: 'ENDPOINT_NOT_FOUND',
    message: `No API endpoint ${method} /mlflow/api/2.0/mlflow/${path} in this server's MLflow API`,
  },
});

// Note: the package logs every POST body with console.log; that is its own output, not the test's.
describe.each(BACKENDS)('the npm mlflow client against Simscope on %s', (backend) => {
  let t: TestApp;
  let dir: string;
  let base: string;
  let client: InstanceType<typeof MLflow>;
  let missing: MissingCalls;
  const T0 = 1_700_000_000_000;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-mlflow-client-'));
    t = await openTestApp(backend, { blobs: new LocalBlobStore(dir) });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const options = { endpoint: `${base}/mlflow`, headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } };
    client = new MLflow(options);
    missing = new MissingCalls(options);
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function newRun(experiment_id: string, name: string): Promise<string> {
    const { run } = await client.Runs.create({
      experiment_id,
      user_id: 'alice',
      start_time: T0,
      tags: [
        { key: 'mlflow.runName', value: name },
        { key: 'mlflow.source.name', value: 'train.js' },
      ],
    });
    return run.info.run_id;
  }

  it('creates, reads, finds and searches experiments, with MLflow errors through the client', async () => {
    const { Experiments } = client;
    const name = `client-exp-${backend}`;
    const { experiment_id: id } = await Experiments.create({ name, artifact_location: '' });
    const created = Math.floor(t.clock.now / 1000);
    const experiment = {
      experiment_id: id,
      name,
      artifact_location: '',
      lifecycle_stage: 'active',
      last_update_time: created,
      creation_time: created,
      tags: [],
    };
    expect(await Experiments.get({ experiment_id: id })).toEqual({ experiment });
    expect((await Experiments.get({ experiment_id: '0' })).experiment).toMatchObject({
      experiment_id: '0',
      name: 'Default',
    });
    expect(await missing.getByName(name)).toEqual({ experiment });

    expect(await refusal(Experiments.create({ name, artifact_location: '' }))).toEqual({
      status: 400,
      data: { error_code: 'RESOURCE_ALREADY_EXISTS', message: `Experiment '${name}' already exists.` },
    });
    expect(
      await refusal(Experiments.create({ name: undefined as unknown as string, artifact_location: '' })),
    ).toEqual({
      status: 400,
      data: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message:
          "Missing value for required parameter 'name'. See the API docs for more information about request parameters.",
      },
    });
    expect(await refusal(Experiments.get({ experiment_id: 'nope' }))).toEqual({
      status: 404,
      data: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'No Experiment with id=nope exists' },
    });
    expect(await refusal(missing.getByName('nope'))).toEqual({
      status: 404,
      data: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Could not find experiment with name 'nope'" },
    });

    // The package's setExperimentTag posts to `experimentsset-experiment-tag` (no `/`), which MLflow's own
    // server refuses too; the tag is set through the right path.
    expect(
      await refusal(Experiments.setExperimentTag({ experiment_id: id, key: 'owner', value: 'cfd' })),
    ).toEqual(notFound('POST', 'experimentsset-experiment-tag'));
    expect(await missing.setTag(id, 'owner', 'cfd')).toEqual({});
    expect((await Experiments.get({ experiment_id: id })).experiment.tags).toEqual([
      { key: 'owner', value: 'cfd' },
    ]);

    for (const n of ['a', 'b', 'c']) await Experiments.create({ name: `srch-${n}`, artifact_location: '' });
    const first = await missing.search({ filter: "name LIKE 'srch-%'", max_results: 2 });
    expect(first.experiments.map((e) => e.name)).toEqual(['srch-a', 'srch-b']);
    const second = await missing.search({
      filter: "name LIKE 'srch-%'",
      max_results: 2,
      page_token: first.next_page_token!,
    });
    expect(second).toEqual({
      experiments: [expect.objectContaining({ name: 'srch-c', lifecycle_stage: 'active' })],
    });

    // experiments/list left MLflow in 2.0; delete, update and restore are not served (docs/mlflow.md).
    expect(await refusal(Experiments.list())).toEqual(notFound('GET', 'experiments/list'));
    expect(await refusal(Experiments.delete({ experiment_id: id }))).toEqual(
      notFound('POST', 'experiments/delete'),
    );
    expect(await refusal(Experiments.update({ experiment_id: id, new_name: 'x' }))).toEqual(
      notFound('POST', 'experiments/update'),
    );
    expect(await refusal(Experiments.restore({ experiment_id: id }))).toEqual(
      notFound('POST', 'experiments/restore'),
    );
  });

  it('logs a run through the client and reads it back, through MLflow and the native API', async () => {
    const { Runs, Metrics } = client;
    const { experiment_id: exp } = await client.Experiments.create({
      name: `runs-${backend}`,
      artifact_location: '',
    });
    const { run } = await Runs.create({
      experiment_id: exp,
      user_id: 'alice',
      start_time: T0,
      tags: [
        { key: 'mlflow.runName', value: 'client-owl' },
        { key: 'mlflow.source.name', value: 'train.js' },
      ],
    });
    const runId = run.info.run_id;
    const info = {
      run_id: runId,
      run_uuid: runId,
      run_name: 'client-owl',
      experiment_id: exp,
      user_id: 'admin',
      status: 'RUNNING',
      start_time: T0,
      artifact_uri: `mlflow-artifacts:/${exp}/${runId}/artifacts`,
      lifecycle_stage: 'active',
    };
    expect(run).toEqual({
      info,
      data: {
        metrics: [],
        params: [],
        tags: [
          { key: 'mlflow.runName', value: 'client-owl' },
          { key: 'mlflow.source.name', value: 'train.js' },
        ],
      },
      inputs: { dataset_inputs: [] },
    });

    expect(await Runs.logParameter({ run_id: runId, key: 'lr', value: '0.1' })).toEqual({});
    expect(await Runs.logParameter({ run_id: runId, key: 'lr', value: '0.1' })).toEqual({});
    expect(await refusal(Runs.logParameter({ run_id: runId, key: 'lr', value: '0.2' }))).toEqual({
      status: 400,
      data: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: `Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' for run ID='${runId}'. Attempted logging new value '0.2'.`,
      },
    });
    for (const [step, value] of [1.5, 0.75, 0.5].entries()) {
      expect(
        await Runs.logMetric({ run_id: runId, key: 'loss', value, timestamp: T0 + 1000 * step, step }),
      ).toEqual({});
    }
    expect(await refusal(Runs.logMetric({ run_id: runId, key: 'loss', value: 1, timestamp: -1 }))).toEqual({
      status: 400,
      data: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message:
          "Got invalid timestamp -1 for metric 'loss' (value=1). Timestamp must be a nonnegative long (64-bit integer) ",
      },
    });
    expect(await Runs.setTag({ run_id: runId, key: 'team', value: 'cfd' })).toEqual({});
    expect(await Runs.setTag({ run_id: runId, key: 'gone', value: 'x' })).toEqual({});
    expect(await Runs.deleteTag({ run_id: runId, key: 'gone' })).toEqual({});
    expect(await refusal(Runs.deleteTag({ run_id: runId, key: 'gone' }))).toEqual({
      status: 404,
      data: {
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: `No tag with name: gone in run with id ${runId}`,
      },
    });
    expect(await refusal(Runs.setTag({ run_id: runId, key: '../x', value: 'v' }))).toEqual({
      status: 400,
      data: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message:
          "Invalid tag name: '../x'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '../x'",
      },
    });
    expect(
      await Runs.logBatch({
        run_id: runId,
        metrics: [
          { key: 'acc', value: 0.5, timestamp: T0, step: 0 },
          { key: 'acc', value: 0.9, timestamp: T0 + 1000, step: 1 },
        ],
        params: [{ key: 'solver', value: 'gmres' }],
        tags: [{ key: 'mesh', value: 'fine' }],
      }),
    ).toEqual({});
    expect(
      await refusal(
        Runs.logBatch({
          run_id: runId,
          params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' })),
        }),
      ),
    ).toEqual({
      status: 400,
      data: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message:
          'A batch logging request can contain at most 100 params. Got 101 params. Please split up params across multiple requests and try again.',
      },
    });

    expect(await Metrics.getHistory({ run_id: runId, metric_key: 'loss' })).toEqual({
      metrics: [
        { key: 'loss', value: 1.5, timestamp: T0, step: 0 },
        { key: 'loss', value: 0.75, timestamp: T0 + 1000, step: 1 },
        { key: 'loss', value: 0.5, timestamp: T0 + 2000, step: 2 },
      ],
    });
    expect(await Metrics.getHistory({ run_id: runId, metric_key: 'none' })).toEqual({ metrics: [] });
    expect((await Runs.get({ run_id: runId })).run.data).toEqual({
      metrics: [
        { key: 'acc', value: 0.9, timestamp: T0 + 1000, step: 1 },
        { key: 'loss', value: 0.5, timestamp: T0 + 2000, step: 2 },
      ],
      params: [
        { key: 'lr', value: '0.1' },
        { key: 'solver', value: 'gmres' },
      ],
      tags: [
        { key: 'mesh', value: 'fine' },
        { key: 'mlflow.runName', value: 'client-owl' },
        { key: 'mlflow.source.name', value: 'train.js' },
        { key: 'team', value: 'cfd' },
      ],
    });

    expect(await Runs.update({ run_id: runId, status: RunStatus.FINISHED, end_time: T0 + 5000 })).toEqual({
      run_info: { ...info, status: 'FINISHED', end_time: T0 + 5000 },
    });
    expect(
      await refusal(Runs.update({ run_id: runId, status: RunStatus.FAILED, end_time: T0 + 6000 })),
    ).toEqual({
      status: 400,
      data: {
        error_code: 'INVALID_STATE',
        message: 'body.status: a completed run cannot become failed; it has ended',
      },
    });

    const native = await t.call('GET', `/runs/${runId}`);
    expect(native.status).toBe(200);
    expect(native.body).toMatchObject({
      id: runId,
      name: 'client-owl',
      folder: `/runs-${backend}`,
      status: 'completed',
      ended: (T0 + 5000) * 1000,
      heartbeatTimeout: null,
    });
    expect(native.body.metadata).toEqual({
      params: { lr: '0.1', solver: 'gmres' },
      tags: { mesh: 'fine', 'mlflow.runName': 'client-owl', 'mlflow.source.name': 'train.js', team: 'cfd' },
    });
    const series = await t.call('GET', `/runs/${runId}/metrics`);
    expect(
      series.body.items.map((s: any) => [
        s.name,
        s.count,
        s.last.step,
        s.last.timestamp,
        s.last.value,
        s.min,
        s.max,
      ]),
    ).toEqual([
      ['acc', 2, 1, (T0 + 1000) * 1000, 0.9, 0.5, 0.9],
      ['loss', 3, 2, (T0 + 2000) * 1000, 0.5, 0.5, 1.5],
    ]);

    expect(await Runs.delete({ run_id: runId })).toEqual({});
    const gone = {
      status: 404,
      data: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Run '${runId}' not found` },
    };
    expect(await refusal(Runs.get({ run_id: runId }))).toEqual(gone);
    expect(await refusal(Runs.logMetric({ run_id: runId, key: 'loss', value: 1, timestamp: T0 }))).toEqual(
      gone,
    );
    expect(await refusal(Metrics.getHistory({ run_id: runId, metric_key: 'loss' }))).toEqual(gone);
    expect((await t.call('GET', `/runs/${runId}`)).status).toBe(404);
    expect(
      await refusal(Runs.create({ experiment_id: 'nope', user_id: 'alice', start_time: T0, tags: [] })),
    ).toEqual({
      status: 404,
      data: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'No Experiment with id=nope exists' },
    });
    // Simscope deletes runs outright: there is no soft-deleted run to restore (docs/mlflow.md).
    expect(await refusal(Runs.restore({ run_id: runId }))).toEqual(notFound('POST', 'runs/restore'));
  });

  it('searches runs with a filter, order_by and page tokens', async () => {
    const { Runs } = client;
    const { experiment_id: exp } = await client.Experiments.create({
      name: `search-${backend}`,
      artifact_location: '',
    });
    const ids: string[] = [];
    for (const [i, lr, status] of [
      [0, '0.1', RunStatus.FINISHED],
      [1, '0.1', RunStatus.FAILED],
      [2, '0.01', RunStatus.FINISHED],
    ] as const) {
      const id = await newRun(exp, `r${i}`);
      ids.push(id);
      await Runs.logBatch({
        run_id: id,
        metrics: [{ key: 'acc', value: i, timestamp: T0, step: 0 }],
        params: [{ key: 'lr', value: lr }],
        tags: [{ key: 't', value: i === 0 ? 'a' : 'b' }],
      });
      await Runs.update({ run_id: id, status, end_time: T0 + 10 * (i + 1) });
    }
    const found = async (filter: string, order_by = ['attributes.run_name ASC']) => {
      const { runs } = await Runs.search({
        experiment_ids: [exp],
        filter,
        run_view_type: ViewType.ACTIVE_ONLY,
        max_results: 1000,
        order_by,
      });
      return runs.map((r) => r.info.run_id);
    };
    expect(await found('')).toEqual([ids[0], ids[1], ids[2]]);
    expect(await found('metrics.acc > 0')).toEqual([ids[1], ids[2]]);
    expect(await found("params.lr = '0.1' and attributes.status = 'FINISHED'")).toEqual([ids[0]]);
    expect(await found("tags.t = 'b' and metrics.acc <= 1")).toEqual([ids[1]]);
    expect(await found('', ['attributes.end_time DESC'])).toEqual([ids[2], ids[1], ids[0]]);

    const first = await Runs.search({ experiment_ids: [exp], max_results: 2, order_by: ['run_name'] });
    expect(first.runs.map((r) => r.info.run_id)).toEqual([ids[0], ids[1]]);
    expect(first.runs[0]!.data).toEqual({
      metrics: [{ key: 'acc', value: 0, timestamp: T0, step: 0 }],
      params: [{ key: 'lr', value: '0.1' }],
      tags: [
        { key: 'mlflow.runName', value: 'r0' },
        { key: 'mlflow.source.name', value: 'train.js' },
        { key: 't', value: 'a' },
      ],
    });
    const second = await Runs.search({
      experiment_ids: [exp],
      max_results: 2,
      order_by: ['run_name'],
      page_token: first.next_page_token,
    });
    expect(second.runs.map((r) => r.info.run_id)).toEqual([ids[2]]);
    expect(second.next_page_token).toBeUndefined();

    expect(await refusal(Runs.search({ experiment_ids: [exp], filter: 'metrics.acc > ' }))).toEqual({
      status: 400,
      data: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: "Invalid filter 'metrics.acc > ': expected a value after '>'",
      },
    });
    expect(await refusal(Runs.search({ experiment_ids: ['nope'] }))).toEqual({
      status: 404,
      data: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'No Experiment with id=nope exists' },
    });
  });

  it('lists run artifacts uploaded through the artifact proxy', async () => {
    const runId = await newRun('0', `art-${backend}`);
    // The package cannot upload: files go in as MLflow's HttpArtifactRepository puts them.
    for (const [path, body] of [
      ['metrics.csv', 'a,b\n1,2\n'],
      ['model/MLmodel', 'flavors: {}\n'],
      ['model/data/weights.bin', 'xyz'],
    ] as const) {
      const put = await fetch(
        `${base}/mlflow/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/${path}`,
        {
          method: 'PUT',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
          body,
        },
      );
      expect(put.status).toBe(200);
    }
    const root = `mlflow-artifacts:/0/${runId}/artifacts`;
    expect(await client.Artifacts.list({ run_id: runId, path: '' })).toEqual({
      root_uri: root,
      files: [
        { path: 'metrics.csv', is_dir: false, file_size: 8 },
        { path: 'model', is_dir: true },
      ],
    });
    expect(await client.Artifacts.list({ run_id: runId, path: 'model' })).toEqual({
      root_uri: root,
      files: [
        { path: 'model/MLmodel', is_dir: false, file_size: 12 },
        { path: 'model/data', is_dir: true },
      ],
    });
    expect(await client.Artifacts.list({ run_id: runId, path: 'model/data/' })).toEqual({
      root_uri: root,
      files: [{ path: 'model/data/weights.bin', is_dir: false, file_size: 3 }],
    });
    expect(await client.Artifacts.list({ run_id: runId, path: 'nothing' })).toEqual({
      root_uri: root,
      files: [],
    });
    expect(await refusal(client.Artifacts.list({ run_id: runId, path: 'model/../..' }))).toEqual({
      status: 400,
      data: { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path: model/../..' },
    });
    // The MLflow UI reads the same listing under ajax-api; a parameter given twice is refused, not a crash.
    const twice = await fetch(
      `${base}/mlflow/ajax-api/2.0/mlflow/artifacts/list?run_id=${runId}&path=model&path=x`,
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    );
    expect({ status: twice.status, data: await twice.json() }).toEqual({
      status: 400,
      data: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: `Invalid value ["model","x"] for parameter 'path' supplied: expected one value.`,
      },
    });
    expect(await refusal(client.Artifacts.list({ run_id: 'nope', path: '' }))).toEqual({
      status: 404,
      data: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Run 'nope' not found" },
    });
  });

  it('reads a run logged with the native API, and takes the token as basic auth or refuses without one', async () => {
    const created = await t.call('POST', '/runs', {
      name: `native-${backend}`,
      folder: `/bridge-${backend}`,
    });
    const nativeId = created.body.id as string;
    const ingest = await t.call('POST', `/runs/${nativeId}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [{ name: 'acc', steps: [5, 6], timestamps: [T0 * 1000, (T0 + 1) * 1000], values: [0.8, 0.9] }],
    });
    expect(ingest).toEqual({ status: 200, body: { points: 2, stored: true } });
    const { experiment } = await missing.getByName(`bridge-${backend}`);
    const { run } = await client.Runs.get({ run_id: nativeId });
    expect(run.info).toMatchObject({
      run_id: nativeId,
      experiment_id: experiment.experiment_id,
      status: 'RUNNING',
    });
    expect(run.data.metrics).toEqual([{ key: 'acc', value: 0.9, timestamp: T0 + 1, step: 6 }]);
    expect(await client.Metrics.getHistory({ run_id: nativeId, metric_key: 'acc' })).toEqual({
      metrics: [
        { key: 'acc', value: 0.8, timestamp: T0, step: 5 },
        { key: 'acc', value: 0.9, timestamp: T0 + 1, step: 6 },
      ],
    });

    const basic = new MLflow({
      endpoint: `${base}/mlflow`,
      headers: { Authorization: `Basic ${Buffer.from(`alice:${ADMIN_TOKEN}`).toString('base64')}` },
    });
    expect((await basic.Runs.get({ run_id: nativeId })).run.info.run_id).toBe(nativeId);
    const anonymous = new MLflow({ endpoint: `${base}/mlflow` });
    const refused = await refusal(anonymous.Runs.get({ run_id: nativeId }));
    expect(refused).toEqual({
      status: 401,
      data: {
        error_code: 'UNAUTHENTICATED',
        message: "missing token: send the header 'Authorization: Bearer <token>'",
      },
    });
  });
});
