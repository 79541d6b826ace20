import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../packages/server/src/blob/local-blob-store.js';
import { ADMIN_TOKEN, BACKENDS, openTestApp } from '../test/fixtures.js';

const HOUR = 3_600_000_000;
const fields = (table: { schema: { fields: { name: string; type: unknown }[] } }) =>
  table.schema.fields.map((f) => `${f.name}:${f.type}`);

describe.each(BACKENDS)('artifact, alert and telemetry lists on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dir: string;
  let url: string;
  let client: Client;
  const start = 1_769_817_600_000_000; // 2026-01-31T00:00:00Z

  const send = async (
    method: string,
    path: string,
    body: string | Buffer,
    headers: Record<string, string>,
  ) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
      body,
    });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, any>;
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    send('POST', path, JSON.stringify(body), { 'content-type': 'application/json', ...headers });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-query-lists-'));
    t = await openTestApp(backend, { blobs: new LocalBlobStore(dir) });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Client({ url, token: ADMIN_TOKEN });
    t.clock.now = start;
    await post('/runs', { name: 'cavity' });
    await post('/runs', { name: 'step' });
    const artifacts: [string, string, string][] = [
      ['system/controlDict', 'input', 'application 1'],
      ['constant/transportProperties', 'input', 'nu 0.01'],
      ['run.py', 'code', 'print(1)'],
      ['postProcessing/residuals.dat', 'output', '0 1\n1 0.5\n'],
      ['logs/solver.log', 'output', 'done'],
    ];
    for (const [name, category, text] of artifacts) {
      t.clock.now += 1000;
      const metadata = name.endsWith('.dat') ? `&metadata=${encodeURIComponent('{"rows":2}')}` : '';
      await send(
        'PUT',
        `/runs/cavity/artifacts?name=${encodeURIComponent(name)}&category=${category}${metadata}`,
        Buffer.from(text),
        { 'content-type': 'application/octet-stream' },
      );
    }
    for (const [name, run] of [
      ['mesh quality', 'cavity'],
      ['divergence', 'cavity'],
      ['cfl', 'step'],
      ['budget', null],
    ] as const) {
      t.clock.now += 1000;
      if (run) await post(`/runs/${run}/alerts`, { name, source: 'user' });
      else await post('/alerts', { name, source: 'user' });
    }
    await send('PUT', '/runs/cavity/alerts/divergence/state', JSON.stringify({ state: 'critical' }), {
      'content-type': 'application/json',
    });
    const { key } = await post('/admin/telemetry/keys', { service: 'intake/catalog', name: 'lib' });
    const records = [
      { function: 'search', args: ['tas'], kwargs: { variable: 'tas' }, session_id: 's1', version: '2.1' },
      { function: 'open', args: [], kwargs: { path: '/a.nc' }, session_id: 's1' },
      { function: 'search', args: ['pr'], kwargs: { variable: 'pr', limit: 3 }, session_id: 's2' },
      { function: 'to_dask', args: [], kwargs: {}, session_id: 's2', version: '2.2' },
      { function: 'search', args: [], kwargs: {}, session_id: null },
    ].map((r, i) => ({ ...r, timestamp: start + i * HOUR }));
    const res = await fetch(`${url}/api/v1/telemetry/intake/catalog`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ writer: 'w', seq: 0, records }),
    });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists artifacts with filters, across small pages, as Arrow', async () => {
    const names = async (filters: Omit<Parameters<Client['artifacts']['listAll']>[0], 'run'>) =>
      (await client.artifacts.listAll({ run: 'cavity', ...filters }, { pageSize: 2 })).items.map(
        (a) => a.name,
      );
    expect(await names({})).toEqual([
      'constant/transportProperties',
      'logs/solver.log',
      'postProcessing/residuals.dat',
      'run.py',
      'system/controlDict',
    ]);
    expect(await names({ category: 'input' })).toEqual([
      'constant/transportProperties',
      'system/controlDict',
    ]);
    expect(await names({ name__startswith: 'system/' })).toEqual(['system/controlDict']);
    expect(await names({ name__contains: 'o', name__endswith: '.log' })).toEqual(['logs/solver.log']);
    expect(await names({ name: 'run.py' })).toEqual(['run.py']);
    const paged = await client.artifacts.listAll({ run: 'cavity' }, { pageSize: 2 });
    expect([paged.pages, paged.complete, paged.next]).toEqual([3, true, null]);
    const first = await client.artifacts.list({ run: 'cavity', category: 'output' }, { limit: 1 });
    expect(first.items.map((a) => [a.name, a.size, a.category])).toEqual([['logs/solver.log', 4, 'output']]);
    expect(first.query).toEqual({ category: 'output' });
    const bad = await client.artifacts
      .listAll({ run: 'cavity', category: 'results' } as never)
      .catch((e) => e);
    expect(bad).toMatchObject({
      code: 'invalid_field',
      message: expect.stringMatching(/^filters\.category: /),
    });
    const table = await paged.toArrow();
    expect(table.numRows).toBe(5);
    expect(fields(table)).toEqual([
      'name:Utf8',
      'category:Dictionary<Int32, Utf8>',
      'mimeType:Utf8',
      'size:Int64',
      'sha256:Utf8',
      'created:Timestamp<MICROSECOND, UTC>',
      'metadata.rows:Float64',
    ]);
    expect(table.getChild('metadata.rows')!.toArray()).toEqual(new Float64Array([0, 0, 2, 0, 0]));
    expect(table.getChild('metadata.rows')!.nullCount).toBe(4);
    expect((await paged.toCsv()).split('\n')[0]).toBe(
      'name,category,mimeType,size,sha256,created,metadata.rows',
    );
  });

  it('lists alert definitions, critical ones only on request, across small pages, as Arrow', async () => {
    const all = await client.alerts.listAll({}, { pageSize: 1 });
    expect(all.items.map((a) => [a.name, a.runs, a.critical])).toEqual([
      ['budget', 0, 0],
      ['cfl', 1, 0],
      ['divergence', 1, 1],
      ['mesh quality', 1, 0],
    ]);
    expect(all.pages).toBe(4);
    const critical = await client.alerts.listAll({ critical: true });
    expect(critical.items.map((a) => a.name)).toEqual(['divergence']);
    expect(critical.query).toEqual({ critical: 'true' });
    const bad = await client.alerts.listAll({ critical: 'yes' } as never).catch((e) => e);
    expect(bad).toMatchObject({
      code: 'invalid_field',
      message: expect.stringMatching(/^filters\.critical: /),
    });
    const unknown = await client.alerts.listAll({ run: 'cavity' } as never).catch((e) => e);
    expect(unknown).toMatchObject({ code: 'invalid_field', message: expect.stringContaining('run') });
    const table = await all.toArrow();
    expect(table.numRows).toBe(4);
    expect(fields(table)).toEqual([
      'id:Utf8',
      'name:Utf8',
      'source:Dictionary<Int32, Utf8>',
      'description:Utf8',
      'rule:Dictionary<Int32, Utf8>',
      'metric:Utf8',
      'threshold:Float64',
      'rangeLow:Float64',
      'rangeHigh:Float64',
      'aggregation:Dictionary<Int32, Utf8>',
      'pattern:Utf8',
      'match:Dictionary<Int32, Utf8>',
      'window:Float64',
      'frequency:Float64',
      'notification:List<Utf8>',
      'emails:List<Utf8>',
      'webhook:Utf8',
      'notifyOk:Bool',
      'abortOnCritical:Bool',
      'created:Timestamp<MICROSECOND, UTC>',
      'runs:Int64',
      'critical:Int64',
    ]);
    expect(Array.from(table.getChild('critical')!.toArray() as BigInt64Array)).toEqual([0n, 0n, 1n, 0n]);
  });

  it("pages a run's alerts with a cursor and lists them with their states", async () => {
    await post('/runs/cavity/alerts', { alert: 'budget' });
    const paged = await client.runAlerts.listAll({ run: 'cavity' }, { pageSize: 1 });
    expect(paged.items.map((a) => [a.alert.name, a.run.name, a.state])).toEqual([
      ['budget', 'cavity', 'ok'],
      ['divergence', 'cavity', 'critical'],
      ['mesh quality', 'cavity', 'ok'],
    ]);
    expect([paged.pages, paged.complete]).toEqual([3, true]);
    const res = await fetch(`${url}/api/v1/runs/cavity/alerts?limit=2`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const first = (await res.json()) as { items: { alert: { name: string } }[]; next: string | null };
    expect(first.items.map((a) => a.alert.name)).toEqual(['budget', 'divergence']);
    expect(typeof first.next).toBe('string');
    const critical = await client.runAlerts.listAll({ run: 'cavity', critical: true });
    expect(critical.items.map((a) => a.alert.name)).toEqual(['divergence']);
    expect((await client.getAlerts({ run: 'cavity' })).map((a) => a.alert.name)).toEqual([
      'budget',
      'divergence',
      'mesh quality',
    ]);
    const bad = await client.runAlerts.listAll({ critical: true } as never).catch((e) => e);
    expect(bad).toMatchObject({ code: 'invalid_field', message: expect.stringMatching(/^filters\.run: /) });
    const table = await paged.toArrow();
    expect(table.numRows).toBe(3);
    expect(fields(table)).toEqual([
      'run:Utf8',
      'alert:Utf8',
      'source:Dictionary<Int32, Utf8>',
      'state:Dictionary<Int32, Utf8>',
      'since:Timestamp<MICROSECOND, UTC>',
      'evaluated:Timestamp<MICROSECOND, UTC>',
      'next:Timestamp<MICROSECOND, UTC>',
      'value:Float64',
    ]);
    expect(table.getChild('state')!.toArray()).toEqual(['ok', 'critical', 'ok']);
  });

  it('lists telemetry records with filters, across small pages, as Arrow', async () => {
    const fns = async (filters: Omit<Parameters<Client['telemetryRecords']['listAll']>[0], 'service'>) =>
      (
        await client.telemetryRecords.listAll({ service: 'intake/catalog', ...filters }, { pageSize: 2 })
      ).items.map((r) => `${r.function}@${(r.timestamp - start) / HOUR}`);
    expect(await fns({})).toEqual(['search@0', 'open@1', 'search@2', 'to_dask@3', 'search@4']);
    expect(await fns({ function: 'search', order: 'desc' })).toEqual(['search@4', 'search@2', 'search@0']);
    expect(await fns({ function__in: ['open', 'to_dask'] })).toEqual(['open@1', 'to_dask@3']);
    expect(await fns({ session: 's2' })).toEqual(['search@2', 'to_dask@3']);
    expect(await fns({ timestamp__gt: start + HOUR, timestamp__lte: start + 3 * HOUR })).toEqual([
      'search@2',
      'to_dask@3',
    ]);
    const paged = await client.telemetryRecords.listAll({ service: 'intake/catalog' }, { pageSize: 2 });
    expect(paged.pages).toBe(3);
    const bad = await client.telemetryRecords
      .listAll({ service: 'intake/catalog', function__in: ['a,b'] })
      .catch((e) => e);
    expect(bad).toMatchObject({
      code: 'invalid_field',
      message: expect.stringMatching(/^filters\.function__in\[0\]: must not contain a comma/),
    });
    const missing = await client.telemetryRecords.listAll({} as never).catch((e) => e);
    expect(missing).toMatchObject({
      code: 'invalid_field',
      message: expect.stringMatching(/^filters\.service: /),
    });
    const table = await paged.toArrow();
    expect(table.numRows).toBe(5);
    expect(fields(table)).toEqual([
      'id:Int64',
      'timestamp:Timestamp<MICROSECOND, UTC>',
      'function:Dictionary<Int32, Utf8>',
      'session_id:Utf8',
      'args:Utf8',
      'kwargs.variable:Utf8',
      'kwargs.path:Utf8',
      'kwargs.limit:Float64',
      'extra.version:Utf8',
    ]);
    expect(table.getChild('args')!.toArray()).toEqual(['["tas"]', '[]', '["pr"]', '[]', '[]']);
    expect(table.getChild('extra.version')!.toArray()).toEqual(['2.1', null, null, '2.2', null]);
    expect((await paged.toJsonl()).split('\n')[0]).toBe(JSON.stringify(paged.items[0]));
  });
});
