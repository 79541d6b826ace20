import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { LocalBlobStore } from '../blob/local-blob-store.js';
import { ArtifactService } from '../services/artifact-service.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Every file under `dir`, relative, sorted. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const full = join(d, name);
      try {
        readdirSync(full);
        walk(full, `${prefix}${name}/`);
      } catch {
        out.push(`${prefix}${name}`);
      }
    }
  };
  walk(dir, '');
  return out.sort();
}

describe.each(BACKENDS)('artifact routes on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dir: string;
  let blobs: LocalBlobStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-artifacts-'));
    blobs = new LocalBlobStore(dir);
    t = await openTestApp(backend, { blobs });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (
    method: string,
    url: string,
    payload?: Buffer | string | Readable,
    headers: Record<string, string> = {},
  ) => {
    const res = await t.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { ...t.auth, ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
    return { status: res.statusCode, headers: res.headers, raw: res.rawPayload, json: () => res.json() };
  };
  const newRun = async (name: string, folder = '/') =>
    (
      await call('POST', '/runs', JSON.stringify({ name, folder }), { 'content-type': 'application/json' })
    ).json().id as string;
  const put = (run: string, name: string, body: Buffer | string | Readable, query = '', headers = {}) =>
    call(
      'PUT',
      `/runs/${run}/artifacts?name=${encodeURIComponent(name)}&category=output${query}`,
      body,
      headers,
    );
  const blobFiles = () => files(join(dir, 'sha256'));
  const stagedFiles = () => files(join(dir, 'tmp'));

  it('saves bytes with their checksum, serves them back with type, disposition, etag and ranges', async () => {
    const run = await newRun('save-and-serve');
    const body = 'FoamFile { version 2.0; format ascii; }\n';
    const meta = encodeURIComponent(JSON.stringify({ solver: 'simpleFoam' }));
    const saved = await put(
      run,
      'system/controlDict',
      body,
      `&sha256=${sha(body)}&size=${body.length}&metadata=${meta}`,
      {
        'content-type': 'text/plain',
      },
    );
    expect(saved.status).toBe(201);
    expect(saved.json()).toEqual({
      name: 'system/controlDict',
      category: 'output',
      mimeType: 'text/plain',
      size: body.length,
      sha256: sha(body),
      metadata: { solver: 'simpleFoam' },
      created: t.clock.now,
    });
    expect(blobFiles()).toEqual([`${sha(body).slice(0, 2)}/${sha(body)}`]);
    expect(stagedFiles()).toEqual([]);

    const got = await call('GET', `/runs/${run}/artifacts/content?name=system%2FcontrolDict`);
    expect(got.status).toBe(200);
    expect(got.raw.toString()).toBe(body);
    expect(got.headers).toMatchObject({
      'content-type': 'text/plain',
      'content-length': String(body.length),
      'content-disposition': `attachment; filename="controlDict"; filename*=UTF-8''controlDict`,
      etag: `"${sha(body)}"`,
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    });

    const range = (value: string, extra: Record<string, string> = {}) =>
      call('GET', `/runs/${run}/artifacts/content?name=system%2FcontrolDict`, undefined, {
        range: value,
        ...extra,
      });
    const middle = await range('bytes=9-15');
    expect(middle.status).toBe(206);
    expect(middle.raw.toString()).toBe(body.slice(9, 16));
    expect(middle.headers['content-range']).toBe(`bytes 9-15/${body.length}`);
    expect(middle.headers['content-length']).toBe('7');
    expect((await range('bytes=-6')).raw.toString()).toBe(body.slice(-6));
    expect((await range('bytes=30-')).raw.toString()).toBe(body.slice(30));
    expect((await range('bytes=30-100000')).raw.toString()).toBe(body.slice(30));
    const outside = await range(`bytes=${body.length}-`);
    expect(outside.status).toBe(416);
    expect(outside.headers['content-range']).toBe(`bytes */${body.length}`);
    expect(outside.json().error.code).toBe('range_not_satisfiable');
    const several = await range('bytes=0-1,4-5');
    expect(several.status).toBe(200);
    expect(several.raw.toString()).toBe(body);
    const changed = await range('bytes=0-3', { 'if-range': '"0000"' });
    expect(changed.status).toBe(200);
    expect((await range('bytes=0-3', { 'if-range': `"${sha(body)}"` })).status).toBe(206);

    const head = await call('HEAD', `/runs/${run}/artifacts/content?name=system%2FcontrolDict`);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(body.length));
    expect(head.raw.length).toBe(0);
  });

  it('takes the sha256 after the bytes with sha256=trailer, and checks it', async () => {
    const run = await newRun('trailer');
    const data = randomBytes(200_000);
    const ok = await put(
      run,
      'data.bin',
      Buffer.concat([data, Buffer.from(sha(data))]),
      '&sha256=trailer&size=200000',
    );
    expect(ok.status).toBe(201);
    expect(ok.json()).toMatchObject({ size: 200_000, sha256: sha(data) });
    expect((await call('GET', `/runs/${run}/artifacts/content?name=data.bin`)).raw.equals(data)).toBe(true);
    const wrong = await put(
      run,
      'other.bin',
      Buffer.concat([data, Buffer.from(sha('x'))]),
      '&sha256=trailer',
    );
    expect(wrong.json().error).toMatchObject({
      code: 'checksum_mismatch',
      details: { expected: sha('x'), actual: sha(data) },
    });
    const garbage = await put(
      run,
      'other.bin',
      Buffer.concat([data, Buffer.alloc(64, 'z')]),
      '&sha256=trailer',
    );
    expect(garbage.json().error).toEqual({
      code: 'invalid_body',
      message: 'body: with sha256=trailer, the body must end with the 64 lowercase hex digits of its sha256',
    });
    const short = await put(run, 'other.bin', 'too short', '&sha256=trailer');
    expect(short.json().error).toEqual({
      code: 'invalid_body',
      message: 'the body must end with its 64-byte checksum trailer',
    });
    // Split anywhere, even inside the trailer, the bytes come through whole.
    const pieces = Buffer.concat([data, Buffer.from(sha(data))]);
    const cuts = [0, 10, 199_990, 200_001, 200_050, pieces.length];
    const stream = Readable.from(
      cuts.slice(1).map((end, i) => pieces.subarray(cuts[i], end)),
      { objectMode: false },
    );
    const split = await put(run, 'split.bin', stream, '&sha256=trailer', {
      'transfer-encoding': 'chunked',
    });
    expect(split.json()).toMatchObject({ size: 200_000, sha256: sha(data) });
    expect(stagedFiles()).toEqual([]);
  });

  it('encodes a non-ASCII name in Content-Disposition and serves an empty artifact', async () => {
    const run = await newRun('names-and-empty');
    expect((await put(run, 'résumé "v2".txt', 'x')).status).toBe(201);
    const got = await call(
      'GET',
      `/runs/${run}/artifacts/content?name=${encodeURIComponent('résumé "v2".txt')}`,
    );
    expect(got.headers['content-disposition']).toBe(
      `attachment; filename="r_sum_ _v2_.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.txt`,
    );
    expect(got.headers['content-type']).toBe('application/octet-stream');
    expect((await put(run, 'empty', '')).json()).toMatchObject({ size: 0, sha256: sha('') });
    const empty = await call('GET', `/runs/${run}/artifacts/content?name=empty`);
    expect(empty.status).toBe(200);
    expect(empty.raw.length).toBe(0);
  });

  it('rejects unsafe names, unknown categories and bad checksums with the field named, storing nothing', async () => {
    const run = await newRun('rejects');
    const before = blobFiles();
    const cases: [string, string][] = [
      ['../escape', "query.name: must not contain '.' or '..' segments"],
      ['a/../../b', "query.name: must not contain '.' or '..' segments"],
      ['./a', "query.name: must not contain '.' or '..' segments"],
      ['/etc/passwd', "query.name: must be relative (no leading '/')"],
      ['a\\b', "query.name: must not contain '\\'; separate segments with '/'"],
      ['a\u0000b', 'query.name: must not contain control characters'],
      ['line\nbreak', 'query.name: must not contain control characters'],
      ['a//b', "query.name: must not contain empty segments ('//' or a trailing '/')"],
      ['dir/', "query.name: must not contain empty segments ('//' or a trailing '/')"],
      ['', 'query.name: must not be empty'],
      ['x'.repeat(1025), 'query.name: must be at most 1024 characters'],
      [`${'y'.repeat(256)}/z`, 'query.name: segments must be at most 255 characters'],
    ];
    for (const [name, message] of cases) {
      const res = await put(run, name, 'data');
      expect(res.status, name).toBe(400);
      expect(res.json().error, name).toMatchObject({ code: 'invalid_field', message });
    }
    const noName = await call('PUT', `/runs/${run}/artifacts?category=input`, 'data');
    expect(noName.json().error.message).toBe('query.name: required');
    const category = await call('PUT', `/runs/${run}/artifacts?name=a&category=results`, 'data');
    expect(category.json().error.message).toBe(
      "query.category: must be one of code, input, output, got 'results'",
    );
    expect((await put(run, 'a', 'data', '&sha256=xyz')).json().error.message).toBe(
      "query.sha256: must be 64 hexadecimal digits, or 'trailer' when they end the body",
    );
    const wrong = await put(run, 'a', 'data', `&sha256=${sha('other')}`);
    expect(wrong.status).toBe(400);
    expect(wrong.json().error).toMatchObject({
      code: 'checksum_mismatch',
      details: { field: 'sha256', expected: sha('other'), actual: sha('data') },
    });
    const short = await put(run, 'a', 'data', '&size=5');
    expect(short.json().error).toMatchObject({
      code: 'invalid_field',
      message: 'query.size: 5 bytes were announced but 4 arrived',
    });
    const meta = await put(run, 'a', 'data', `&metadata=${encodeURIComponent('[1]')}`);
    expect(meta.json().error.message).toBe('query.metadata: must be a JSON object');
    const type = await put(run, 'a', 'data', '', { 'content-type': 'not a type' });
    expect(type.json().error.message).toBe("header.content-type: 'not a type' is not a MIME type");
    expect((await call('GET', `/runs/${run}/artifacts`)).json()).toEqual({ items: [], next: null });
    expect(blobFiles()).toEqual(before);
    expect(stagedFiles()).toEqual([]);
    const missing = await call('GET', `/runs/${run}/artifacts/content?name=nope`);
    expect(missing.status).toBe(404);
    expect(missing.json().error.message).toBe("run 'rejects' has no artifact 'nope'");
  });

  it('stores the same bytes once, replaces a name saved again, and frees blobs nothing references', async () => {
    const a = await newRun('dedup-a', '/dedup');
    const b = await newRun('dedup-b', '/dedup');
    const shared = randomBytes(5000);
    const other = randomBytes(7000);
    const blobOf = (data: Buffer) => `${sha(data).slice(0, 2)}/${sha(data)}`;
    const start = blobFiles();
    expect((await put(a, 'mesh.bin', shared)).status).toBe(201);
    expect((await put(a, 'copy-of-mesh.bin', shared, `&sha256=${sha(shared)}`)).status).toBe(201);
    expect((await put(b, 'mesh.bin', shared)).status).toBe(201);
    expect(blobFiles()).toEqual([...start, blobOf(shared)].sort());

    // Saving a name again replaces it: new bytes, category and type; 200 instead of 201.
    const again = await call('PUT', `/runs/${a}/artifacts?name=mesh.bin&category=input`, other, {
      'content-type': 'application/x-mesh',
    });
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ category: 'input', mimeType: 'application/x-mesh', size: 7000 });
    expect((await call('GET', `/runs/${a}/artifacts?name=mesh.bin`)).json().items).toHaveLength(1);
    expect(blobFiles()).toEqual([...start, blobOf(shared), blobOf(other)].sort());

    expect((await call('DELETE', `/runs/${a}/artifacts?name=copy-of-mesh.bin`)).status).toBe(204);
    expect(blobFiles()).toContain(blobOf(shared));
    expect((await call('DELETE', `/runs/${b}`)).status).toBe(204);
    expect(blobFiles()).toEqual([...start, blobOf(other)].sort());
    expect((await call('DELETE', '/folders/%2Fdedup?recursive=true')).status).toBe(200);
    expect(blobFiles()).toEqual(start);
    expect((await call('DELETE', `/runs/${a}/artifacts?name=mesh.bin`)).status).toBe(404);
  });

  it('keeps every artifact readable while the same bytes are saved and deleted concurrently', async () => {
    const run = await newRun('races');
    const data = [randomBytes(20_000), randomBytes(30_000)];
    const before = blobFiles();
    // Saves and deletes of the same two contents interleave: a deletion may free a blob while a save of the
    // same bytes is on its way; neither may leave an artifact without its bytes.
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const bytes = data[i % 2]!;
          const name = `f${i}`;
          expect((await put(run, name, bytes)).status).toBeLessThan(300);
          if (i % 3 === 0)
            expect((await call('DELETE', `/runs/${run}/artifacts?name=${name}`)).status).toBe(204);
        }),
      );
      const items = (await call('GET', `/runs/${run}/artifacts`)).json().items as {
        name: string;
        sha256: string;
      }[];
      expect(items.map((i) => i.name).sort()).toEqual(['f1', 'f10', 'f11', 'f2', 'f4', 'f5', 'f7', 'f8']);
      for (const item of items) {
        const got = await call('GET', `/runs/${run}/artifacts/content?name=${item.name}`);
        expect(sha(got.raw)).toBe(item.sha256);
      }
      await Promise.all(items.map((i) => call('DELETE', `/runs/${run}/artifacts?name=${i.name}`)));
      expect(blobFiles()).toEqual(before);
    }
  });

  it('frees the blobs of a deleted workspace and keeps workspaces apart', async () => {
    const json = { 'content-type': 'application/json' };
    // A later membership, so that the user's first workspace (the default one) stays first.
    t.clock.now += 1_000_000;
    expect(
      (await call('POST', '/admin/workspaces', JSON.stringify({ name: `lab-${backend}` }), json)).status,
    ).toBe(201);
    await call('POST', `/admin/workspaces/lab-${backend}/members`, JSON.stringify({ user: 'admin' }), json);
    const lab = { 'simscope-workspace': `lab-${backend}` };
    const run = (
      await call('POST', '/runs', JSON.stringify({ name: 'in-the-lab' }), { ...json, ...lab })
    ).json().id;
    const before = blobFiles();
    const data = randomBytes(4000);
    const saved = await call('PUT', `/runs/${run}/artifacts?name=secret.bin&category=output`, data, lab);
    expect(saved.status).toBe(201);
    expect(blobFiles()).toHaveLength(before.length + 1);
    // Another workspace sees neither the run nor its artifact.
    expect((await call('GET', `/runs/${run}/artifacts`)).status).toBe(404);
    expect((await call('GET', '/artifacts/usage', undefined, lab)).json()).toEqual({
      bytes: 4000,
      quota: null,
    });
    expect((await call('DELETE', `/admin/workspaces/lab-${backend}`)).status).toBe(204);
    expect(blobFiles()).toEqual(before);
  });

  it('lists by category and name filters, a page at a time', async () => {
    const run = await newRun('listing');
    const names = [
      'system/controlDict',
      'system/fvSchemes',
      'constant/polyMesh/points',
      'log.simpleFoam',
      'README.md',
    ];
    for (const [i, name] of names.entries()) {
      await call(
        'PUT',
        `/runs/${run}/artifacts?name=${encodeURIComponent(name)}&category=${i < 3 ? 'input' : 'output'}`,
        name,
      );
    }
    const list = async (q: string) =>
      ((await call('GET', `/runs/${run}/artifacts?${q}`)).json().items as { name: string }[]).map(
        (i) => i.name,
      );
    expect(await list('')).toEqual([
      'README.md',
      'constant/polyMesh/points',
      'log.simpleFoam',
      'system/controlDict',
      'system/fvSchemes',
    ]);
    expect(await list('category=output')).toEqual(['README.md', 'log.simpleFoam']);
    expect(await list('startsWith=system%2F')).toEqual(['system/controlDict', 'system/fvSchemes']);
    expect(await list('category=input&contains=Mesh')).toEqual(['constant/polyMesh/points']);
    expect(await list('contains=mesh')).toEqual([]);
    expect(await list('endsWith=Dict')).toEqual(['system/controlDict']);
    expect(await list('endsWith=a-very-long-suffix-longer-than-names')).toEqual([]);
    const first = (await call('GET', `/runs/${run}/artifacts?limit=2`)).json();
    expect(first.items.map((i: { name: string }) => i.name)).toEqual([
      'README.md',
      'constant/polyMesh/points',
    ]);
    const second = (await call('GET', `/runs/${run}/artifacts?limit=2&next=${first.next}`)).json();
    expect(second.items.map((i: { name: string }) => i.name)).toEqual([
      'log.simpleFoam',
      'system/controlDict',
    ]);
    const third = (await call('GET', `/runs/${run}/artifacts?limit=2&next=${second.next}`)).json();
    expect(third).toMatchObject({ items: [{ name: 'system/fvSchemes' }], next: null });
    expect((await call('GET', `/runs/${run}/artifacts?category=logs`)).json().error.message).toBe(
      "query.category: must be one of code, input, output, got 'logs'",
    );
  });

  it('removes staged uploads and unrecorded blobs older than the grace period in a sweep', async () => {
    const service = new ArtifactService({ blobs });
    const orphan = sha('orphan');
    mkdirSync(join(dir, 'sha256', orphan.slice(0, 2)), { recursive: true });
    writeFileSync(join(dir, 'sha256', orphan.slice(0, 2), orphan), 'orphan');
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'tmp', 'stale-upload'), 'half of something');
    writeFileSync(join(dir, 'tmp', 'fresh-upload'), 'arriving now');
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(dir, 'sha256', orphan.slice(0, 2), orphan), old, old);
    utimesSync(join(dir, 'tmp', 'stale-upload'), old, old);
    const kept = blobFiles().filter((f) => !f.endsWith(orphan));
    expect(await service.sweep(t.store, { graceMs: 3_600_000 })).toEqual({ staged: 1, orphans: 1, freed: 0 });
    expect(stagedFiles()).toEqual(['fresh-upload']);
    expect(blobFiles()).toEqual(kept);
    rmSync(join(dir, 'tmp', 'fresh-upload'));
  });

  it('leaves no artifact and no blob when an upload is cut off half-way', async () => {
    const run = await newRun('cut-off');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (t.app.server.address() as AddressInfo).port;
    const before = blobFiles();
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `PUT /api/v1/runs/${run}/artifacts?name=big.bin&category=output HTTP/1.1\r\nHost: x\r\n` +
        `Authorization: Bearer ${ADMIN_TOKEN}\r\nContent-Length: 1000000\r\n\r\n`,
    );
    socket.write(randomBytes(500_000));
    // Wait until the server has the half in its staging area, then cut the connection.
    for (let i = 0; i < 200 && stagedFiles().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stagedFiles()).toHaveLength(1);
    socket.destroy();
    for (let i = 0; i < 200 && stagedFiles().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stagedFiles()).toEqual([]);
    expect(blobFiles()).toEqual(before);
    expect((await call('GET', `/runs/${run}/artifacts`)).json()).toEqual({ items: [], next: null });
  });
});

