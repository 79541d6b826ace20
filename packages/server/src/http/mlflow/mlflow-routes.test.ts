import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestApp, openTestStore } from '../../../../../test/fixtures.js';
import { LocalBlobStore } from '../../blob/local-blob-store.js';
import { bootstrap } from '../../bootstrap.js';
import { parseRateLimits } from '../../services/rate-limit.js';
import { createApp } from '../app.js';

// Requests are shaped as MLflow's Python client sends them (mlflow/store/tracking/rest_store.py over
// service.proto): GET with query parameters for reads, POST with JSON bodies (run_id and run_uuid both set).
describe.each(BACKENDS)('MLflow REST API on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let base: string;
  const T0 = 1_700_000_000_000;
  beforeAll(async () => {
    t = await openTestApp(backend);
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await t.close();
  });

  async function mlflow(
    method: 'GET' | 'POST',
    path: string,
    payload: Record<string, unknown> = {},
    options: { prefix?: string; authorization?: string | null } = {},
  ) {
    const auth = options.authorization === undefined ? `Bearer ${ADMIN_TOKEN}` : options.authorization;
    const headers: Record<string, string> = auth === null ? {} : { authorization: auth };
    let url = `${base}/mlflow/${options.prefix ?? 'api'}/2.0/mlflow/${path}`;
    let body: string | undefined;
    if (method === 'GET') {
      const query = new URLSearchParams(
        Object.entries(payload).flatMap(([k, v]): [string, string][] =>
          v === undefined ? [] : [[k, String(v)]],
        ),
      );
      url += `?${query}`;
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(payload);
    }
    const res = await fetch(url, { method, headers, body });
    return { status: res.status, body: (await res.json()) as any };
  }

  async function newRun(experiment: string, name: string) {
    const res = await mlflow('POST', 'runs/create', {
      experiment_id: experiment,
      user_id: 'alice',
      start_time: T0,
      tags: [
        { key: 'mlflow.user', value: 'alice' },
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'mlflow.source.type', value: 'LOCAL' },
        { key: 'mlflow.runName', value: name },
      ],
      run_name: name,
    });
    expect(res.status).toBe(200);
    return res.body.run.info.run_id as string;
  }

  it('gives runs ids that MLflow’s client accepts (it refuses ids starting with - or _)', async () => {
    for (let i = 0; i < 64; i++) {
      expect(await newRun('0', `id-${backend}-${i}`)).toMatch(/^[A-Za-z0-9][\w-]{15}$/);
    }
  });

  it('creates an experiment as a folder with a stable id, and finds it by id and by name', async () => {
    const created = await mlflow('POST', 'experiments/create', { name: `exp-${backend}` });
    expect(created.status).toBe(200);
    const id = created.body.experiment_id as string;
    const folder = await t.app.inject({ method: 'GET', url: `/api/v1/folders/${id}`, headers: t.auth });
    expect(folder.json().path).toBe(`/exp-${backend}`);
    const got = await mlflow('GET', 'experiments/get', { experiment_id: id });
    expect(got).toEqual({
      status: 200,
      body: {
        experiment: {
          experiment_id: id,
          name: `exp-${backend}`,
          artifact_location: '',
          lifecycle_stage: 'active',
          last_update_time: got.body.experiment.creation_time,
          creation_time: Math.floor(t.clock.now / 1000),
          tags: [],
        },
      },
    });
    const byName = await mlflow('GET', 'experiments/get-by-name', { experiment_name: `exp-${backend}` });
    expect(byName.body.experiment.experiment_id).toBe(id);
    expect(await mlflow('POST', 'experiments/create', { name: `exp-${backend}` })).toEqual({
      status: 400,
      body: { error_code: 'RESOURCE_ALREADY_EXISTS', message: `Experiment 'exp-${backend}' already exists.` },
    });
    expect(await mlflow('GET', 'experiments/get-by-name', { experiment_name: 'nope' })).toEqual({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Could not find experiment with name 'nope'" },
    });
    expect(await mlflow('GET', 'experiments/get', { experiment_id: 'zzz' })).toEqual({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'No Experiment with id=zzz exists' },
    });
    expect(await mlflow('POST', 'experiments/create', {})).toEqual({
      status: 400,
      body: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message:
          "Missing value for required parameter 'name'. See the API docs for more information about request parameters.",
      },
    });
    expect(
      await mlflow('POST', 'experiments/set-experiment-tag', {
        experiment_id: id,
        key: 'owner',
        value: 'cfd-team',
      }),
    ).toEqual({ status: 200, body: {} });
    expect((await mlflow('GET', 'experiments/get', { experiment_id: id })).body.experiment.tags).toEqual([
      { key: 'owner', value: 'cfd-team' },
    ]);
    expect(
      (await mlflow('POST', 'experiments/set-experiment-tag', { experiment_id: id, key: '', value: 'x' }))
        .body,
    ).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        "Missing value for required parameter 'key'. See the API docs for more information about request parameters.",
    });
    const defaultExp = await mlflow('GET', 'experiments/get', { experiment_id: '0' }, { prefix: 'ajax-api' });
    expect(defaultExp.body.experiment).toMatchObject({ experiment_id: '0', name: 'Default' });
  });

  it('searches experiments by name with LIKE and pages them', async () => {
    for (const n of ['a', 'b', 'c']) await mlflow('POST', 'experiments/create', { name: `srch-${n}` });
    const first = await mlflow('POST', 'experiments/search', {
      max_results: 2,
      filter: "name LIKE 'srch-%'",
      view_type: 'ACTIVE_ONLY',
    });
    expect(first.status).toBe(200);
    expect(first.body.experiments.map((e: any) => e.name)).toEqual(['srch-a', 'srch-b']);
    const second = await mlflow('POST', 'experiments/search', {
      max_results: 2,
      filter: "name LIKE 'srch-%'",
      page_token: first.body.next_page_token,
    });
    expect(second.body.experiments.map((e: any) => e.name)).toEqual(['srch-c']);
    expect(second.body.next_page_token).toBeUndefined();
    const all = await mlflow('POST', 'experiments/search', { max_results: 1000 });
    expect(all.body.experiments[0]).toMatchObject({ experiment_id: '0', name: 'Default' });
    expect((await mlflow('POST', 'experiments/search', { filter: 'tags.x = 1' })).body.error_code).toBe(
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('logs a run as start_run / log_param / log_metric / set_tag / end_run do, and reads it back', async () => {
    const exp = (await mlflow('POST', 'experiments/create', { name: `life-${backend}` })).body.experiment_id;
    const runId = await newRun(exp, 'brave-owl');
    const both = { run_id: runId, run_uuid: runId };
    expect(await mlflow('POST', 'runs/log-parameter', { ...both, key: 'lr', value: '0.1' })).toEqual({
      status: 200,
      body: {},
    });
    expect((await mlflow('POST', 'runs/log-parameter', { ...both, key: 'lr', value: '0.1' })).status).toBe(
      200,
    );
    expect(await mlflow('POST', 'runs/log-parameter', { ...both, key: 'lr', value: '0.2' })).toEqual({
      status: 400,
      body: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: `Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' for run ID='${runId}'. Attempted logging new value '0.2'.`,
      },
    });
    for (const [step, value] of [
      [0, 1.5],
      [1, 0.75],
      [2, 'NaN'],
    ] as const) {
      const res = await mlflow('POST', 'runs/log-metric', {
        ...both,
        key: 'loss',
        value,
        timestamp: T0 + 1000 * step,
        step,
      });
      expect(res).toEqual({ status: 200, body: {} });
    }
    expect((await mlflow('POST', 'runs/set-tag', { ...both, key: 'team', value: 'cfd' })).status).toBe(200);
    expect((await mlflow('POST', 'runs/set-tag', { ...both, key: 'gone', value: 'x' })).status).toBe(200);
    expect(await mlflow('POST', 'runs/delete-tag', { run_id: runId, key: 'gone' })).toEqual({
      status: 200,
      body: {},
    });
    expect(await mlflow('POST', 'runs/delete-tag', { run_id: runId, key: 'gone' })).toEqual({
      status: 404,
      body: {
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: `No tag with name: gone in run with id ${runId}`,
      },
    });
    const ended = await mlflow('POST', 'runs/update', { ...both, status: 'FINISHED', end_time: T0 + 5000 });
    expect(ended).toEqual({
      status: 200,
      body: {
        run_info: {
          run_id: runId,
          run_uuid: runId,
          run_name: 'brave-owl',
          experiment_id: exp,
          user_id: 'admin',
          status: 'FINISHED',
          start_time: T0,
          end_time: T0 + 5000,
          artifact_uri: `mlflow-artifacts:/${exp}/${runId}/artifacts`,
          lifecycle_stage: 'active',
        },
      },
    });
    expect(await mlflow('POST', 'runs/update', { ...both, status: 'FAILED', end_time: T0 + 6000 })).toEqual({
      status: 400,
      body: {
        error_code: 'INVALID_STATE',
        message: 'body.status: a completed run cannot become failed; it has ended',
      },
    });
    // start_run(run_id=…) on an ended run: it stays FINISHED here, and takes more points.
    const resumed = await mlflow('POST', 'runs/update', { ...both, status: 'RUNNING' });
    expect(resumed.body.run_info).toMatchObject({ status: 'FINISHED', end_time: T0 + 5000 });
    expect((await mlflow('POST', 'runs/update', { ...both, status: 'DONE' })).body).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        'Invalid value "DONE" for parameter \'status\' supplied: expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.',
    });
    const got = await mlflow('GET', 'runs/get', both);
    expect(got.status).toBe(200);
    expect(got.body.run.data).toEqual({
      metrics: [{ key: 'loss', value: 'NaN', timestamp: T0 + 2000, step: 2 }],
      params: [{ key: 'lr', value: '0.1' }],
      tags: [
        { key: 'mlflow.runName', value: 'brave-owl' },
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'mlflow.source.type', value: 'LOCAL' },
        { key: 'mlflow.user', value: 'alice' },
        { key: 'team', value: 'cfd' },
      ],
    });
    const history = await mlflow('GET', 'metrics/get-history', { ...both, metric_key: 'loss' });
    expect(history).toEqual({
      status: 200,
      body: {
        metrics: [
          { key: 'loss', value: 1.5, timestamp: T0, step: 0 },
          { key: 'loss', value: 0.75, timestamp: T0 + 1000, step: 1 },
          { key: 'loss', value: 'NaN', timestamp: T0 + 2000, step: 2 },
        ],
      },
    });
    const page1 = await mlflow('GET', 'metrics/get-history', { ...both, metric_key: 'loss', max_results: 2 });
    expect(page1.body.metrics.map((m: any) => m.step)).toEqual([0, 1]);
    const page2 = await mlflow('GET', 'metrics/get-history', {
      ...both,
      metric_key: 'loss',
      max_results: 2,
      page_token: page1.body.next_page_token,
    });
    expect(page2.body).toEqual({ metrics: [{ key: 'loss', value: 'NaN', timestamp: T0 + 2000, step: 2 }] });
    expect(await mlflow('GET', 'metrics/get-history', { ...both, metric_key: 'none' })).toEqual({
      status: 200,
      body: { metrics: [] },
    });
    expect(await mlflow('GET', 'runs/get', { run_id: 'nope', run_uuid: 'nope' })).toEqual({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Run 'nope' not found" },
    });
    const model = { run_id: runId, artifact_path: 'model', flavors: { python_function: {} } };
    expect(
      await mlflow('POST', 'runs/log-model', { run_id: runId, model_json: JSON.stringify(model) }),
    ).toEqual({ status: 200, body: {} });
    const tags = (await mlflow('GET', 'runs/get', both)).body.run.data.tags;
    expect(tags.find((t: any) => t.key === 'mlflow.log-model.history').value).toBe(JSON.stringify([model]));
    expect((await mlflow('POST', 'runs/log-model', { run_id: runId, model_json: '{' })).body.error_code).toBe(
      'INVALID_PARAMETER_VALUE',
    );
    expect((await mlflow('POST', 'runs/delete', { run_id: runId })).status).toBe(200);
    expect((await mlflow('GET', 'runs/get', both)).status).toBe(404);
  });

  it('keeps log-inputs datasets and refuses bad input on every run route with MLflow error bodies', async () => {
    const runId = await newRun('0', `inputs-${backend}`);
    const dataset = {
      tags: [{ key: 'mlflow.data.context', value: 'train' }],
      dataset: {
        name: 'cavity',
        digest: 'a1b2c3d4',
        source_type: 'local',
        source: '{"uri": "/data/cavity.csv"}',
        schema: '{"mlflow_colspec": []}',
      },
    };
    expect(await mlflow('POST', 'runs/log-inputs', { run_id: runId, datasets: [dataset] })).toEqual({
      status: 200,
      body: {},
    });
    expect((await mlflow('GET', 'runs/get', { run_id: runId })).body.run.inputs).toEqual({
      dataset_inputs: [dataset],
    });
    const missing = (field: string) => ({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`,
    });
    expect(
      (await mlflow('POST', 'runs/log-inputs', { run_id: runId, datasets: [{ dataset: {} }] })).body,
    ).toEqual(missing('datasets[0].dataset.name and digest'));
    expect((await mlflow('POST', 'runs/create', { experiment_id: 'nope' })).body).toEqual({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: 'No Experiment with id=nope exists',
    });
    expect(
      (await mlflow('POST', 'runs/create', { experiment_id: '0', run_name: 'a/b' })).body.error_code,
    ).toBe('INVALID_PARAMETER_VALUE');
    expect((await mlflow('POST', 'runs/delete', { run_id: 'nope' })).body).toEqual({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: "Run 'nope' not found",
    });
    expect((await mlflow('POST', 'runs/update', {})).body).toEqual(missing('run_id'));
    expect(
      (await mlflow('POST', 'runs/log-metric', { run_id: runId, key: 'loss', timestamp: T0 })).body,
    ).toEqual(missing('value'));
    expect(
      (await mlflow('POST', 'runs/log-metric', { run_id: runId, key: 'loss', value: 1, timestamp: -1 })).body,
    ).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        "Got invalid timestamp -1 for metric 'loss' (value=1). Timestamp must be a nonnegative long (64-bit integer) ",
    });
    expect((await mlflow('POST', 'runs/set-tag', { run_id: runId, key: '../x', value: 'v' })).body).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        "Invalid tag name: '../x'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '../x'",
    });
    expect((await mlflow('POST', 'runs/log-parameter', { run_id: runId, value: 'v' })).body).toEqual(
      missing('key'),
    );
    expect((await mlflow('POST', 'runs/restore', { run_id: runId })).body.error_code).toBe(
      'ENDPOINT_NOT_FOUND',
    );
    const malformed = await fetch(`${base}/mlflow/api/2.0/mlflow/runs/log-batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"run_id": ',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as any).error_code).toBe('BAD_REQUEST');
  });

  it('enforces log-batch limits and validation with MLflow error codes', async () => {
    const runId = await newRun('0', `batch-${backend}`);
    const metric = (i: number) => ({ key: `m${i % 3}`, value: i, timestamp: T0 + i, step: i });
    const tooMany = await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: Array.from({ length: 1001 }, (_, i) => metric(i)),
    });
    expect(tooMany).toEqual({
      status: 400,
      body: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message:
          'A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please split up metrics across multiple requests and try again.',
      },
    });
    const params = await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' })),
    });
    expect(params.body.message).toBe(
      'A batch logging request can contain at most 100 params. Got 101 params. Please split up params across multiple requests and try again.',
    );
    const total = await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: Array.from({ length: 950 }, (_, i) => metric(i)),
      params: Array.from({ length: 51 }, (_, i) => ({ key: `p${i}`, value: 'v' })),
    });
    expect(total.body).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        'A batch logging request can contain at most 1000 metrics, params, and tags. Got 1001 metrics, params, and tags. Please split up metrics, params, and tags across multiple requests and try again.',
    });
    const dup = await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      params: [
        { key: 'a', value: '1' },
        { key: 'a', value: '2' },
      ],
    });
    expect(dup.body.message).toBe(
      "Duplicate parameter keys have been submitted: ['a']. Please ensure the request contains only one param value per param key.",
    );
    const refusal = async (body: Record<string, unknown>) =>
      (await mlflow('POST', 'runs/log-batch', { run_id: runId, ...body })).body;
    expect(await refusal({ params: [{ key: 'x', value: 'y'.repeat(6001) }] })).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `Param value '${'y'.repeat(250)}' had length 6001, which exceeded length limit of 6000`,
    });
    expect(await refusal({ metrics: [{ key: 'a/../k', value: 1, timestamp: T0 }] })).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        "Invalid metric name: 'a/../k'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to 'k'",
    });
    expect(await refusal({ tags: [{ key: 'a$b', value: '1' }] })).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        "Invalid tag name: 'a$b'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).",
    });
    expect(await refusal({ metrics: [{ key: 'k', value: true, timestamp: T0 }] })).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `Got invalid value true for metric 'k' (timestamp=${T0}). Please specify value as a valid double (64-bit floating point)`,
    });
    expect(
      (await mlflow('POST', 'runs/log-batch', { run_id: runId, metrics: [{ key: 'k', value: 1 }] })).body
        .message,
    ).toBe(
      "Missing value for required parameter 'metrics[0].timestamp'. See the API docs for more information about request parameters.",
    );
    expect((await mlflow('POST', 'runs/log-batch', { run_id: 'missing', metrics: [] })).body.error_code).toBe(
      'RESOURCE_DOES_NOT_EXIST',
    );
    // Nothing of the refused batches was stored.
    expect((await mlflow('GET', 'runs/get', { run_id: runId })).body.run.data.metrics).toEqual([]);

    const ok = await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: Array.from({ length: 998 }, (_, i) => metric(i)),
      params: [{ key: 'solver', value: 'gmres' }],
      tags: [{ key: 'mesh', value: 'fine' }],
    });
    expect(ok).toEqual({ status: 200, body: {} });
    const history = await mlflow('GET', 'metrics/get-history', { run_id: runId, metric_key: 'm1' });
    expect(history.body.metrics).toHaveLength(333);
    expect(history.body.metrics[0]).toEqual({ key: 'm1', value: 1, timestamp: T0 + 1, step: 1 });
    expect(history.body.metrics[332]).toEqual({ key: 'm1', value: 997, timestamp: T0 + 997, step: 997 });
  });

  it('answers the whole history without max_results, as the Python client reads it, and pages with it', async () => {
    const runId = await newRun('0', `long-${backend}`);
    for (let b = 0; b < 26; b++) {
      const metrics = Array.from({ length: 1000 }, (_, i) => ({
        key: 'loss',
        value: b * 1000 + i,
        timestamp: T0 + b * 1000 + i,
        step: b * 1000 + i,
      }));
      expect((await mlflow('POST', 'runs/log-batch', { run_id: runId, metrics })).status).toBe(200);
    }
    const all = await mlflow('GET', 'metrics/get-history', {
      run_id: runId,
      run_uuid: runId,
      metric_key: 'loss',
    });
    expect(all.body.next_page_token).toBeUndefined();
    expect(all.body.metrics).toHaveLength(26_000);
    expect(all.body.metrics[25_999]).toEqual({
      key: 'loss',
      value: 25_999,
      timestamp: T0 + 25_999,
      step: 25_999,
    });
    const steps: number[] = [];
    let token: string | undefined;
    do {
      const page = await mlflow('GET', 'metrics/get-history', {
        run_id: runId,
        metric_key: 'loss',
        max_results: 10_000,
        page_token: token,
      });
      for (const m of page.body.metrics) steps.push(m.step);
      token = page.body.next_page_token;
    } while (token);
    expect(steps).toEqual(Array.from({ length: 26_000 }, (_, i) => i));
    expect(
      (await mlflow('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 25_001 }))
        .body,
    ).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: "Invalid value 25001 for parameter 'max_results' supplied: must be between 1 and 25000.",
    });
  });

  it('searches runs with MLflow filters, order_by and page tokens', async () => {
    const exp = (await mlflow('POST', 'experiments/create', { name: `search-${backend}` })).body
      .experiment_id;
    const ids: string[] = [];
    for (const [i, lr, status] of [
      [0, '0.1', 'FINISHED'],
      [1, '0.1', 'FAILED'],
      [2, '0.01', 'FINISHED'],
    ] as const) {
      const id = await newRun(exp, `r${i}`);
      ids.push(id);
      await mlflow('POST', 'runs/log-batch', {
        run_id: id,
        metrics: [{ key: 'acc', value: i, timestamp: T0, step: 0 }],
        params: [{ key: 'lr', value: lr }],
        tags: [{ key: 't', value: i === 0 ? 'a' : 'b' }],
      });
      await mlflow('POST', 'runs/update', { run_id: id, status, end_time: T0 + 10 * (i + 1) });
    }
    const names = async (filter: string, order_by: string[] = ['attributes.run_name ASC']) => {
      const res = await mlflow('POST', 'runs/search', {
        experiment_ids: [exp],
        filter,
        run_view_type: 'ACTIVE_ONLY',
        max_results: 1000,
        order_by,
      });
      expect(res.status).toBe(200);
      return res.body.runs.map((r: any) => r.info.run_name);
    };
    expect(await names('')).toEqual(['r0', 'r1', 'r2']);
    expect(await names('metrics.acc > 0')).toEqual(['r1', 'r2']);
    expect(await names("params.lr = '0.1' and attributes.status = 'FINISHED'")).toEqual(['r0']);
    expect(await names("tags.t = 'b'")).toEqual(['r1', 'r2']);
    expect(await names("attributes.run_name LIKE 'r%' AND metrics.acc <= 1")).toEqual(['r0', 'r1']);
    expect(await names("attributes.status IN ('FAILED', 'KILLED')")).toEqual(['r1']);
    expect(await names("params.`lr` != '0.1'")).toEqual(['r2']);
    expect(await names('', ['attributes.end_time DESC'])).toEqual(['r2', 'r1', 'r0']);
    const first = await mlflow('POST', 'runs/search', {
      experiment_ids: [exp],
      max_results: 2,
      order_by: ['run_name'],
    });
    expect(first.body.runs.map((r: any) => r.info.run_name)).toEqual(['r0', 'r1']);
    expect(first.body.runs[0].data.params).toEqual([{ key: 'lr', value: '0.1' }]);
    const second = await mlflow('POST', 'runs/search', {
      experiment_ids: [exp],
      max_results: 2,
      order_by: ['run_name'],
      page_token: first.body.next_page_token,
    });
    expect(second.body).toEqual({
      runs: [expect.objectContaining({ info: expect.objectContaining({ run_name: 'r2' }) })],
    });
    expect(await mlflow('POST', 'runs/search', { experiment_ids: [exp], filter: 'metrics.acc > ' })).toEqual({
      status: 400,
      body: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: "Invalid filter 'metrics.acc > ': expected a value after '>'",
      },
    });
    expect(
      (await mlflow('POST', 'runs/search', { experiment_ids: [exp], order_by: ['metrics.acc DESC'] })).body
        .error_code,
    ).toBe('INVALID_PARAMETER_VALUE');
    expect((await mlflow('POST', 'runs/search', { experiment_ids: ['nope'] })).body.error_code).toBe(
      'RESOURCE_DOES_NOT_EXIST',
    );
  });

  it('takes a Simscope token as bearer or as the basic-auth password, and answers MLflow-shaped refusals', async () => {
    const basic = `Basic ${Buffer.from(`alice:${ADMIN_TOKEN}`).toString('base64')}`;
    expect(
      (await mlflow('GET', 'experiments/get', { experiment_id: '0' }, { authorization: basic })).status,
    ).toBe(200);
    const none = await mlflow('GET', 'experiments/get', { experiment_id: '0' }, { authorization: null });
    expect(none.status).toBe(401);
    expect(none.body.error_code).toBe('UNAUTHENTICATED');
    expect(await mlflow('POST', 'model-versions/create', { name: 'm' })).toEqual({
      status: 404,
      body: {
        error_code: 'ENDPOINT_NOT_FOUND',
        message:
          "No API endpoint POST /mlflow/api/2.0/mlflow/model-versions/create in this server's MLflow API",
      },
    });
    const html = await fetch(`${base}/mlflow/#/experiments`, { headers: { accept: 'text/html' } });
    expect(html.status).toBe(404);
  });

  it('shows a run logged through MLflow in the native API and its live stream, and a native run through MLflow', async () => {
    const exp = (await mlflow('POST', 'experiments/create', { name: `native-${backend}` })).body
      .experiment_id;
    const runId = await newRun(exp, `bridge-${backend}`);
    const abort = new AbortController();
    const live = await fetch(`${base}/api/v1/live?runs=${runId}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: abort.signal,
    });
    expect(live.status).toBe(200);
    let text = '';
    const reader = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of live.body!) {
          text += decoder.decode(chunk as Uint8Array, { stream: true });
        }
      } catch {
        // aborted
      }
    })();
    const until = async (needle: string) => {
      for (let i = 0; i < 50 && !text.includes(needle); i++) await new Promise((r) => setTimeout(r, 100));
      return text.includes(needle);
    };
    expect(await until('event: ready')).toBe(true);
    await mlflow('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [
        { key: 'loss', value: 2, timestamp: T0, step: 0 },
        { key: 'loss', value: 1, timestamp: T0 + 1, step: 1 },
      ],
      params: [{ key: 'lr', value: '0.1' }],
      tags: [{ key: 'team', value: 'cfd' }],
    });
    expect(await until('"loss"')).toBe(true);
    abort.abort();
    await reader;

    const native = (
      await t.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}`, headers: t.auth })
    ).json();
    expect(native).toMatchObject({
      id: runId,
      name: `bridge-${backend}`,
      folder: `/native-${backend}`,
      status: 'running',
      heartbeatTimeout: null,
      metadata: {
        params: { lr: '0.1' },
        tags: {
          'mlflow.user': 'alice',
          'mlflow.source.name': 'train.py',
          'mlflow.source.type': 'LOCAL',
          'mlflow.runName': `bridge-${backend}`,
          team: 'cfd',
        },
      },
    });
    const series = await t.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${runId}/metrics/series?name=loss&columns=step,timestamp,value`,
      headers: t.auth,
    });
    expect(series.json()).toMatchObject({
      name: 'loss',
      steps: [0, 1],
      timestamps: [T0 * 1000, (T0 + 1) * 1000],
      values: [2, 1],
    });

    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: t.auth,
      payload: { name: `native-run-${backend}`, folder: `/native-${backend}` },
    });
    const nativeId = created.json().id as string;
    await t.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${nativeId}/metrics`,
      headers: t.auth,
      payload: {
        writer: 'w',
        seq: 0,
        series: [{ name: 'acc', steps: [5], timestamps: [T0 * 1000], values: [0.9] }],
      },
    });
    const read = await mlflow('GET', 'runs/get', { run_id: nativeId });
    expect(read.body.run.info).toMatchObject({ run_id: nativeId, experiment_id: exp, status: 'RUNNING' });
    expect(read.body.run.data.metrics).toEqual([{ key: 'acc', value: 0.9, timestamp: T0, step: 5 }]);
    expect(
      (await mlflow('GET', 'metrics/get-history', { run_id: nativeId, metric_key: 'acc' })).body,
    ).toEqual({
      metrics: [{ key: 'acc', value: 0.9, timestamp: T0, step: 5 }],
    });
  });
});

