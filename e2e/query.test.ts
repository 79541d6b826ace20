import type { AddressInfo } from 'node:net';
import { Client, ClientError, type RunInfo } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestApp } from '../test/fixtures.js';
import { FaultProxy } from './fault-proxy.js';

const HOUR = 3_600_000_000;

describe.each(BACKENDS)('query client on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url: string;
  let client: Client;
  const start = 1_769_817_600_000_000; // 2026-01-31T00:00:00Z

  const post = async (path: string, body: unknown, token = ADMIN_TOKEN, workspace?: string) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(workspace ? { 'simscope-workspace': workspace } : {}),
      },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, any>;
  };
  const createRun = async (body: Record<string, unknown>, token?: string, workspace?: string) => {
    t.clock.now += 1000;
    return (await post('/runs', body, token, workspace)) as RunInfo;
  };
  const names = (items: { name: string }[]) => items.map((r) => r.name);

  beforeAll(async () => {
    t = await openTestApp(backend);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Client({ url, token: ADMIN_TOKEN });
    t.clock.now = start;
    const specs: [string, string, Record<string, unknown>, string[]][] = [
      ['cavity-re100', '/cfd/cavity', { re: 100, beta: 1.5, solver: { name: 'icoFoam' } }, ['baseline']],
      [
        'cavity-re1000',
        '/cfd/cavity',
        { re: 1000, beta: 2.5, solver: { name: 'pisoFoam' } },
        ['baseline', 'paper'],
      ],
      ['cavity-Re5000', '/cfd/cavity', { re: 5000, beta: 3, solver: { name: 'pisoFoam' } }, []],
      ['step-re100', '/cfd/step', { re: 100, beta: 0.5 }, ['paper']],
      ['heat-1d', '/heat', { beta: 'n/a' }, []],
    ];
    for (const [name, folder, metadata, tags] of specs) {
      t.clock.now += HOUR;
      await createRun({ name, folder, metadata, tags });
    }
    await fetch(`${url}/api/v1/runs/step-re100`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'failed' }),
    });
    await fetch(`${url}/api/v1/runs/heat-1d`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'completed' }),
    });
    // Points are logged 10 h after the start: the server's clock has come that far, as timestamps may not run ahead.
    t.clock.now = start + 11 * HOUR;
    for (const [run, loss] of [
      ['cavity-re100', [1, 0.5, 0.05]],
      ['cavity-re1000', [1, 0.5, 0.2]],
      ['step-re100', [2, Number.NaN]],
    ] as const) {
      await post(`/runs/${run}/metrics`, {
        writer: 'w',
        seq: 0,
        series: [
          {
            name: 'loss',
            values: loss.map((v) => (Number.isNaN(v) ? 'NaN' : v)),
            timestamps: loss.map((_, i) => start + 10 * HOUR + i * 1_000_000),
          },
          {
            name: 'train/acc',
            values: [0.5, Number.POSITIVE_INFINITY].map((v) => (v === Infinity ? 'Infinity' : v)),
          },
        ],
      });
    }
  });
  afterAll(async () => {
    await t.close();
  });

  it('applies typed lookups on the server', async () => {
    const q = async (filters: Parameters<Client['runs']['listAll']>[0]) =>
      names((await client.runs.listAll({ ...filters, sort: 'name' })).items);
    expect(await q({ name__regex: '^cavity-re[0-9]+$' })).toEqual(['cavity-re100', 'cavity-re1000']);
    expect(await q({ name__icontains: 'RE5' })).toEqual(['cavity-Re5000']);
    expect(await q({ name__startswith: 'cavity-R' })).toEqual(['cavity-Re5000']);
    expect(await q({ name__contains: '-re1' })).toEqual(['cavity-re100', 'cavity-re1000', 'step-re100']);
    expect(await q({ status__in: ['failed', 'completed'] })).toEqual(['heat-1d', 'step-re100']);
    expect(await q({ status__ne: 'running' })).toEqual(['heat-1d', 'step-re100']);
    expect(await q({ metadata__beta__gt: 2 })).toEqual(['cavity-Re5000', 'cavity-re1000']);
    expect(await q({ metadata__re__in: [100, 5000] })).toEqual([
      'cavity-Re5000',
      'cavity-re100',
      'step-re100',
    ]);
    expect(await q({ metadata__solver__name: 'pisoFoam' })).toEqual(['cavity-Re5000', 'cavity-re1000']);
    expect(await q({ metadata__solver__isnull: true })).toEqual(['heat-1d', 'step-re100']);
    expect(await q({ created__gte: start + 3 * HOUR })).toEqual(['cavity-Re5000', 'heat-1d', 'step-re100']);
    expect(await q({ created__lt: new Date((start + 2 * HOUR) / 1000 + 5) })).toEqual([
      'cavity-re100',
      'cavity-re1000',
    ]);
    expect(await q({ ended__isnull: false })).toEqual(['heat-1d', 'step-re100']);
    expect(await q({ tags__contains: ['baseline', 'paper'] })).toEqual(['cavity-re1000']);
    expect(await q({ tags__overlap: ['baseline', 'paper'] })).toEqual([
      'cavity-re100',
      'cavity-re1000',
      'step-re100',
    ]);
    expect(await q({ metrics__loss__last__lt: 0.1 })).toEqual(['cavity-re100']);
    expect(await q({ folder: '/cfd/cavity', filter: 'metadata.re >= 1000 or has tag.paper' })).toEqual([
      'cavity-Re5000',
      'cavity-re1000',
    ]);
    const bad = await client.runs.listAll({ colour: 'red' } as never).catch((e) => e);
    expect(bad).toMatchObject({
      code: 'invalid_field',
      message: expect.stringMatching(/^filters\.colour: unknown filter/),
    });
  });

  it('lists one page at a time with a cursor, and refuses to resume another listing', async () => {
    const first = await client.runs.list({ sort: 'name' }, { limit: 2 });
    expect(names(first.items)).toEqual(['cavity-Re5000', 'cavity-re100']);
    expect(first.complete).toBe(false);
    const second = await client.runs.list({ sort: 'name' }, { limit: 2, next: first.next });
    expect(names(second.items)).toEqual(['cavity-re1000', 'heat-1d']);
    const rest = await client.runs.listAll({ sort: 'name' }, { pageSize: 2, resumeFrom: second });
    expect(names(rest.items)).toEqual(['cavity-re1000', 'heat-1d', 'step-re100']);
    expect(rest.pages).toBe(2);
    const wrong = await client.runs.listAll({ sort: '-name' }, { resumeFrom: first }).catch((e) => e);
    expect(wrong.code).toBe('invalid_cursor');
    expect(wrong.message).toMatch(/^resumeFrom: that result lists runs at \/runs with \{"sort":"name"\}/);
    const pages: number[] = [];
    for await (const page of client.runs.pages({ sort: 'name' }, { pageSize: 2 })) pages.push(page.length);
    expect(pages).toEqual([2, 2, 1]);
  });

  it('lists folders, events and metric names with their filters', async () => {
    expect((await client.folders.listAll({ under: '/cfd' })).items.map((f) => f.path)).toEqual([
      '/cfd',
      '/cfd/cavity',
      '/cfd/step',
    ]);
    expect((await client.folders.listAll({ parent: '/' })).items.map((f) => f.path)).toEqual([
      '/cfd',
      '/heat',
    ]);
    t.clock.now = start + 24 * HOUR;
    await post('/runs/heat-1d/events', {
      writer: 'w',
      seq: 0,
      events: [
        { message: 'mesh loaded', timestamp: start + 21 * HOUR },
        { message: 'Diverged at step 3', level: 'error', timestamp: start + 22 * HOUR },
        { message: 'diverged again', level: 'warning', timestamp: start + 23 * HOUR },
      ],
    });
    const events = async (filters: Omit<Parameters<Client['events']['listAll']>[0], 'run'>) =>
      (await client.events.listAll({ run: 'heat-1d', ...filters })).items.map((e) => e.message);
    expect(await events({})).toEqual(['mesh loaded', 'Diverged at step 3', 'diverged again']);
    expect(await events({ level__in: ['warning', 'error'], order: 'desc' })).toEqual([
      'diverged again',
      'Diverged at step 3',
    ]);
    expect(await events({ message__icontains: 'DIVERGED', timestamp__gt: start + 22 * HOUR })).toEqual([
      'diverged again',
    ]);
    expect(await events({ timestamp__lte: start + 22 * HOUR })).toEqual([
      'mesh loaded',
      'Diverged at step 3',
    ]);
    const metrics = await client.metricNames.listAll({ run: 'cavity-re100' }, { pageSize: 1 });
    expect(metrics.pages).toBe(2);
    expect(metrics.items.map((m) => [m.name, m.count, m.last.value])).toEqual([
      ['loss', 3, 0.05],
      ['train/acc', 2, 'Infinity'],
    ]);
    expect(
      (await client.metricNames.list({ run: 'cavity-re100', name__startswith: 'train/' })).items,
    ).toHaveLength(1);
    expect((await client.getMetricNames('step-re100')).map((m) => m.name)).toEqual(['loss', 'train/acc']);
  });

  it('reads metric values into a long Arrow table with exact values and types', async () => {
    const runs = await client.runs.listAll({ name__startswith: 'cavity-re', sort: 'name' });
    const table = await client.metricTable([...runs.items, 'step-re100'], 'loss');
    expect(table.length).toBe(8);
    expect(table.runs).toEqual(['cavity-re100', 'cavity-re1000', 'step-re100']);
    const arrow = await table.toArrow();
    expect(arrow.numRows).toBe(8);
    expect(arrow.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'run:Dictionary<Int32, Utf8>',
      'metric:Dictionary<Int32, Utf8>',
      'step:Int64',
      'time:Float64',
      'timestamp:Timestamp<MICROSECOND, UTC>',
      'value:Float64',
    ]);
    expect(arrow.getChild('run')!.toArray()).toEqual([
      'cavity-re100',
      'cavity-re100',
      'cavity-re100',
      'cavity-re1000',
      'cavity-re1000',
      'cavity-re1000',
      'step-re100',
      'step-re100',
    ]);
    expect(Array.from(arrow.getChild('step')!.toArray() as BigInt64Array)).toEqual([
      0n,
      1n,
      2n,
      0n,
      1n,
      2n,
      0n,
      1n,
    ]);
    expect(Array.from(arrow.getChild('value')!.toArray() as Float64Array)).toEqual([
      1,
      0.5,
      0.05,
      1,
      0.5,
      0.2,
      2,
      Number.NaN,
    ]);
    expect(arrow.getChild('timestamp')!.data[0]!.values[2]).toBe(BigInt(start + 10 * HOUR + 2_000_000));
    const everything = await client.metricTable(['cavity-re100', 'heat-1d']);
    expect(everything.metrics).toEqual(['loss', 'train/acc']);
    expect(everything.length).toBe(5);
    expect(everything.row(4)).toMatchObject({
      run: 'cavity-re100',
      metric: 'train/acc',
      step: 1,
      value: Infinity,
    });
  });

  it('lets a user in two workspaces read either, and never a third', async () => {
    await post('/admin/users', { name: `ws-user-${backend}` });
    for (const ws of ['ws-a', 'ws-b', 'ws-c']) await post('/admin/workspaces', { name: ws });
    for (const ws of ['ws-a', 'ws-b']) {
      t.clock.now += 1000;
      await post(`/admin/workspaces/${ws}/members`, { user: `ws-user-${backend}` });
    }
    const { token } = await post('/admin/tokens', { user: `ws-user-${backend}`, name: 'two' });
    await createRun({ name: 'in-a' }, token, 'ws-a');
    await createRun({ name: 'in-b' }, token, 'ws-b');
    await createRun({ name: 'in-c', folder: '/c' }, ADMIN_TOKEN, 'ws-c').catch(() => undefined);
    const read = (workspace?: string) => new Client({ url, token, workspace }).runs.listAll({});
    expect(names((await read('ws-a')).items)).toEqual(['in-a']);
    expect(names((await read('ws-b')).items)).toEqual(['in-b']);
    expect(names((await read()).items)).toEqual(['in-a']);
    const third = await read('ws-c').catch((e) => e);
    expect(third).toBeInstanceOf(ClientError);
    expect(third).toMatchObject({ status: 403, code: 'forbidden' });
    expect(third.message).toContain("you are not a member of workspace 'ws-c'");
  });

  it('gives no duplicate and no gap while runs are inserted between pages', async () => {
    const folder = '/inserts';
    for (let i = 0; i < 60; i++) await createRun({ name: `ins-${i}`, folder });
    let inserted = 0;
    const proxy = await FaultProxy.start(url, {
      before: async ({ method, url: path }) => {
        if (method !== 'GET' || !path.startsWith('/api/v1/runs?') || !path.includes('next=')) return;
        for (let k = 0; k < 3; k++) await createRun({ name: `new-${inserted++}`, folder });
      },
    });
    try {
      const viaProxy = new Client({ url: proxy.url, token: ADMIN_TOKEN });
      const before = (await client.runs.listAll({ folder })).items.map((r) => r.id);
      expect(before).toHaveLength(60);
      for (const sort of ['-created', 'created', 'name'] as const) {
        const listed = await viaProxy.runs.listAll({ folder, sort }, { pageSize: 7 });
        const ids = listed.items.map((r) => r.id);
        expect(new Set(ids).size).toBe(ids.length);
        const existing = (await client.runs.listAll({ folder })).items;
        const newIds = new Set(existing.filter((r) => r.name.startsWith('new-')).map((r) => r.id));
        expect(before.filter((id) => !ids.includes(id))).toEqual([]);
        for (const id of ids) expect(before.includes(id) || newIds.has(id)).toBe(true);
        if (sort === '-created') expect(ids).toEqual(before);
      }
      expect(inserted).toBeGreaterThan(20);
    } finally {
      await proxy.close();
    }
  });
});
