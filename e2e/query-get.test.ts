import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, ClientError } from '@simscope/client';
import { SimscopeError } from '@simscope/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../packages/server/src/blob/local-blob-store.js';
import { ADMIN_TOKEN, BACKENDS, openTestApp } from '../test/fixtures.js';

/** The error a promise rejects with, as `{ name, code, status, message }`. */
async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof SimscopeError)) throw new Error(`expected a SimscopeError, got ${String(error)}`);
  return {
    name: error.name,
    code: error.code,
    status: error instanceof ClientError ? error.status : undefined,
    message: error.message,
  };
}

describe.each(BACKENDS)('get on each lister, one row by id or key, on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dir: string;
  let client: Client;
  let url: string;

  const send = async (method: string, path: string, body: string | Buffer, type = 'application/json') => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type },
      body,
    });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, any>;
  };
  const post = (path: string, body: unknown) => send('POST', path, JSON.stringify(body));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-query-get-'));
    t = await openTestApp(backend, { blobs: new LocalBlobStore(dir) });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Client({ url, token: ADMIN_TOKEN, progress: false });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs.get and folders.get read the row the listing gives, by id and by name or path', async () => {
    const run = await post('/runs', { name: 'get-run', folder: '/get/cfd', tags: ['a'] });
    await post('/runs', { name: 'get-run-2', folder: '/get/cfd' });
    const listed = (await client.runs.list({ name: 'get-run' })).items;
    expect(listed.map((r) => r.id)).toEqual([run.id]);
    expect(await client.runs.get(run.id)).toEqual(listed[0]);
    expect(await client.runs.get('get-run')).toEqual(listed[0]);

    const folder = (await client.folders.list({ path: '/get/cfd' })).items[0]!;
    expect(folder.path).toBe('/get/cfd');
    expect(await client.folders.get(folder.id)).toEqual(folder);
    expect(await client.folders.get('/get/cfd')).toEqual(folder);

    expect(await failure(client.runs.get('no-such-run'))).toEqual({
      name: 'ClientError',
      code: 'not_found',
      status: 404,
      message: "GET /runs/no-such-run: 404 run 'no-such-run' not found",
    });
    expect((await failure(client.folders.get('/get/none'))).status).toBe(404);
  });

  it('metricNames.get and artifacts.get read one by exact name, not a prefix', async () => {
    const run = await post('/runs', { name: 'get-metrics' });
    await post(`/runs/${run.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [
        { name: 'loss', values: [3, 2, 1] },
        { name: 'loss2', values: [9] },
        { name: 'residual/p', values: [0.5] },
      ],
    });
    const loss = await client.metricNames.get({ run: 'get-metrics', name: 'loss' });
    expect([loss.name, loss.count, loss.last.value, loss.min, loss.max]).toEqual(['loss', 3, 1, 1, 3]);
    const all = (await client.metricNames.listAll({ run: run.id })).items;
    expect(all.find((m) => m.name === 'residual/p')).toEqual(
      await client.metricNames.get({ run: run.id, name: 'residual/p' }),
    );
    expect(await failure(client.metricNames.get({ run: run.id, name: 'los' }))).toEqual({
      name: 'ClientError',
      code: 'not_found',
      status: 404,
      message: `GET /runs/${run.id}/metrics: no metric 'los' in run '${run.id}'`,
    });

    for (const name of ['run.py', 'run.py.bak']) {
      await send(
        'PUT',
        `/runs/get-metrics/artifacts?name=${name}&category=code`,
        Buffer.from(name),
        'text/plain',
      );
    }
    const artifact = await client.artifacts.get({ run: 'get-metrics', name: 'run.py' });
    expect([artifact.name, artifact.size, artifact.category, artifact.mimeType]).toEqual([
      'run.py',
      6,
      'code',
      'text/plain',
    ]);
    expect((await client.artifacts.list({ run: 'get-metrics', name: 'run.py' })).items).toEqual([artifact]);
    expect(await failure(client.artifacts.get({ run: 'get-metrics', name: 'run' }))).toMatchObject({
      code: 'not_found',
      status: 404,
      message: "GET /runs/get-metrics/artifacts: no artifact 'run' in run 'get-metrics'",
    });
    expect((await failure(client.artifacts.get({ run: 'nope', name: 'run.py' }))).status).toBe(404);
  });

  it('alerts.get reads a definition by id or name, runAlerts.get one alert of a run with its state', async () => {
    await post('/runs', { name: 'get-alerts' });
    await post('/runs/get-alerts/alerts', { name: 'get-divergence', source: 'user' });
    await send('PUT', '/runs/get-alerts/alerts/get-divergence/state', JSON.stringify({ state: 'critical' }));
    const { runs, critical, ...definition } = (await client.alerts.listAll({})).items.find(
      (a) => a.name === 'get-divergence',
    )!;
    expect([runs, critical]).toEqual([1, 1]);
    expect(await client.alerts.get('get-divergence')).toEqual(definition);
    expect(await client.alerts.get(definition.id)).toEqual(definition);

    const attached = await client.runAlerts.get({ run: 'get-alerts', alert: 'get-divergence' });
    expect([attached.run.name, attached.alert.name, attached.state]).toEqual([
      'get-alerts',
      'get-divergence',
      'critical',
    ]);
    expect((await client.runAlerts.list({ run: 'get-alerts' })).items).toEqual([attached]);
    expect((await failure(client.alerts.get('get-none'))).status).toBe(404);
    expect((await failure(client.runAlerts.get({ run: 'get-alerts', alert: 'get-none' }))).status).toBe(404);
  });

  it('refuses a key without its parts before any request; events and telemetry records have no get', async () => {
    expect(await failure(client.runs.get(''))).toEqual({
      name: 'SimscopeError',
      code: 'invalid_field',
      status: undefined,
      message: 'run: must be a non-empty string, got ""',
    });
    expect(await failure(client.metricNames.get({ run: 'x' } as never))).toMatchObject({
      code: 'invalid_field',
      message: 'key.name: must be a non-empty string, got undefined',
    });
    expect(await failure(client.runAlerts.get({ run: '', alert: 'a' }))).toMatchObject({
      code: 'invalid_field',
      message: 'key.run: must be a non-empty string, got ""',
    });
    expect(await failure(client.artifacts.get(null as never))).toMatchObject({
      code: 'invalid_field',
      message: 'key: must be { run, name }, got null',
    });
    expect('get' in client.events).toBe(false);
    expect('get' in client.telemetryRecords).toBe(false);
  });
});