describe('artifact quota', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-quota-'));
    t = await openTestApp('sqlite', { blobs: new LocalBlobStore(dir), artifactQuota: 1000 });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = async (run: string, name: string, body: Buffer | Readable, query = '') => {
    const res = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/runs/${run}/artifacts?name=${name}&category=output${query}`,
      // A stream goes as a chunked body, as it would over a socket.
      headers: body instanceof Readable ? { ...t.auth, 'transfer-encoding': 'chunked' } : t.auth,
      payload: body,
    });
    return { status: res.statusCode, body: res.json(), headers: res.headers };
  };
  const usage = async () =>
    (await t.app.inject({ method: 'GET', url: '/api/v1/artifacts/usage', headers: t.auth })).json();

  it('counts each distinct content once and refuses what would go over, with a clear error', async () => {
    const run = (
      await t.app.inject({ method: 'POST', url: '/api/v1/runs', headers: t.auth, payload: { name: 'quota' } })
    ).json().id;
    const a = randomBytes(600);
    expect((await put(run, 'a', a)).status).toBe(201);
    expect((await put(run, 'a-again', a)).status).toBe(201);
    expect(await usage()).toEqual({ bytes: 600, quota: 1000 });

    const b = randomBytes(600);
    const over = await put(run, 'b', b);
    expect(over.status).toBe(413);
    expect(over.body.error).toEqual({
      code: 'quota_exceeded',
      message: "saving 'b' (600 bytes) would exceed this workspace's artifact quota of 1000 bytes (600 used)",
      details: { field: 'size', quota: 1000, used: 600, size: 600 },
    });
    // Announced sizes are refused before a byte is stored.
    const announced = await put(run, 'b', b, '&size=600');
    expect(announced.status).toBe(413);
    // Without a size, the upload is measured as it arrives and stops once it is larger than the whole quota.
    const streamed = await put(
      run,
      'b',
      Readable.from([b.subarray(0, 300), b.subarray(300)], { objectMode: false }),
    );
    expect(streamed.status).toBe(413);
    expect(streamed.body.error.message).toBe(over.body.error.message);
    const huge = randomBytes(1500);
    const endless = await put(
      run,
      'huge',
      Readable.from([huge.subarray(0, 700), huge.subarray(700)], { objectMode: false }),
    );
    expect(endless.status).toBe(413);
    expect(endless.body.error).toEqual({
      code: 'quota_exceeded',
      message: "the upload is larger than this workspace's artifact quota of 1000 bytes",
      details: { quota: 1000 },
    });
    expect(files(dir).filter((f) => f.startsWith('tmp/'))).toEqual([]);

    // 900 new bytes in place of `a-again` do not fit while `a` still holds the first 600; in place of the last
    // name that holds them, they do.
    const c = randomBytes(900);
    expect((await put(run, 'a-again', c)).status).toBe(413);
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/runs/${run}/artifacts?name=a-again`,
      headers: t.auth,
    });
    expect(removed.statusCode).toBe(204);
    expect((await put(run, 'a', c)).status).toBe(200);
    expect(await usage()).toEqual({ bytes: 900, quota: 1000 });
    expect(files(dir)).toEqual([`sha256/${sha(c).slice(0, 2)}/${sha(c)}`]);
  });
});
