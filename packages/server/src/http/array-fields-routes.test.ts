import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { startS3 } from '../../../../test/s3-server.js';
import type { BlobStore } from '../blob/blob-store.js';
import { LocalBlobStore } from '../blob/local-blob-store.js';
import { S3BlobStore } from '../blob/s3-blob-store.js';
import { shuffle } from '../services/array-chunk-codec.js';

const BLOB_KINDS = ['local', 's3'] as const;
const CASES = BACKENDS.flatMap((backend) => BLOB_KINDS.map((blob) => [backend, blob] as const));

// Reads an export with Debian's h5py and prints what it found; `expected` holds each dataset's exact bytes.
const H5PY_READ = `
import json, sys, h5py, numpy
path, name, expected = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
with h5py.File(path, 'r') as f:
    out = {'keys': sorted(f.keys()), 'members': sorted(f[name].keys())}
    for key in ('data', 'step', 'time'):
        d = f[name][key]
        raw = d[()].tobytes()
        out[key] = {'dtype': str(d.dtype), 'shape': list(d.shape), 'kind': d.attrs['simscope_kind'].decode() if isinstance(d.attrs['simscope_kind'], bytes) else str(d.attrs['simscope_kind']), 'exact': raw == bytes.fromhex(expected[key])}
    out['steps'] = [int(s) for s in f[name]['step'][()]]
print(json.dumps(out))
`;