describe.each(BACKENDS)('MLflow API under rate limits on %s', (backend) => {
  let opened: Awaited<ReturnType<typeof openTestStore>>;
  let app: Awaited<ReturnType<typeof createApp>>;
  const clock = { now: 1_700_000_000_250_000 };
  beforeAll(async () => {
    opened = await openTestStore(backend);
    await bootstrap(opened.store, clock.now, ADMIN_TOKEN);
    app = await createApp({
      store: opened.store,
      now: () => clock.now,
      rateLimits: parseRateLimits('workspace.points=10'),
    });
  });
  afterAll(async () => {
    await app.close();
    await opened.cleanup();
  });

  it('counts log-batch and log-metric points against the points limit and answers REQUEST_LIMIT_EXCEEDED', async () => {
    const post = (path: string, payload: unknown) =>
      app.inject({
        method: 'POST',
        url: `/mlflow/api/2.0/mlflow/${path}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        payload: payload as string,
      });
    const runId = (await post('runs/create', { experiment_id: '0', run_name: 'limited' })).json().run.info
      .run_id;
    const metrics = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ key: 'loss', value: i, timestamp: 1_700_000_000_000, step: i }));
    expect((await post('runs/log-batch', { run_id: runId, metrics: metrics(9) })).statusCode).toBe(200);
    expect(
      (
        await post('runs/log-metric', {
          run_id: runId,
          key: 'loss',
          value: 1,
          timestamp: 1_700_000_000_000,
          step: 9,
        })
      ).statusCode,
    ).toBe(200);
    const refused = await post('runs/log-batch', { run_id: runId, metrics: metrics(1) });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toEqual({
      error_code: 'REQUEST_LIMIT_EXCEEDED',
      message: 'rate limit workspace.points reached; retry in 1 s',
    });
  });
});

// As MLflow's HttpArtifactRepository sends them: `mlflow-artifacts:/<exp>/<run>/artifacts` resolved against the
// tracking URI, PUT of the file's bytes, GET with `path` to list a directory, GET to download, DELETE.
describe.each(BACKENDS)('MLflow artifact proxy on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let base: string;
  let dir: string;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-mlflow-artifacts-'));
    t = await openTestApp(backend, { blobs: new LocalBlobStore(dir) });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads, lists, downloads and deletes run artifacts as Simscope artifacts', async () => {
    const created = await fetch(`${base}/mlflow/api/2.0/mlflow/runs/create`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ experiment_id: '0', run_name: `art-${backend}`, start_time: 1_700_000_000_000 }),
    });
    const info = ((await created.json()) as any).run.info;
    expect(info.artifact_uri).toBe(`mlflow-artifacts:/0/${info.run_id}/artifacts`);
    const root = `${base}/mlflow/api/2.0/mlflow-artifacts/artifacts`;
    const tail = `0/${info.run_id}/artifacts`;
    const put = async (path: string, body: string, type: string) =>
      fetch(`${root}/${tail}/${path}`, { method: 'PUT', headers: { ...auth, 'content-type': type }, body });
    const saved = await put('model/MLmodel', 'flavors: {}\n', 'text/plain');
    expect(saved.status).toBe(200);
    expect(await saved.json()).toEqual({});
    expect((await put('metrics.csv', 'a,b\n1,2\n', 'text/csv')).status).toBe(200);
    expect((await put('model/data/weights.bin', 'xyz', 'application/octet-stream')).status).toBe(200);

    const list = async (path: string) => {
      const res = await fetch(`${root}?${new URLSearchParams({ path })}`, { headers: auth });
      return { status: res.status, body: (await res.json()) as any };
    };
    expect(await list(tail)).toEqual({
      status: 200,
      body: {
        files: [
          { path: 'metrics.csv', is_dir: false, file_size: 8 },
          { path: 'model', is_dir: true },
        ],
      },
    });
    expect((await list(`${tail}/model`)).body).toEqual({
      files: [
        { path: 'MLmodel', is_dir: false, file_size: 12 },
        { path: 'data', is_dir: true },
      ],
    });

    const got = await fetch(`${root}/${tail}/model/MLmodel`, { headers: auth });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('text/plain');
    expect(await got.text()).toBe('flavors: {}\n');

    const native = await t.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${info.run_id}/artifacts`,
      headers: auth,
    });
    expect(native.json().items.map((a: any) => [a.name, a.category, a.size])).toEqual([
      ['metrics.csv', 'output', 8],
      ['model/MLmodel', 'output', 12],
      ['model/data/weights.bin', 'output', 3],
    ]);

    expect((await fetch(`${root}/${tail}/metrics.csv`, { method: 'DELETE', headers: auth })).status).toBe(
      200,
    );
    const missing = await fetch(`${root}/${tail}/metrics.csv`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const bad = await fetch(`${root}/0/${info.run_id}/elsewhere/x`, { headers: auth });
    expect(await bad.json()).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `Invalid artifact path '0/${info.run_id}/elsewhere/x': expected <experiment_id>/<run_id>/artifacts/<path>`,
    });
    expect((await list(`0/nope/artifacts`)).body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});
