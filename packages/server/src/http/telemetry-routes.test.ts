import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';

const packr = new Packr({ useRecords: false });

describe.each(BACKENDS)('telemetry API on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp(backend);
  });
  afterAll(async () => {
    await t.close();
  });

  const call = async (method: string, url: string, payload?: unknown, headers?: Record<string, string>) => {
    const res = await t.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: headers ?? t.auth,
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    return { status: res.statusCode, body: res.body ? (res.json() as Record<string, any>) : undefined };
  };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const newKey = async (service: string, name = 'lib') => {
    const res = await call('POST', '/admin/telemetry/keys', { service, name });
    expect(res.status).toBe(201);
    return res.body as { id: string; key: string; service: string; workspace: string };
  };

  it('creates ingest-only keys per service, hashed, and lists them without secrets', async () => {
    const created = await newKey('intake/catalog', 'intake 2025');
    expect(created.key).toMatch(/^stk_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({
      service: 'intake/catalog',
      workspace: 'default',
      name: 'intake 2025',
      expires: null,
      revoked: null,
    });
    const listed = await call('GET', '/admin/telemetry/keys?service=intake/catalog');
    expect(listed.status).toBe(200);
    expect(listed.body!.items).toHaveLength(1);
    expect(listed.body!.items[0]).toEqual({
      id: created.id,
      service: 'intake/catalog',
      workspace: 'default',
      name: 'intake 2025',
      created: t.clock.now,
      expires: null,
      revoked: null,
    });
    expect(JSON.stringify(listed.body)).not.toContain(created.key);
    const secrets = await t.store.telemetry.listKeys('intake/catalog');
    expect(JSON.stringify(secrets)).not.toContain(created.key);
  });

  it('refuses bad key requests with a 4xx naming the field', async () => {
    const bad = await call('POST', '/admin/telemetry/keys', { service: 'intake//catalog', name: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body!.error.message).toMatch(/^body\.service: segments must be/);
    const noName = await call('POST', '/admin/telemetry/keys', { service: 'a/b' });
    expect(noName.status).toBe(400);
    expect(noName.body!.error.message).toMatch(/^body\.name:/);
    const ws = await call('POST', '/admin/telemetry/keys', { service: 'a/b', name: 'x', workspace: 'nope' });
    expect(ws.status).toBe(404);
    expect(ws.body!.error).toMatchObject({ code: 'not_found', details: { field: 'body.workspace' } });
    const user = await call('POST', '/admin/users', { name: `plain-${backend}` });
    const token = await call('POST', '/admin/tokens', {
      user: user.body!.name,
      name: 't',
      scopes: ['write'],
    });
    const forbidden = await call(
      'POST',
      '/admin/telemetry/keys',
      { service: 'a/b', name: 'x' },
      bearer(token.body!.token),
    );
    expect(forbidden.status).toBe(403);
  });

  it('ingests batches with the service key once per (writer, seq), and lists the records', async () => {
    const { key } = await newKey('payu/run');
    const batch = {
      writer: 'w1',
      seq: 0,
      records: [
        {
          function: 'Experiment.run',
          args: [1, 'two'],
          kwargs: { test: true, variable: 'search' },
          session_id: 'abc',
          timestamp: 1_700_000_000_000_000,
          name: 'u1166368',
          interesting_data: { n: 3 },
        },
        { function: 'Experiment.run' },
      ],
    };
    const first = await call('POST', '/telemetry/payu/run', batch, bearer(key));
    expect(first).toEqual({ status: 200, body: { stored: true, records: 2 } });
    const again = await call('POST', '/telemetry/payu/run', batch, bearer(key));
    expect(again).toEqual({ status: 200, body: { stored: false, records: 0 } });
    const listed = await call('GET', '/telemetry/records?service=payu/run');
    expect(listed.status).toBe(200);
    expect(listed.body!.next).toBeNull();
    const [a, b] = listed.body!.items;
    expect(a).toEqual({
      id: a.id,
      timestamp: 1_700_000_000_000_000,
      function: 'Experiment.run',
      args: [1, 'two'],
      kwargs: { test: true, variable: 'search' },
      session_id: 'abc',
      name: 'u1166368',
      interesting_data: { n: 3 },
    });
    expect(b).toEqual({
      id: b.id,
      timestamp: t.clock.now,
      function: 'Experiment.run',
      args: [],
      kwargs: {},
    });
    expect(Object.keys(b)).not.toContain('session_id');
  });

  it('lets a telemetry key write its own service and nothing else', async () => {
    const { key } = await newKey('intake/search');
    await newKey('intake/other');
    const record = { writer: 'w', seq: 0, records: [{ function: 'f' }] };
    const other = await call('POST', '/telemetry/intake/other', record, bearer(key));
    expect(other.status).toBe(403);
    expect(other.body!.error).toMatchObject({ code: 'forbidden', details: { field: 'path.service' } });
    expect(other.body!.error.message).toBe(
      "telemetry key 'lib' may write to service 'intake/search' only, not 'intake/other'",
    );
    for (const [method, url] of [
      ['GET', '/runs'],
      ['GET', '/telemetry/records?service=intake/search'],
      ['GET', '/telemetry/services'],
      ['GET', '/admin/telemetry/keys'],
    ] as const) {
      const res = await call(method, url, undefined, bearer(key));
      expect(res.status, url).toBe(401);
      expect(res.body!.error.message).toBe('invalid token');
    }
    const created = await call('POST', '/runs', { name: 'by-key' }, bearer(key));
    expect(created.status).toBe(401);
    const noKey = await call('POST', '/telemetry/intake/search', record, {});
    expect(noKey.status).toBe(401);
    expect(noKey.body!.error.message).toBe(
      "missing telemetry key: send the header 'Authorization: Bearer <key>'",
    );
    const adminToken = await call('POST', '/telemetry/intake/search', record);
    expect(adminToken.status).toBe(401);
    expect(adminToken.body!.error.message).toBe('invalid telemetry key');
    const badPath = await call('POST', '/telemetry/intake/-search', record, bearer(key));
    expect(badPath.status).toBe(400);
    expect(badPath.body!.error.message).toMatch(/^path\.service: segments must be/);
  });

  it('rejects malformed records with the field named, and revoked keys', async () => {
    const { id, key } = await newKey('checks/svc');
    const post = (records: unknown[]) =>
      call('POST', '/telemetry/checks/svc', { writer: 'w', seq: 1, records }, bearer(key));
    const noFunction = await post([{ args: [] }]);
    expect(noFunction.status).toBe(400);
    expect(noFunction.body!.error.message).toMatch(/^body\.records\[0\]\.function:/);
    const badArgs = await post([{ function: 'f' }, { function: 'f', args: 'x' }]);
    expect(badArgs.body!.error.message).toMatch(/^body\.records\[1\]\.args:/);
    const reserved = await post([{ function: 'f', id: 3 }]);
    expect(reserved.body!.error.message).toBe(
      "body.records[0].id: 'id' is reserved; name the field otherwise",
    );
    const bigTime = await post([{ function: 'f', timestamp: -1 }]);
    expect(bigTime.body!.error.message).toMatch(/^body\.records\[0\]\.timestamp:/);
    const deep = await post([{ function: 'f', kwargs: { a: [1, { b: 'x' }] }, extra: { ok: true } }, 'x']);
    expect(deep.body!.error.message).toBe('body.records[1]: expected an object');
    const unknown = await call(
      'POST',
      '/telemetry/checks/svc',
      { writer: 'w', seq: 1, records: [], more: 1 },
      bearer(key),
    );
    expect(unknown.body!.error.message).toBe('body.more: unknown field');
    const bytes = await t.app.inject({
      method: 'POST',
      url: '/api/v1/telemetry/checks/svc',
      headers: { ...bearer(key), 'content-type': 'application/msgpack' },
      payload: packr.pack({
        writer: 'w',
        seq: 1,
        records: [{ function: 'f', args: [1, new Uint8Array(4)] }],
      }),
    });
    expect(bytes.statusCode).toBe(400);
    expect(bytes.json().error).toEqual({
      code: 'invalid_field',
      message: 'body.records[0].args[1]: expected a JSON value',
      details: { field: 'body.records[0].args[1]' },
    });
    const packed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/telemetry/checks/svc',
      headers: { ...bearer(key), 'content-type': 'application/msgpack' },
      payload: packr.pack({
        writer: 'w',
        seq: 2,
        records: [{ function: 'g', args: [1, 'x'], kwargs: { k: null } }],
      }),
    });
    expect(packed.json()).toEqual({ stored: true, records: 1 });
    expect(
      (await call('GET', '/telemetry/records?service=checks/svc')).body!.items.map(
        (r: { function: string }) => r.function,
      ),
    ).toEqual(['g']);
    expect((await call('DELETE', `/admin/telemetry/keys/${id}`)).status).toBe(204);
    const revoked = await post([{ function: 'f' }]);
    expect(revoked.status).toBe(401);
    expect(revoked.body!.error.message).toBe("telemetry key 'lib' has been revoked");
    expect((await call('DELETE', `/admin/telemetry/keys/${id}`)).status).toBe(404);
  });

  it('filters and pages the records, and counts calls per function in time buckets', async () => {
    const { key } = await newKey('agg/svc');
    const hour = 3600 * 1e6;
    const t0 = 1_800_000_000_000_000 - (1_800_000_000_000_000 % hour);
    const records = [
      ...Array.from({ length: 5 }, (_, i) => ({ function: 'search', timestamp: t0 + i, session_id: 's1' })),
      ...Array.from({ length: 3 }, (_, i) => ({ function: 'search', timestamp: t0 + 2 * hour + i })),
      ...Array.from({ length: 2 }, (_, i) => ({ function: 'load', timestamp: t0 + hour + 10 + i })),
    ];
    expect(
      (await call('POST', '/telemetry/agg/svc', { writer: 'w', seq: 0, records }, bearer(key))).body,
    ).toEqual({
      stored: true,
      records: 10,
    });
    const usage = await call(
      'GET',
      `/telemetry/usage?service=agg/svc&from=${t0}&to=${t0 + 3 * hour}&bucket=1h`,
    );
    expect(usage.status).toBe(200);
    expect(usage.body).toEqual({
      service: 'agg/svc',
      from: t0,
      to: t0 + 3 * hour,
      bucket: 3600,
      times: [t0, t0 + hour, t0 + 2 * hour],
      functions: [
        { function: 'search', total: 8, counts: [5, 0, 3] },
        { function: 'load', total: 2, counts: [0, 2, 0] },
      ],
    });
    const loads = await call(
      'GET',
      `/telemetry/usage?service=agg/svc&from=${t0 + 1}&to=${t0 + 2 * hour}&bucket=1800&function=load`,
    );
    expect(loads.body).toMatchObject({
      from: t0,
      to: t0 + 2 * hour,
      bucket: 1800,
      functions: [{ function: 'load', total: 2, counts: [0, 0, 2, 0] }],
    });
    const auto = await call('GET', `/telemetry/usage?service=agg/svc&from=${t0}&to=${t0 + 24 * hour}`);
    expect(auto.body).toMatchObject({ bucket: 900, from: t0, to: t0 + 24 * hour });
    expect(auto.body!.times).toHaveLength(96);

    const session = await call('GET', '/telemetry/records?service=agg/svc&session=s1&order=desc&limit=2');
    expect(session.body!.items.map((r: { timestamp: number }) => r.timestamp)).toEqual([t0 + 4, t0 + 3]);
    const rest = await call(
      'GET',
      `/telemetry/records?service=agg/svc&session=s1&order=desc&limit=2&next=${session.body!.next}`,
    );
    expect(rest.body!.items.map((r: { timestamp: number }) => r.timestamp)).toEqual([t0 + 2, t0 + 1]);
    const load = await call('GET', `/telemetry/records?service=agg/svc&function=load&from=${t0 + hour + 11}`);
    expect(load.body!.items.map((r: { timestamp: number }) => r.timestamp)).toEqual([t0 + hour + 11]);

    const services = await call('GET', '/telemetry/services');
    expect(services.body!.items.find((s: { path: string }) => s.path === 'agg/svc')).toEqual({
      path: 'agg/svc',
      name: 'agg_svc',
      records: 10,
      first: t0,
      last: t0 + 2 * hour + 2,
      created: t.clock.now,
    });

    for (const [url, message] of [
      ['/telemetry/usage', /^query\.service: required/],
      ['/telemetry/usage?service=none/such', /^telemetry service 'none\/such' not found/],
      ['/telemetry/usage?service=agg/svc&bucket=fast', /^query\.bucket: /],
      ['/telemetry/usage?service=agg/svc&bucket=1s&from=0&to=100000000000', /^query\.bucket: 100000 buckets/],
      ['/telemetry/usage?service=agg/svc&from=5&to=4', /^query\.from: must be before query\.to/],
      ['/telemetry/records?service=agg/svc&order=up', /^query\.order: /],
      ['/telemetry/records?service=agg/svc&from=yesterday', /^query\.from: /],
    ] as const) {
      const res = await call('GET', url);
      expect(res.status, url).toBeGreaterThanOrEqual(400);
      expect(res.status, url).toBeLessThan(500);
      expect(res.body!.error.message, url).toMatch(message);
    }
  });

  it('keeps services and records to their workspace', async () => {
    await call('POST', '/admin/workspaces', { name: 'other' });
    const { key } = await call('POST', '/admin/telemetry/keys', {
      service: 'agg/svc',
      name: 'other-lib',
      workspace: 'other',
    }).then((r) => r.body as { key: string });
    await call(
      'POST',
      '/telemetry/agg/svc',
      { writer: 'w', seq: 0, records: [{ function: 'x' }] },
      bearer(key),
    );
    const mine = await call('GET', '/telemetry/records?service=agg/svc&function=x');
    expect(mine.status).toBe(200);
    expect(mine.body!.items).toEqual([]);
    const theirs = await t.store.telemetry.getService(
      (await t.store.identity.getWorkspace('other'))!.id,
      'agg/svc',
    );
    const rows = await t.store.telemetry.listRecords(theirs!.pk, {
      functions: null,
      sessionId: null,
      from: null,
      to: null,
      after: null,
      limit: 10,
      descending: false,
    });
    expect(rows.map((r) => r.function)).toEqual(['x']);
  });
});