describe.each(CASES)('array series routes on %s with %s blobs', (backend, blobKind) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dir: string;
  let stopS3: (() => Promise<void>) | undefined;
  let blobs: BlobStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-array-fields-'));
    if (blobKind === 's3') {
      const s3 = await startS3();
      stopS3 = s3.stop;
      blobs = new S3BlobStore({ ...s3.config, prefix: 'fields' });
    } else {
      blobs = new LocalBlobStore(join(dir, 'blobs'));
    }
    t = await openTestApp(backend, { blobs });
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await stopS3?.();
    rmSync(dir, { recursive: true, force: true });
  });

  let base = '';
  const call = async (method: string, url: string, payload?: Buffer | string, headers = {}) => {
    if (!base) {
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/api/v1`;
    }
    const res = await fetch(`${base}${url}`, { method, headers: { ...t.auth, ...headers }, body: payload });
    const raw = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers),
      raw,
      json: () => JSON.parse(raw.toString()),
    };
  };
  const newRun = async (name: string) =>
    (await call('POST', '/runs', JSON.stringify({ name }), { 'content-type': 'application/json' })).json()
      .id as string;
  const put = async (run: string, query: string, values: ArrayBufferView) => {
    const body = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    const saved = await call('PUT', `/runs/${run}/arrays?${query}`, body, {
      'content-type': 'application/octet-stream',
    });
    expect(saved.status, saved.raw.toString()).toBe(201);
  };
  const cell = (run: string, query: string) => call('GET', `/runs/${run}/arrays/cell?${query}`);

  it('gives one cell of a series at each step, paged, from a chunk past the first, NaN and Inf as strings', async () => {
    const run = await newRun(`cell-${blobKind}`);
    // 700×500 float64 is 2.7 MiB: three chunks, so row 650 lies in the third.
    const field = (step: number) => Float64Array.from({ length: 700 * 500 }, (_, e) => step * 1e6 + e);
    for (const step of [0, 5, 9])
      await put(run, `name=T&step=${step}&time=${step / 10}&shape=700,500&dtype=float64`, field(step));
    const special = Float32Array.of(Number.NaN, 1, 2);
    await put(
      run,
      'name=T&step=12&shape=700,500&dtype=float64',
      field(12).fill(Number.NaN, 650 * 500 + 497, 650 * 500 + 498),
    );
    await put(run, 'name=s&step=1&shape=3&dtype=float32', special);
    await put(run, 'name=s&step=2&shape=3&dtype=float32', Float32Array.of(0, Number.NEGATIVE_INFINITY, 2));

    const all = await cell(run, 'name=T&cell=650,-3');
    expect(all.status).toBe(200);
    expect(all.json()).toEqual({
      name: 'T',
      cell: [650, -3],
      dtype: 'float64',
      steps: [0, 5, 9, 12],
      times: [0, 0.5, 0.9, null],
      values: [325497, 5325497, 9325497, 'NaN'],
      next: null,
    });
    const first = await cell(run, 'name=T&cell=0,1&limit=2');
    expect(first.json()).toMatchObject({ steps: [0, 5], values: [1, 5000001] });
    const second = await cell(run, `name=T&cell=0,1&limit=2&next=${first.json().next}`);
    expect(second.json()).toMatchObject({ steps: [9, 12], values: [9000001, 12000001], next: null });
    expect((await cell(run, 'name=T&cell=699,499&from=6')).json()).toMatchObject({
      steps: [9, 12],
      values: [9349999, 12349999],
    });
    expect((await cell(run, 'name=s&cell=1')).json()).toMatchObject({
      dtype: 'float32',
      values: [1, '-Infinity'],
    });
    expect((await cell(run, 'name=s&cell=3')).json()).toMatchObject({ steps: [1, 2], values: [null, null] });
  });

  it('reads steps stored in layout 1 (one zlib stream per shuffled chunk) beside new ones, whole, strided and by cell', async () => {
    const run = await newRun(`layout1-${blobKind}`);
    const workspace = (await call('GET', '/me')).json().workspace.id as string;
    const record = await t.store.runs.getRun(workspace, run);
    if (!record) throw new Error('no run');
    // 700×500 float64: three chunks of at most 1 MiB, as layout 1 cut them.
    const values = Float64Array.from({ length: 700 * 500 }, (_, e) => (e % 13 === 0 ? Number.NaN : e / 7));
    const raw = Buffer.from(values.buffer);
    const perChunk = (1 << 20) / 8;
    const chunks = [];
    for (let at = 0; at < values.length; at += perChunk) {
      const part = raw.subarray(at * 8, Math.min(values.length, at + perChunk) * 8);
      const staged = await blobs.stage(Readable.from([deflateSync(shuffle(part, 8), { level: 1 })]));
      await blobs.commit(staged);
      chunks.push({ sha256: staged.sha256, size: staged.size });
    }
    await t.store.arrays.saveArrayStep(
      {
        runPk: record.pk,
        name: 'old',
        step: 1,
        time: null,
        shape: [700, 500],
        dtype: 'float64',
        axes: null,
        min: 0,
        max: 1,
        mean: 0.5,
        createdAt: 1,
      },
      chunks,
    );
    await put(run, 'name=old&step=2&shape=700,500&dtype=float64', values);
    for (const step of [1, 2]) {
      const whole = await call('GET', `/runs/${run}/arrays/data?name=old&step=${step}`);
      expect(Buffer.compare(whole.raw, raw), `step ${step}`).toBe(0);
      const strided = await call('GET', `/runs/${run}/arrays/data?name=old&step=${step}&region=::3,1::4`);
      const expected: number[] = [];
      for (let y = 0; y < 700; y += 3)
        for (let x = 1; x < 500; x += 4) expected.push(values[y * 500 + x] as number);
      expect(Array.from(new Float64Array(new Uint8Array(strided.raw).buffer))).toEqual(expected);
    }
    expect((await cell(run, 'name=old&cell=650,-3')).json().values).toEqual([325497 / 7, 325497 / 7]);
  });

  it('stores a coarse level of a big 2-D step, from which strided views by multiples of 4 read exactly', async () => {
    const run = await newRun(`level-${blobKind}`);
    const side = 2048;
    const field = Float32Array.from({ length: side * side }, (_, e) => e);
    await put(run, `name=big&step=0&shape=${side},${side}&dtype=float32`, field);
    const workspace = (await call('GET', '/me')).json().workspace.id as string;
    const record = await t.store.runs.getRun(workspace, run);
    if (!record) throw new Error('no run');
    const step = await t.store.arrays.getArrayStep(record.pk, 'big', 0);
    if (!step) throw new Error('no step');
    const chunks = await t.store.arrays.arrayChunks(step.pk);
    // 16 MiB in 16 chunks, then the level: 512 × 512 float32, one chunk.
    expect(chunks.length).toBe(17);
    const view = (region: string) => call('GET', `/runs/${run}/arrays/data?name=big&region=${region}`);
    const expected = (r0: number, r1: number, rs: number, c0: number, c1: number, cs: number) => {
      const out: number[] = [];
      for (let y = r0; y < r1; y += rs) for (let x = c0; x < c1; x += cs) out.push(y * side + x);
      return out;
    };
    const floats = (raw: Buffer) => Array.from(new Float32Array(new Uint8Array(raw).buffer));
    const before = await view('4:2047:8,::12');
    expect(before.headers['x-simscope-shape']).toBe('256,171');
    expect(floats(before.raw)).toEqual(expected(4, 2047, 8, 0, side, 12));
    // With the step's own chunks gone, only the level can answer these views.
    for (const chunk of chunks.slice(0, 16)) await blobs.delete(chunk.sha256);
    expect(floats((await view('::4,::4')).raw)).toEqual(expected(0, side, 4, 0, side, 4));
    expect(floats((await view('4:2047:8,::12')).raw)).toEqual(expected(4, 2047, 8, 0, side, 12));
    // Row 1 is in no level: that view needs the chunks deleted above.
    expect((await view('1::4,::4')).status).toBe(500);
  });

  it('stores every chunk of a many-chunk upload from its own bytes, for 1-, 2-, 4- and 8-byte elements', async () => {
    const run = await newRun(`chunks-${blobKind}`);
    const n = 5 * (1 << 20) + 3;
    const arrays = [
      Uint8Array.from({ length: n }, (_, i) => Math.imul(i, 2654435761) >>> 24),
      Int16Array.from({ length: n >> 1 }, (_, i) => (i % 65521) - 32000),
      Float32Array.from({ length: n >> 2 }, (_, i) => i / 3),
      BigInt64Array.from({ length: n >> 3 }, (_, i) => BigInt(i) * 1_000_003n - 7n),
    ];
    for (const [k, values] of arrays.entries()) {
      const dtype = ['uint8', 'int16', 'float32', 'int64'][k];
      await put(run, `name=c${k}&step=0&shape=${values.length}&dtype=${dtype}`, values);
      const read = await call('GET', `/runs/${run}/arrays/data?name=c${k}`);
      expect(Buffer.compare(read.raw, Buffer.from(values.buffer)), dtype).toBe(0);
    }
  });

  it('summarises a many-chunk step exactly, in element order, finite chunks then one with NaN and Infinity', async () => {
    const run = await newRun(`summary-${blobKind}`);
    const n = 300_000; // 2.3 MiB of float64: three chunks
    const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3 + i / 7);
    const finiteOnly = await call(
      'PUT',
      `/runs/${run}/arrays?name=a&step=0&shape=${n}&dtype=float64`,
      Buffer.from(values.buffer),
      {
        'content-type': 'application/octet-stream',
      },
    );
    const stats = (xs: Float64Array) => {
      let [min, max, sum] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0];
      for (const v of xs) [min, max, sum] = [Math.min(min, v), Math.max(max, v), sum + v];
      return { min, max, mean: sum / xs.length };
    };
    expect(finiteOnly.json()).toMatchObject(stats(values));
    values[n - 2] = Number.NaN;
    values[n - 1] = Number.NEGATIVE_INFINITY;
    const special = await call(
      'PUT',
      `/runs/${run}/arrays?name=a&step=1&shape=${n}&dtype=float64`,
      Buffer.from(values.buffer),
      {
        'content-type': 'application/octet-stream',
      },
    );
    expect(special.json()).toMatchObject(stats(values.subarray(0, n - 2)));
  });

  it('refuses a cell that does not fit the series with 400 naming query.cell, and an unknown series with 404', async () => {
    const run = await newRun(`cell-bad-${blobKind}`);
    await put(run, 'name=T&step=0&shape=2,2&dtype=int32', Int32Array.of(1, 2, 3, 4));
    const threeD = await cell(run, 'name=T&cell=1,1,1');
    expect(threeD.status).toBe(400);
    expect(threeD.json().error.message).toBe('query.cell: has 3 indices for a 2-D array');
    const text = await cell(run, 'name=T&cell=1:2,1');
    expect(text.status).toBe(400);
    expect(text.json().error.message).toBe(
      "query.cell: must be 1 to 3 whole numbers such as '12,40', got '1:2,1'",
    );
    const missing = await cell(run, 'name=U&cell=1,1');
    expect(missing.status).toBe(404);
    expect(missing.json().error.message).toBe(`run 'cell-bad-${blobKind}' has no array 'U'`);
  });

  it('exports a whole series to HDF5 that h5py reads back exactly, with steps and times', async () => {
    const run = await newRun(`export-${blobKind}`);
    const steps = [0, 3, 7];
    const data = steps.map((s) =>
      Float32Array.of(s, -1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, s / 3),
    );
    for (const [k, s] of steps.entries()) {
      await put(
        run,
        `name=fields/T&step=${s}${s === 3 ? '' : `&time=${s * 0.25}`}&shape=2,3&dtype=float32`,
        data[k] as Float32Array,
      );
    }
    const big = BigInt64Array.of(-(2n ** 62n), 0n, 2n ** 62n + 1n);
    await put(run, 'name=n&step=4&shape=3&dtype=int64', big);

    const hex = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
    const exported = await exportAndRead(run, 'fields/T', {
      data: hex(Float32Array.from(data.flatMap((d) => Array.from(d)))),
      step: hex(BigInt64Array.from(steps, BigInt)),
      time: hex(Float64Array.of(0, Number.NaN, 1.75)),
    });
    expect(exported).toEqual({
      keys: ['fields'],
      members: ['data', 'step', 'time'],
      data: { dtype: 'float32', shape: [3, 2, 3], kind: 'ndarray', exact: true },
      step: { dtype: 'int64', shape: [3], kind: 'bigint', exact: true },
      time: { dtype: 'float64', shape: [3], kind: 'number', exact: true },
      steps: [0, 3, 7],
    });
    const ints = await exportAndRead(run, 'n', {
      data: hex(big),
      step: hex(BigInt64Array.of(4n)),
      time: hex(Float64Array.of(Number.NaN)),
    });
    expect(ints).toMatchObject({
      keys: ['n'],
      data: { dtype: 'int64', shape: [1, 3], exact: true },
      steps: [4],
    });
  });

  it('answers 404 for an export of another run or an unknown id, and for a series the run lacks', async () => {
    const run = await newRun(`export-404-${blobKind}`);
    const other = await newRun(`export-404b-${blobKind}`);
    await put(run, 'name=a&step=0&shape=1&dtype=uint8', Uint8Array.of(7));
    const id = (await call('POST', `/runs/${run}/arrays/exports?name=a`)).json().id as string;
    expect((await call('GET', `/runs/${other}/arrays/exports/${id}`)).status).toBe(404);
    expect((await call('GET', `/runs/${run}/arrays/exports/nope/file`)).status).toBe(404);
    const missing = await call('POST', `/runs/${run}/arrays/exports?name=b`);
    expect(missing.status).toBe(404);
    expect(missing.json().error.message).toBe(`run 'export-404-${blobKind}' has no array 'b'`);
  });

  /** Exports `name`, waits for it, fetches the file and reads it with h5py against `expected` (hex per dataset). */
  async function exportAndRead(run: string, name: string, expected: Record<string, string>) {
    const started = await call('POST', `/runs/${run}/arrays/exports?name=${encodeURIComponent(name)}`);
    expect(started.status).toBe(202);
    const id = started.json().id as string;
    let view = started.json();
    for (let i = 0; i < 400 && view.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      view = (await call('GET', `/runs/${run}/arrays/exports/${id}`)).json();
    }
    const steps = Buffer.from(expected.step as string, 'hex').length / 8;
    expect(view).toMatchObject({ id, name, state: 'done', written: steps, steps, error: null });
    const file = await call('GET', `/runs/${run}/arrays/exports/${id}/file`);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('application/x-hdf5');
    expect(file.headers['content-disposition']).toContain('.h5');
    expect(file.raw.length).toBe(view.bytes);
    const h5 = join(dir, `${id}.h5`);
    writeFileSync(h5, file.raw);
    writeFileSync(join(dir, `${id}.json`), JSON.stringify(expected));
    return JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', H5PY_READ, h5, name, join(dir, `${id}.json`)], {
        encoding: 'utf8',
      }),
    );
  }
});
