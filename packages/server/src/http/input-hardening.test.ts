import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { int64Bytes, LIMITS, MSGPACK_TYPE } from '@simscope/protocol';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { LocalBlobStore } from '../blob/local-blob-store.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const MAX = Number.MAX_SAFE_INTEGER;

/** JSON text of `depth` objects nested in one another: `{"a":{"a":…{"a":1}…}}`. */
function deepJson(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** msgpack bytes of `depth` one-entry maps nested in one another, the same shape as `deepJson`. */
function deepMsgpack(depth: number): Buffer {
  const level = Buffer.from([0x81, 0xa1, 0x61]);
  return Buffer.concat([Buffer.alloc(depth * 3, level), Buffer.from([0x01])]);
}

/** msgpack bytes of a map whose entries are `fields`, each value already packed. */
function msgpackMap(fields: Record<string, Buffer>): Buffer {
  const entries = Object.entries(fields);
  return Buffer.concat([
    Buffer.from([0x80 | entries.length]),
    ...entries.flatMap(([key, value]) => [packr.pack(key), value]),
  ]);
}

/** `packed` with the bytes of the ASCII `marker` replaced by `bytes` of the same length. */
function patchBytes(packed: Buffer, marker: string, bytes: number[]): Buffer {
  const at = packed.indexOf(marker);
  expect(at).toBeGreaterThan(0);
  expect(bytes.length).toBe(marker.length);
  const out = Buffer.from(packed);
  out.set(bytes, at);
  return out;
}

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(BACKENDS)('input hardening on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-hardening-'));
    t = await openTestApp(backend, { blobs: new LocalBlobStore(dir) });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = async (method: string, url: string, payload: string | Buffer, type: string) => {
    const res = await t.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { ...t.auth, 'content-type': type },
      payload,
    });
    return { status: res.statusCode, body: res.body ? (res.json() as Record<string, any>) : undefined };
  };
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
    return { status: res.statusCode, body: res.body ? (res.json() as Record<string, any>) : undefined };
  };
  const json = (method: string, url: string, text: string) => send(method, url, text, 'application/json');
  const msgpack = (method: string, url: string, bytes: Buffer) => send(method, url, bytes, MSGPACK_TYPE);
  const refused = (res: { status: number; body?: Record<string, any> }, code: string, field: string) => {
    expect(res.status, JSON.stringify(res.body?.error ?? res.body).slice(0, 200)).toBe(400);
    expect(res.body!.error.code).toBe(code);
    expect(res.body!.error.message).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
  };

  describe('#7 nested metadata', () => {
    it('accepts metadata 64 levels deep and refuses 65, 1000 and 100000 naming the field, in runs and folders', async () => {
      const ok = await json('POST', '/runs', `{"name":"deep-ok","metadata":${deepJson(64)}}`);
      expect(ok.status).toBe(201);
      expect(JSON.stringify(ok.body!.metadata)).toBe(deepJson(64));
      const folder = await json('POST', '/folders', `{"path":"/deep-ok","metadata":${deepJson(64)}}`);
      expect(folder.status).toBe(201);
      expect((await json('PATCH', '/runs/deep-ok', `{"metadata":${deepJson(64)}}`)).status).toBe(200);
      expect(
        (await json('PATCH', `/folders/${folder.body!.id}`, `{"metadata":${deepJson(64)}}`)).status,
      ).toBe(200);
      for (const depth of [100_000, 1001, 1000, 65]) {
        const deep = deepJson(depth);
        refused(
          await json('POST', '/runs', `{"name":"deep-${depth}","metadata":${deep}}`),
          'invalid_field',
          'body.metadata',
        );
        refused(
          await json('POST', '/runs', `{"name":"deep-${depth}","system":${deep}}`),
          'invalid_field',
          'body.system',
        );
        refused(
          await json('PATCH', '/runs/deep-ok', `{"metadata":${deep}}`),
          'invalid_field',
          'body.metadata',
        );
        refused(await json('PATCH', '/runs/deep-ok', `{"system":${deep}}`), 'invalid_field', 'body.system');
        refused(
          await json('POST', '/folders', `{"path":"/deep-${depth}","metadata":${deep}}`),
          'invalid_field',
          'body.metadata',
        );
        refused(
          await json('PATCH', `/folders/${folder.body!.id}`, `{"metadata":${deep}}`),
          'invalid_field',
          'body.metadata',
        );
        expect((await call('GET', `/runs/deep-${depth}`)).status).toBe(404);
      }
      const message = (await json('POST', '/runs', `{"metadata":${deepJson(65)}}`)).body!.error.message;
      expect(message).toBe('body.metadata: must nest at most 64 levels deep');
      expect(LIMITS.jsonDepth).toBe(64);
      expect((await call('GET', '/health')).status).toBe(200);
    });

    it('refuses metadata nested too deeply in msgpack bodies, and the next msgpack body is read as usual', async () => {
      const runBody = (name: string, depth: number) =>
        msgpackMap({ name: packr.pack(name), metadata: deepMsgpack(depth) });
      refused(
        await msgpack('POST', '/runs', runBody('mp-deep-1000', 1000)),
        'invalid_field',
        'body.metadata',
      );
      refused(await msgpack('POST', '/runs', runBody('mp-deep-65', 65)), 'invalid_field', 'body.metadata');
      const huge = await msgpack('POST', '/runs', runBody('mp-deep-100000', 100_000));
      expect(huge.status, JSON.stringify(huge.body?.error)).toBe(400);
      expect(huge.body!.error).toEqual({
        code: 'invalid_body',
        message: 'malformed msgpack: nested more than 64 levels',
      });
      const ok = await msgpack('POST', '/runs', runBody('mp-deep-64', 64));
      expect(ok.status, JSON.stringify(ok.body?.error)).toBe(201);
      expect(JSON.stringify(ok.body!.metadata)).toBe(deepJson(64));
    });

    it('refuses nested telemetry fields and artifact metadata past the same depth', async () => {
      const key = (await call('POST', '/admin/telemetry/keys', { service: 'deep/lib', name: 'lib' })).body!
        .key;
      const record = (field: string) =>
        `{"writer":"w","seq":0,"records":[{"function":"f","kwargs":{"x":1},"${field}":${deepJson(1000)}}]}`;
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/telemetry/deep/lib',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        payload: record('extra'),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/^body\.records\[0\]\.extra/);
      const run = (await call('POST', '/runs', { name: 'deep-artifacts' })).body!;
      const put = await t.app.inject({
        method: 'PUT',
        url: `/api/v1/runs/${run.id}/artifacts?name=a.txt&category=output&metadata=${encodeURIComponent(deepJson(65))}`,
        headers: { ...t.auth, 'content-type': 'text/plain' },
        payload: 'x',
      });
      expect(put.statusCode).toBe(400);
      expect(put.json().error.message).toBe('query.metadata: must nest at most 64 levels deep');
    });
  });

  describe('#9 crafted cursors', () => {
    type Part = 'string' | 'integer';
    const badFor: Record<Part, unknown[]> = {
      integer: [{ a: 1 }, [1], 'NaN', '1', 1.5, 1e300, -1e300, 2 ** 53, null, true],
      string: [{ a: 1 }, ['x'], 1, 1e300, null, false, 'a\u0000b'],
    };
    /** Cursors that are wrong for a listing whose cursors are `shape`, built from the valid `sample`. */
    function crafted(shape: Part[], sample: unknown[]): string[] {
      const out = ['', '!!!!', cursor({}), cursor(5), cursor('x'), cursor(null), cursor([])];
      out.push(cursor([...sample, 1]), cursor(sample.slice(0, -1)));
      out.push(Buffer.from('[1,').toString('base64url'));
      shape.forEach((part, i) => {
        for (const bad of badFor[part]) out.push(cursor(sample.map((v, j) => (j === i ? bad : v))));
      });
      return out.filter((c) => c !== '');
    }

    it('answers 400 invalid_cursor, never 500, for crafted cursors on every listing', async () => {
      t.clock.now += 1_000_000;
      const runA = (await call('POST', '/runs', { name: 'cursor-a', folder: '/cursor/a' })).body!;
      t.clock.now += 1_000_000;
      await call('POST', '/runs', { name: 'cursor-b', folder: '/cursor/b' });
      const run = `/runs/${runA.id}`;
      expect(
        (
          await call('POST', `${run}/metrics`, {
            writer: 'w',
            seq: 0,
            series: [
              { name: 'loss', values: [1, 2, 3], steps: [0, 1, 2] },
              { name: 'lr', values: [1], steps: [0] },
            ],
          })
        ).status,
      ).toBe(200);
      await call('POST', `${run}/events`, {
        writer: 'w',
        seq: 0,
        events: [{ message: 'one' }, { message: 'two' }],
      });
      for (const name of ['cursor-x', 'cursor-y']) {
        const alert = await call('POST', `${run}/alerts`, { name, source: 'user' });
        expect(alert.status, JSON.stringify(alert.body)).toBe(201);
      }
      for (const state of ['critical', 'ok', 'critical']) {
        const set = await call('PUT', `${run}/alerts/cursor-x/state`, { state });
        expect(set.status, JSON.stringify(set.body)).toBe(200);
      }
      for (const name of ['a.txt', 'b.txt']) {
        const put = await t.app.inject({
          method: 'PUT',
          url: `/api/v1${run}/artifacts?name=${name}&category=output`,
          headers: { ...t.auth, 'content-type': 'text/plain' },
          payload: name,
        });
        expect(put.statusCode).toBe(201);
      }
      const key = (await call('POST', '/admin/telemetry/keys', { service: 'cursor/lib', name: 'lib' })).body!
        .key;
      const tel = await call(
        'POST',
        '/telemetry/cursor/lib',
        { writer: 'w', seq: 0, records: [{ function: 'f' }, { function: 'g' }] },
        { authorization: `Bearer ${key}` },
      );
      expect(tel.status).toBe(200);

      const listings: { url: string; shape: Part[] }[] = [
        { url: '/runs?sort=-created', shape: ['integer', 'integer', 'string'] },
        { url: '/runs?sort=started', shape: ['integer', 'integer', 'string'] },
        { url: '/runs?sort=name', shape: ['string', 'integer', 'string'] },
        { url: '/runs?sort=-status', shape: ['string', 'integer', 'string'] },
        { url: '/folders?prefix=/cursor', shape: ['string'] },
        { url: `${run}/events`, shape: ['integer', 'integer'] },
        { url: `${run}/events?order=desc`, shape: ['integer', 'integer'] },
        { url: '/alerts', shape: ['string'] },
        { url: `${run}/alerts`, shape: ['string'] },
        { url: `${run}/alerts/cursor-x/history`, shape: ['integer'] },
        { url: `${run}/metrics`, shape: ['string'] },
        { url: `${run}/metrics/series?name=loss`, shape: ['integer', 'integer', 'integer'] },
        { url: '/run-table', shape: ['integer', 'integer'] },
        { url: `${run}/artifacts`, shape: ['string'] },
        { url: '/telemetry/records?service=cursor/lib', shape: ['integer', 'integer'] },
      ];
      let tried = 0;
      for (const { url, shape } of listings) {
        const sep = url.includes('?') ? '&' : '?';
        const first = await call('GET', `${url}${sep}limit=1`);
        expect(first.status, url).toBe(200);
        const next = first.body!.next as string;
        expect(typeof next, url).toBe('string');
        const sample = JSON.parse(Buffer.from(next, 'base64url').toString('utf8')) as unknown[];
        expect(sample.length, url).toBe(shape.length);
        expect((await call('GET', `${url}${sep}limit=1&next=${next}`)).status, url).toBe(200);
        for (const bad of crafted(shape, sample)) {
          const res = await call('GET', `${url}${sep}limit=1&next=${encodeURIComponent(bad)}`);
          const decoded = Buffer.from(bad, 'base64url').toString('utf8');
          expect(res.status, `${url} next=${decoded}: ${JSON.stringify(res.body)}`).toBe(400);
          expect(res.body!.error.code).toBe('invalid_cursor');
          expect(res.body!.error.message).toMatch(/^query\.next: /);
          tried++;
        }
      }
      expect(tried).toBeGreaterThan(200);
    });
  });

  describe('#10 one range for integers and times in JSON and msgpack', () => {
    const batch = (series: Record<string, unknown>, seq = 0) => ({ writer: 'w', seq, series: [series] });
    const both = async (run: string, series: Record<string, unknown>, binary: Record<string, unknown>) => {
      const viaJson = await call('POST', `/runs/${run}/metrics`, batch(series));
      const viaMsgpack = await msgpack(
        'POST',
        `/runs/${run}/metrics`,
        packr.pack(batch({ ...series, ...binary })),
      );
      return [viaJson, viaMsgpack];
    };

    it('refuses steps and timestamps outside ±(2^53−1) and [0, 2^53−1] alike in both encodings', async () => {
      const run = (await call('POST', '/runs', { name: 'ranges' })).body!.id as string;
      for (const step of [2 ** 53, 2 ** 62, -(2 ** 62)]) {
        const [a, b] = await both(
          run,
          { name: 'm', values: [1], steps: [step] },
          { steps: int64Bytes(Float64Array.of(step)) },
        );
        refused(a!, 'invalid_field', 'body.series[0].steps[0]');
        refused(b!, 'invalid_field', 'body.series[0].steps[0]');
        expect(b!.body!.error.message).toBe(a!.body!.error.message);
      }
      for (const ts of [2 ** 53, 2 ** 62, -1]) {
        const [a, b] = await both(
          run,
          { name: 'm', values: [1], timestamps: [ts] },
          { timestamps: int64Bytes(Float64Array.of(ts)) },
        );
        refused(a!, 'invalid_field', 'body.series[0].timestamps[0]');
        refused(b!, 'invalid_field', 'body.series[0].timestamps[0]');
        expect(b!.body!.error.message).toBe(a!.body!.error.message);
      }
      const stepStart = await both(run, { name: 'm', values: [1, 2], stepStart: MAX }, {});
      for (const res of stepStart) refused(res, 'invalid_field', 'body.series[0].stepStart');
      const series = await call('GET', `/runs/${run}/metrics`);
      expect(series.body!.items).toEqual([]);
    });

    it('accepts the largest step in both encodings and reads it back exactly', async () => {
      const run = (await call('POST', '/runs', { name: 'ranges-ok' })).body!.id as string;
      const json = await call(
        'POST',
        `/runs/${run}/metrics`,
        batch({ name: 'j', values: [1, 2], steps: [-MAX, MAX] }),
      );
      expect(json.status, JSON.stringify(json.body)).toBe(200);
      const binary = await msgpack(
        'POST',
        `/runs/${run}/metrics`,
        packr.pack(batch({ name: 'b', values: [1, 2], steps: int64Bytes(Float64Array.of(-MAX, MAX)) }, 1)),
      );
      expect(binary.status, JSON.stringify(binary.body)).toBe(200);
      for (const name of ['j', 'b']) {
        const read = await call('GET', `/runs/${run}/metrics/series?name=${name}`);
        expect(read.body!.steps).toEqual([-MAX, MAX]);
      }
    });

    it('refuses a timestampOrigin or times that give timestamps out of range, in both encodings', async () => {
      const run = (await call('POST', '/runs', { name: 'origins' })).body!.id as string;
      for (const origin of [1e300, 2 ** 53, -1]) {
        const [a, b] = await both(run, { name: 'm', values: [1], times: [0], timestampOrigin: origin }, {});
        refused(a!, 'invalid_field', 'body.series[0].timestampOrigin');
        refused(b!, 'invalid_field', 'body.series[0].timestampOrigin');
      }
      const msgpackOrigin = await msgpack(
        'POST',
        `/runs/${run}/metrics`,
        packr.pack(batch({ name: 'm', values: [1], times: [0], timestampOrigin: 2n ** 62n })),
      );
      refused(msgpackOrigin, 'invalid_field', 'body.series[0].timestampOrigin');
      const [a, b] = await both(
        run,
        { name: 'm', values: [1, 2], times: [0, 1e300], timestampOrigin: t.clock.now },
        {},
      );
      refused(a!, 'invalid_field', 'body.series[0].times[1]');
      refused(b!, 'invalid_field', 'body.series[0].times[1]');
      expect((await call('GET', `/runs/${run}/metrics`)).body!.items).toEqual([]);
    });

    it('refuses event timestamps and createdAt past 2^53−1 in both encodings', async () => {
      const run = (await call('POST', '/runs', { name: 'event-ranges' })).body!.id as string;
      const events = (timestamp: number | bigint) => ({
        writer: 'w',
        seq: 0,
        events: [{ message: 'x', timestamp }],
      });
      refused(
        await call('POST', `/runs/${run}/events`, events(2 ** 53)),
        'invalid_field',
        'body.events[0].timestamp',
      );
      for (const ts of [2n ** 53n, 2n ** 62n]) {
        refused(
          await msgpack('POST', `/runs/${run}/events`, packr.pack(events(ts))),
          'invalid_field',
          'body.events[0].timestamp',
        );
      }
      refused(
        await call('POST', '/runs', { name: 'late', createdAt: 2 ** 53 }),
        'invalid_field',
        'body.createdAt',
      );
      refused(
        await msgpack('POST', '/runs', packr.pack({ name: 'late', createdAt: 2n ** 62n })),
        'invalid_field',
        'body.createdAt',
      );
    });
  });

  describe('#11 names that are not well-formed Unicode', () => {
    it('refuses a run name with a lone surrogate, and the name stays free', async () => {
      refused(await call('POST', '/runs', { name: 'cavity-\ud800' }), 'invalid_field', 'body.name');
      expect((await call('GET', `/runs/${encodeURIComponent('cavity-\ufffd')}`)).status).toBe(404);
      const text = await call('POST', '/runs', { name: 'free-text', description: 'bytes \ufffd lost' });
      expect(text.status).toBe(201);
      expect(text.body!.description).toBe('bytes \ufffd lost');
      const emoji = await call('POST', '/runs', { name: 'cavity-\u{1f600}' });
      expect(emoji.status).toBe(201);
      expect((await call('GET', `/runs/${encodeURIComponent('cavity-\u{1f600}')}`)).body!.id).toBe(
        emoji.body!.id,
      );
    });

    it('refuses lone surrogates in every name, naming the field', async () => {
      const run = (await call('POST', '/runs', { name: 'names' })).body!;
      const folder = (await call('POST', '/folders', { path: '/names' })).body!;
      const cases: [string, string, unknown, string][] = [
        ['PATCH', '/runs/names', { name: 'x\udc00' }, 'body.name'],
        ['POST', '/runs', { folder: '/a/b\ud800' }, 'body.folder'],
        ['POST', '/runs', { tags: ['ok', 't\ud800'] }, 'body.tags[1]'],
        ['PATCH', '/runs/names', { addTags: ['\udfff'] }, 'body.addTags[0]'],
        ['POST', '/runs', { metadata: { 'k\ud800': 1 } }, 'body.metadata.k\ud800'],
        ['PATCH', `/folders/${folder.id}`, { metadata: { '\ud800k': 1 } }, 'body.metadata.\ud800k'],
        ['POST', '/folders', { path: '/f\ud800' }, 'body.path'],
        ['POST', '/alerts', { name: 'al\ud800', metric: 'm', rule: 'is above', threshold: 1 }, 'body.name'],
        ['POST', '/admin/workspaces', { name: 'ws\ud800' }, 'body.name'],
        ['POST', '/admin/users', { name: 'u\ud800' }, 'body.name'],
        ['POST', '/admin/tokens', { user: 'admin', name: 'tok\ud800' }, 'body.name'],
        ['POST', '/admin/telemetry/keys', { service: 'n/lib', name: 'k\ud800' }, 'body.name'],
        [
          'POST',
          `/runs/${run.id}/metrics`,
          { writer: 'w', seq: 0, series: [{ name: 'loss\ud800', values: [1] }] },
          'body.series[0].name',
        ],
      ];
      for (const [method, url, body, field] of cases) {
        const res = await call(method, url, body);
        expect(res.status, `${method} ${url} ${JSON.stringify(res.body)}`).toBe(400);
        refused(res, 'invalid_field', field);
      }
      expect((await call('GET', `/runs/${run.id}/metrics`)).body!.items).toEqual([]);
    });

    it('refuses names that were not valid UTF-8 in msgpack and JSON bodies', async () => {
      const run = (await call('POST', '/runs', { name: 'utf8' })).body!.id as string;
      const metrics = packr.pack({ writer: 'w', seq: 0, series: [{ name: 'loss-XXX', values: [1] }] });
      refused(
        await msgpack('POST', `/runs/${run}/metrics`, patchBytes(metrics, 'XXX', [0xed, 0xa0, 0x80])),
        'invalid_field',
        'body.series[0].name',
      );
      refused(
        await msgpack('POST', `/runs/${run}/metrics`, patchBytes(metrics, 'XXX', [0xff, 0xfe, 0x41])),
        'invalid_field',
        'body.series[0].name',
      );
      const create = packr.pack({ name: 'bad-XX' });
      refused(
        await msgpack('POST', '/runs', patchBytes(create, 'XX', [0xc3, 0x28])),
        'invalid_field',
        'body.name',
      );
      const text = Buffer.from('{"name":"bad-XX"}');
      refused(
        await send('POST', '/runs', patchBytes(text, 'XX', [0xc3, 0x28]), 'application/json'),
        'invalid_field',
        'body.name',
      );
      expect((await call('GET', `/runs/${run}/metrics`)).body!.items).toEqual([]);
    });
  });
});
