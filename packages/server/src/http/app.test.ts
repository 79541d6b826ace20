import { float64Bytes, int64Bytes } from '@simscope/protocol';
import { Packr, Unpackr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

describe.each(BACKENDS)('API on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp(backend, { bodyLimit: 64 * 1024 });
  });
  afterAll(async () => {
    await t.close();
  });

  const call = async (
    method: string,
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await t.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { ...t.auth, ...headers },
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    return {
      status: res.statusCode,
      body: res.body ? (res.json() as Record<string, any>) : undefined,
      raw: res,
    };
  };

  it('answers version without a token and refuses data routes without one', async () => {
    const version = await t.app.inject({ method: 'GET', url: '/api/v1/version' });
    expect(version.statusCode).toBe(200);
    expect(version.json()).toMatchObject({ name: 'simscope', api: 'v1', store: backend });
    const none = await t.app.inject({ method: 'GET', url: '/api/v1/runs' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('unauthorized');
    const wrong = await call('GET', '/runs', undefined, { authorization: 'Bearer ssk_nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body?.error.message).toBe('invalid token');
  });

  it('creates a run with a generated name, a folder with parents, and reads it by id and name', async () => {
    const created = await call('POST', '/runs', {
      folder: '/study/alpha',
      metadata: { beta: 2.5, solver: 'cg' },
      tags: ['a', 'a', 'b'],
      heartbeatTimeout: 30,
    });
    expect(created.status).toBe(201);
    const run = created.body!;
    expect(run.name).toMatch(/^[a-z]+-[a-z]+$/);
    expect(run.status).toBe('running');
    expect(run.tags).toEqual(['a', 'b']);
    expect(run.folder).toBe('/study/alpha');
    const byName = await call('GET', `/runs/${run.name}`);
    expect(byName.body?.id).toBe(run.id);
    const parent = await call('GET', '/folders?path=/study');
    expect(parent.body?.items.map((f: { path: string }) => f.path)).toEqual(['/study']);
  });

  it('refuses a second run with the same name', async () => {
    await call('POST', '/runs', { name: 'twin' });
    const again = await call('POST', '/runs', { name: 'twin' });
    expect(again.status).toBe(409);
    expect(again.body?.error).toMatchObject({ code: 'conflict', details: { field: 'name' } });
  });

  it('creates a run with a client-chosen id once, however often the create is replayed', async () => {
    const body = { id: `spooled-${backend}`.padEnd(16, 'x'), name: `late-${backend}`, createdAt: 1_000_000 };
    const first = await call('POST', '/runs', body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      id: body.id,
      name: body.name,
      created: 1_000_000,
      started: 1_000_000,
    });
    const again = await call('POST', '/runs', body);
    expect(again.body).toEqual(first.body);
    const list = await call('GET', `/runs?filter=${encodeURIComponent(`name == "${body.name}"`)}`);
    expect(list.body!.items).toHaveLength(1);
    const ended = await call('PATCH', `/runs/${body.id}`, { status: 'completed', statusAt: 2_000_000 });
    expect(ended.body).toMatchObject({ status: 'completed', ended: 2_000_000 });
    const taken = await call('POST', '/runs', { id: 'another-id-00000', name: body.name });
    expect(taken.body?.error).toMatchObject({ code: 'conflict', details: { field: 'name' } });
    const bad = await call('POST', '/runs', { id: 'short' });
    expect(bad.status).toBe(400);
    expect(bad.body?.error.message).toContain('body.id: must be 16 characters');
  });

  it('updates tags, merges metadata and enforces status transitions', async () => {
    const run = (await call('POST', '/runs', { name: 'upd', tags: ['x'], metadata: { a: 1, b: 2 } })).body!;
    const patched = await call('PATCH', `/runs/${run.id}`, {
      addTags: ['y'],
      removeTags: ['x'],
      metadata: { b: null, c: 'three' },
      description: 'hello',
    });
    expect(patched.body).toMatchObject({ tags: ['y'], metadata: { a: 1, c: 'three' }, description: 'hello' });
    const done = await call('PATCH', `/runs/${run.id}`, { status: 'completed' });
    expect(done.body?.status).toBe('completed');
    expect(done.body?.ended).toBe(t.clock.now);
    const back = await call('PATCH', `/runs/${run.id}`, { status: 'running' });
    expect(back.status).toBe(409);
    expect(back.body?.error.code).toBe('invalid_transition');
    expect(back.body?.error.message).toContain('a completed run cannot become running');
  });

  it('lists runs with a filter, sort and exact cursor pages', async () => {
    for (let i = 0; i < 7; i++) {
      t.clock.now += 1;
      await call('POST', '/runs', {
        name: `page-${i}`,
        folder: '/paging',
        metadata: { i, even: i % 2 === 0 },
      });
    }
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const q: string = `/runs?filter=${encodeURIComponent('folder == /paging and metadata.i >= 1')}&sort=name&limit=2${next ? `&next=${next}` : ''}`;
      const page = await call('GET', q);
      expect(page.status).toBe(200);
      seen.push(...page.body!.items.map((r: { name: string }) => r.name));
      next = page.body!.next;
    } while (next);
    expect(seen).toEqual(['page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'page-6']);
    const evens = await call(
      'GET',
      `/runs?filter=${encodeURIComponent('metadata.even == true and not metadata.i == 0')}&sort=-created`,
    );
    expect(evens.body!.items.map((r: { name: string }) => r.name)).toEqual(['page-6', 'page-4', 'page-2']);
    const recent = await call(
      'GET',
      `/runs?filter=${encodeURIComponent('folder == /paging and created < 5h')}&limit=100`,
    );
    expect(recent.body!.items).toHaveLength(7);
    const old = await call('GET', `/runs?filter=${encodeURIComponent('folder == /paging and created > 5h')}`);
    expect(old.body!.items).toHaveLength(0);
  });

  it('ingests JSON metrics, fills missing steps and times, keeps NaN and Infinity', async () => {
    const run = (await call('POST', '/runs', { name: 'metrics-json' })).body!;
    const start = run.started as number;
    const res = await call('POST', `/runs/${run.id}/metrics`, {
      writer: 'w1',
      seq: 0,
      series: [{ name: 'loss', values: [1, 'NaN', 'Infinity', '-Infinity'], times: [0.5, 1, null, 2] }],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ stored: true, points: 4 });
    const more = await call('POST', `/runs/${run.id}/metrics`, {
      writer: 'w1',
      seq: 1,
      series: [
        { name: 'loss', values: [0.25], steps: [10] },
        { name: 'loss', values: [0.125] },
      ],
    });
    expect(more.body).toEqual({ stored: true, points: 2 });
    const series = await call('GET', `/runs/${run.id}/metrics/series?name=loss`);
    expect(series.body).toMatchObject({
      name: 'loss',
      steps: [0, 1, 2, 3, 10, 11],
      values: [1, 'NaN', 'Infinity', '-Infinity', 0.25, 0.125],
      next: null,
    });
    expect(series.body!.timestamps.slice(0, 2)).toEqual([start + 500_000, start + 1_000_000]);
    expect(series.body!.times[2]).toBe((t.clock.now - start) / 1e6);
    const names = await call('GET', `/runs/${run.id}/metrics`);
    expect(names.body!.items).toEqual([
      expect.objectContaining({ name: 'loss', count: 6, min: '-Infinity', max: 'Infinity' }),
    ]);
    expect(names.body!.items[0].last).toMatchObject({ step: 11, value: 0.125 });
    // Steps that count up and timestamps that follow the times may come as rules.
    const ruled = await call('POST', `/runs/${run.id}/metrics`, {
      writer: 'w1',
      seq: 2,
      series: [
        { name: 'rate', values: [7, 8, 9], stepStart: 40, times: [1, 1.5, null], timestampOrigin: start },
      ],
    });
    expect(ruled.body).toEqual({ stored: true, points: 3 });
    const rate = await call('GET', `/runs/${run.id}/metrics/series?name=rate`);
    expect(rate.body).toMatchObject({ steps: [40, 41, 42], times: [1, 1.5, (t.clock.now - start) / 1e6] });
    expect(rate.body!.timestamps).toEqual([start + 1_000_000, start + 1_500_000, t.clock.now]);
    const filtered = await call(
      'GET',
      `/runs?filter=${encodeURIComponent('metrics.loss.last < 0.2 and name == metrics-json')}`,
    );
    expect(filtered.body!.items.map((r: { name: string }) => r.name)).toEqual(['metrics-json']);
  });

  it('ingests binary msgpack batches and stores a replayed batch once', async () => {
    const run = (await call('POST', '/runs', { name: 'metrics-bin' })).body!;
    const n = 2000;
    const steps = new Float64Array(n).map((_, i) => i);
    const values = new Float64Array(n).map((_, i) => Math.sin(i));
    const ts = new Float64Array(n).map((_, i) => run.started + i * 1000);
    const body = packr.pack({
      writer: 'bin',
      seq: 7,
      series: [
        { name: 'x', steps: int64Bytes(steps), timestamps: int64Bytes(ts), values: float64Bytes(values) },
      ],
    });
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/runs/${run.id}/metrics`,
        headers: { ...t.auth, 'content-type': 'application/msgpack' },
        payload: body,
      });
    expect((await send()).json()).toEqual({ stored: true, points: n });
    expect((await send()).json()).toEqual({ stored: false, points: 0 });
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${run.id}/metrics/series?name=x`,
      headers: { ...t.auth, accept: 'application/msgpack' },
    });
    const decoded = unpackr.unpack(res.rawPayload) as Record<string, Uint8Array>;
    const got = new Float64Array(Uint8Array.prototype.slice.call(decoded.values!).buffer);
    expect(got).toEqual(values);
    expect(decoded.steps!.byteLength).toBe(n * 8);
    const paged: number[] = [];
    let next: string | null = null;
    do {
      const page = await call(
        'GET',
        `/runs/${run.id}/metrics/series?name=x&from=100&to=2000&limit=300${next ? `&next=${next}` : ''}`,
      );
      paged.push(...page.body!.steps);
      next = page.body!.next;
    } while (next);
    expect(paged).toEqual(Array.from({ length: 1900 }, (_, i) => i + 100));
  });

  it('returns only the asked columns, and fresh data after small appends merge into cached blocks', async () => {
    const run = (await call('POST', '/runs', { name: 'columns' })).body!;
    const read = async (query: string) =>
      (await call('GET', `/runs/${run.id}/metrics/series?name=c${query}`)).body!;
    for (let seq = 0; seq < 3; seq++) {
      await call('POST', `/runs/${run.id}/metrics`, {
        writer: 'w',
        seq,
        series: [{ name: 'c', values: [seq * 2, seq * 2 + 1] }],
      });
      const page = await read('&columns=step,value');
      expect(Object.keys(page).sort()).toEqual(['name', 'next', 'steps', 'values']);
      expect(page.values).toEqual(Array.from({ length: (seq + 1) * 2 }, (_, i) => i));
    }
    const bad = await call('GET', `/runs/${run.id}/metrics/series?name=c&columns=step,colour`);
    expect(bad.status).toBe(400);
    expect(bad.body!.error.message).toBe(
      "query.columns: unknown column 'colour'; use step, time, timestamp, value",
    );
  });

  it('downsamples into M4 buckets with exact extremes', async () => {
    const run = (await call('POST', '/runs', { name: 'm4' })).body!;
    const values = Array.from({ length: 1000 }, (_, i) => (i === 437 ? 100 : i === 438 ? -100 : i % 10));
    await call('POST', `/runs/${run.id}/metrics`, { writer: 'w', seq: 0, series: [{ name: 'y', values }] });
    const res = await call('GET', `/runs/${run.id}/metrics/downsample?name=y&buckets=10&from=0&to=1000`);
    expect(res.status).toBe(200);
    const b = res.body!;
    expect(b.count).toEqual(Array(10).fill(100));
    expect(b.firstX).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(b.lastX).toEqual([99, 199, 299, 399, 499, 599, 699, 799, 899, 999]);
    expect(b.maxY[4]).toBe(100);
    expect(b.maxX[4]).toBe(437);
    expect(b.minY[4]).toBe(-100);
    expect(b.minX[4]).toBe(438);
    expect(b.minY[0]).toBe(0);
    expect(b.maxY[0]).toBe(9);
    const auto = await call('GET', `/runs/${run.id}/metrics/downsample?name=y&buckets=4`);
    expect(auto.body!.count.reduce((a: number, c: number) => a + c, 0)).toBe(1000);
  });

  it('downsamples one metric of many runs on one grid, naming the runs it cannot', async () => {
    const short = (await call('POST', '/runs', { name: 'many-short' })).body!;
    const long = (await call('POST', '/runs', { name: 'many-long' })).body!;
    const bare = (await call('POST', '/runs', { name: 'many-bare' })).body!;
    await call('POST', `/runs/${short.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [{ name: 'y', values: Array.from({ length: 100 }, (_, i) => i) }],
    });
    await call('POST', `/runs/${long.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [{ name: 'y', values: Array.from({ length: 400 }, (_, i) => (i === 250 ? 'NaN' : -i)) }],
    });
    const body = { runs: [short.id, 'many-long', bare.id, 'nobody'], name: 'y', buckets: 8 };
    const res = await call('POST', '/metrics/downsample', body);
    expect(res.status).toBe(200);
    const d = res.body!;
    // The grid spans both runs: steps 0..399, just past 399.
    expect(d).toMatchObject({ name: 'y', x: 'step', from: 0 });
    expect(d.to).toBeGreaterThan(399);
    expect(d.to).toBeLessThan(399.001);
    expect(d.runs.map((r: { run: string }) => r.run)).toEqual(body.runs);
    expect(d.runs[0].count).toEqual([50, 50, 0, 0, 0, 0, 0, 0]);
    expect(d.runs[0].minY[2]).toBe('NaN');
    expect(d.runs[1].count).toEqual(Array(8).fill(50));
    // Step 250 is NaN: counted, never the maximum.
    expect(d.runs[1].maxY[5]).toBe(-251);
    expect(d.runs[2]).toEqual({
      run: bare.id,
      error: { code: 'not_found', message: "run 'many-bare' has no metric 'y'" },
    });
    expect(d.runs[3]).toEqual({
      run: 'nobody',
      error: { code: 'not_found', message: "run 'nobody' not found" },
    });
    // Each run's buckets are those the one-run route gives on the same grid.
    const one = await call(
      'GET',
      `/runs/${long.id}/metrics/downsample?name=y&buckets=8&from=${d.from}&to=${d.to}`,
    );
    const { name: _n, x: _x, from: _f, to: _t, ...columns } = one.body!;
    expect(d.runs[1]).toEqual({ run: 'many-long', ...columns });
    // msgpack: the same columns as float64 bytes.
    const packed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/metrics/downsample',
      headers: { ...t.auth, accept: 'application/msgpack' },
      payload: body,
    });
    const m = unpackr.unpack(packed.rawPayload) as Record<string, any>;
    expect(m.runs[1].run).toBe('many-long');
    expect(Array.from(new Float64Array(new Uint8Array(m.runs[1].count).slice().buffer))).toEqual(
      Array(8).fill(50),
    );
    expect(m.runs[3].error.message).toBe("run 'nobody' not found");
  });

  it('names what is wrong with a request to downsample many runs', async () => {
    const error = async (body: unknown) => (await call('POST', '/metrics/downsample', body)).body!.error;
    expect(await error({ runs: [], name: 'y' })).toMatchObject({
      code: 'invalid_field',
      message: 'body.runs: name at least one run',
    });
    expect((await error({ runs: Array(1001).fill('a'), name: 'y' })).message).toBe(
      'body.runs: at most 1000 runs',
    );
    expect(
      (await error({ runs: Array.from({ length: 100 }, (_, i) => `r${i}`), name: 'y', buckets: 100_000 }))
        .message,
    ).toBe('body.buckets: runs × buckets must be at most 2000000');
    expect((await error({ runs: ['a'], name: 'y', from: 5, to: 5 })).message).toBe(
      'body.to: must be greater than from',
    );
    expect((await error({ runs: ['a'], name: 'y', x: 'wallclock' })).message).toMatch(/^body\.x: /);
    expect((await error({ runs: ['a'] })).message).toMatch(/^body\.name: /);
    expect((await error({ runs: ['a'], name: 'y', colour: 1 })).message).toMatch(/colour/);
  });

  it('ingests, searches and pages events', async () => {
    const run = (await call('POST', '/runs', { name: 'events' })).body!;
    const events = Array.from({ length: 25 }, (_, i) => ({
      message: i === 3 ? '<script>alert(1)</script> Diverged' : `step ${i}`,
      level: i % 5 === 0 ? 'error' : 'info',
      timestamp: 1_000_000 + i,
    }));
    expect((await call('POST', `/runs/${run.id}/events`, { writer: 'w', seq: 0, events })).body).toEqual({
      stored: true,
      events: 25,
    });
    expect((await call('POST', `/runs/${run.id}/events`, { writer: 'w', seq: 0, events })).body).toEqual({
      stored: false,
      events: 0,
    });
    const found = await call('GET', `/runs/${run.id}/events?q=diverged`);
    expect(found.body!.items.map((e: { message: string }) => e.message)).toEqual([
      '<script>alert(1)</script> Diverged',
    ]);
    const errors = await call('GET', `/runs/${run.id}/events?level=error`);
    expect(errors.body!.items).toHaveLength(5);
    const all: number[] = [];
    let next: string | null = null;
    do {
      const page = await call('GET', `/runs/${run.id}/events?limit=10${next ? `&next=${next}` : ''}`);
      all.push(...page.body!.items.map((e: { timestamp: number }) => e.timestamp));
      next = page.body!.next;
    } while (next);
    expect(all).toEqual(Array.from({ length: 25 }, (_, i) => 1_000_000 + i));
  });

  it('answers bad input with a 4xx naming the field and stores nothing', async () => {
    const run = (await call('POST', '/runs', { name: 'bad-input' })).body!;
    const raw = (payload: string | Buffer, type = 'application/json') =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/runs/${run.id}/metrics`,
        headers: { ...t.auth, 'content-type': type },
        payload,
      });
    const malformed = await raw('{"writer": "w", "seq": ');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('invalid_body');
    expect(malformed.json().error.message).toMatch(/^malformed JSON/);
    const badPack = await raw(Buffer.from([0xc1, 0xff, 0x00]), 'application/msgpack');
    expect(badPack.statusCode).toBe(400);
    expect(badPack.json().error.message).toMatch(/^malformed msgpack/);
    const cases: [unknown, string][] = [
      [{ writer: 'w', seq: 'one', series: [] }, 'body.seq'],
      [
        {
          writer: 'w',
          seq: 1,
          series: [
            { name: 'ok', values: [1, 2] },
            { name: 'v', values: [1, 'abc'] },
          ],
        },
        'body.series[1].values[1]',
      ],
      [
        { writer: 'w', seq: 1, series: [{ name: 'v', values: [1], steps: [1.5] }] },
        'body.series[0].steps[0]',
      ],
      [{ writer: 'w', seq: 1, series: [{ name: 'v', values: [1, 2], steps: [1] }] }, 'body.series[0].steps'],
      [{ writer: 'w', seq: 1, series: [{ name: 'x'.repeat(300), values: [1] }] }, 'body.series[0].name'],
      [{ writer: 'w b', seq: 1, series: [] }, 'body.writer'],
      [
        { writer: 'w', seq: 1, series: [{ name: 'v', values: [1], stepStart: -1 }] },
        'body.series[0].stepStart',
      ],
      [
        { writer: 'w', seq: 1, series: [{ name: 'v', values: [1], steps: [0], stepStart: 0 }] },
        'body.series[0].stepStart',
      ],
      [
        { writer: 'w', seq: 1, series: [{ name: 'v', values: [1], timestampOrigin: 1e15 }] },
        'body.series[0].timestampOrigin',
      ],
      [
        { writer: 'w', seq: 1, series: [{ name: 'v', values: [1], times: [0], timestampOrigin: 'soon' }] },
        'body.series[0].timestampOrigin',
      ],
    ];
    for (const [payload, field] of cases) {
      const res = await raw(JSON.stringify(payload));
      expect(res.statusCode, field).toBe(400);
      expect(res.json().error.code).toBe('invalid_field');
      expect(res.json().error.message.startsWith(`${field}:`), res.json().error.message).toBe(true);
    }
    const names = await call('GET', `/runs/${run.id}/metrics`);
    expect(names.body!.items).toEqual([]);
    const big = await raw(
      JSON.stringify({ writer: 'w', seq: 2, series: [{ name: 'v', values: Array(20000).fill(1.2345) }] }),
    );
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toMatchObject({
      code: 'payload_too_large',
      message: 'request body exceeds the limit of 65536 bytes',
    });
    const unknown = await call('POST', '/runs/nope/metrics', { writer: 'w', seq: 0, series: [] });
    expect(unknown.status).toBe(404);
    expect(unknown.body!.error.message).toBe("run 'nope' not found");
    const longKey = await call('POST', '/runs', { metadata: { ['k'.repeat(300)]: 1 } });
    expect(longKey.status).toBe(400);
    expect(longKey.body!.error.message).toMatch(/^body\.metadata\.k+: key must be at most 255 characters/);
    const wrongType = await call('POST', '/runs', { tags: 'one' });
    expect(wrongType.body!.error.message).toMatch(/^body\.tags: /);
    const unknownField = await call('POST', '/runs', { colour: 'red' });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body!.error.message).toContain('colour');
    const badFolder = await call('POST', '/runs', { folder: '/a/../b' });
    expect(badFolder.body!.error.message).toBe("body.folder: must not contain '.' or '..' segments");
    const badFilter = await call('GET', `/runs?filter=${encodeURIComponent('metadata.x >')}`);
    expect(badFilter.status).toBe(400);
    expect(badFilter.body!.error.code).toBe('invalid_filter');
    expect(badFilter.body!.error.message).toContain('column');
    const badCursor = await call('GET', '/runs?next=garbage');
    expect(badCursor.body!.error.code).toBe('invalid_cursor');
    const badSort = await call('GET', '/runs?sort=colour');
    expect(badSort.body!.error.message).toContain("unknown sort field 'colour'");
  });

  it('keeps workspaces apart: no list, lookup or write reaches another workspace', async () => {
    const user = (
      await call('POST', '/admin/users', { name: `alice-${backend}`, email: 'alice@example.org' })
    ).body!;
    const ws = (await call('POST', '/admin/workspaces', { name: `lab-${backend}` })).body!;
    await call('POST', `/admin/workspaces/${ws.name}/members`, { user: user.name });
    const token = (
      await call('POST', '/admin/tokens', { user: user.name, name: 'laptop', scopes: ['read', 'write'] })
    ).body!;
    expect(token.token).toMatch(/^ssk_/);
    const alice = { authorization: `Bearer ${token.token}` };
    const mine = await call('POST', '/runs', { name: 'alice-run' }, alice);
    expect(mine.status).toBe(201);
    const adminRun = (await call('POST', '/runs', { name: 'admin-only' })).body!;
    expect((await call('GET', `/runs/${adminRun.id}`, undefined, alice)).status).toBe(404);
    expect((await call('GET', '/runs/admin-only', undefined, alice)).status).toBe(404);
    expect((await call('PATCH', `/runs/${adminRun.id}`, { description: 'x' }, alice)).status).toBe(404);
    expect((await call('DELETE', `/runs/${adminRun.id}`, undefined, alice)).status).toBe(404);
    expect(
      (await call('POST', `/runs/${adminRun.id}/metrics`, { writer: 'w', seq: 0, series: [] }, alice)).status,
    ).toBe(404);
    const list = await call('GET', '/runs?limit=1000', undefined, alice);
    expect(list.body!.items.map((r: { name: string }) => r.name)).toEqual(['alice-run']);
    const other = await call('GET', '/runs', undefined, { ...alice, 'simscope-workspace': 'default' });
    expect(other.status).toBe(403);
    expect(other.body!.error.message).toBe("you are not a member of workspace 'default'");
    expect((await call('GET', '/admin/users', undefined, alice)).status).toBe(403);
    expect((await call('GET', `/runs/alice-run`, undefined, { 'simscope-workspace': ws.name })).status).toBe(
      403,
    );
    await call('DELETE', `/admin/tokens/${token.id}`);
    const revoked = await call('GET', '/runs', undefined, alice);
    expect(revoked.status).toBe(401);
    expect(revoked.body!.error.message).toBe("token 'laptop' has been revoked");
  });

  it('expires tokens and refuses admin scope for non-admins', async () => {
    await call('POST', '/admin/users', { name: `bob-${backend}` });
    const denied = await call('POST', '/admin/tokens', {
      user: `bob-${backend}`,
      name: 'x',
      scopes: ['admin'],
    });
    expect(denied.status).toBe(400);
    const tok = (await call('POST', '/admin/tokens', { user: 'admin', name: 'short', expiresIn: 10 })).body!;
    expect((await call('GET', '/me', undefined, { authorization: `Bearer ${tok.token}` })).status).toBe(200);
    t.clock.now += 11_000_000;
    const expired = await call('GET', '/me', undefined, { authorization: `Bearer ${tok.token}` });
    expect(expired.status).toBe(401);
    expect(expired.body!.error.message).toBe("token 'short' has expired");
  });

  it('sets and reads an abort request, and the heartbeat reports it', async () => {
    const run = (await call('POST', '/runs', { name: 'abortable' })).body!;
    expect((await call('GET', `/runs/${run.id}/abort`)).body).toEqual({
      requested: false,
      at: null,
      reason: null,
    });
    await call('POST', `/runs/${run.id}/abort`, { reason: 'diverging' });
    const beat = await call('POST', `/runs/${run.id}/heartbeat`);
    expect(beat.body).toEqual({
      status: 'running',
      abort: { requested: true, at: t.clock.now, reason: 'diverging' },
    });
  });

  it('deletes folders only when empty unless recursive', async () => {
    await call('POST', '/runs', { name: 'in-tree', folder: '/tree/leaf' });
    const tree = (await call('GET', '/folders?path=/tree')).body!.items[0];
    const refused = await call('DELETE', `/folders/${tree.id}`);
    expect(refused.status).toBe(409);
    const done = await call('DELETE', `/folders/${tree.id}?recursive=true`);
    expect(done.body).toEqual({ runsDeleted: 1 });
    expect((await call('GET', '/runs/in-tree')).status).toBe(404);
    expect((await call('GET', '/folders?prefix=/tree')).body!.items).toEqual([]);
  });

  it('serves an OpenAPI document and a docs page', async () => {
    const doc = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(doc.json().openapi).toBe('3.1.0');
    expect(Object.keys(doc.json().paths)).toContain('/api/v1/runs/{run}/metrics'.replace('/api/v1', ''));
    const page = await t.app.inject({ method: 'GET', url: '/api/v1/docs' });
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('/runs/:run/metrics/downsample');
  });
});
