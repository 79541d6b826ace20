import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ARRAY_DTYPES, type ArrayDtype } from '@simscope/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { startS3 } from '../../../../test/s3-server.js';
import type { BlobStore } from '../blob/blob-store.js';
import { LocalBlobStore } from '../blob/local-blob-store.js';
import { S3BlobStore } from '../blob/s3-blob-store.js';
import { typedView } from '../services/array-service.js';

type Values = ArrayLike<number | bigint> & {
  buffer: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
};

/** Edge values of each dtype, NaN and infinities for the floats. */
function sample(dtype: ArrayDtype): Values {
  switch (dtype) {
    case 'int8':
      return Int8Array.of(-128, 0, 1, 127);
    case 'int16':
      return Int16Array.of(-32768, 0, 1, 32767);
    case 'int32':
      return Int32Array.of(-2147483648, 0, 1, 2147483647);
    case 'int64':
      return BigInt64Array.of(-(2n ** 53n) + 1n, 0n, 1n, 2n ** 53n - 1n);
    case 'uint8':
      return Uint8Array.of(0, 1, 200, 255);
    case 'uint16':
      return Uint16Array.of(0, 1, 40000, 65535);
    case 'uint32':
      return Uint32Array.of(0, 1, 3000000000, 4294967295);
    case 'uint64':
      return BigUint64Array.of(0n, 1n, 2n ** 40n, 2n ** 53n - 1n);
    case 'float32':
      return Float32Array.of(-1.5, Number.NaN, Number.POSITIVE_INFINITY, 0.25, Number.NEGATIVE_INFINITY, 3);
    case 'float64':
      return Float64Array.of(-1e300, Number.NaN, 0.1, Number.POSITIVE_INFINITY, 2.5);
  }
}

const bytesOf = (v: Values) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

const BLOB_KINDS = ['local', 's3'] as const;
const CASES = BACKENDS.flatMap((backend) => BLOB_KINDS.map((blob) => [backend, blob] as const));

describe.each(CASES)('array routes on %s with %s blobs', (backend, blobKind) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dir: string;
  let stopS3: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-arrays-'));
    let blobs: BlobStore;
    if (blobKind === 's3') {
      const s3 = await startS3();
      stopS3 = s3.stop;
      blobs = new S3BlobStore({ ...s3.config, prefix: 'arrays' });
    } else {
      blobs = new LocalBlobStore(dir);
    }
    t = await openTestApp(backend, { blobs });
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await stopS3?.();
    rmSync(dir, { recursive: true, force: true });
  });

  let base = '';
  const call = async (method: string, url: string, payload?: Buffer | string | Readable, headers = {}) => {
    if (!base) {
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/api/v1`;
    }
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { ...t.auth, ...headers },
      body: payload as RequestInit['body'],
      ...(payload instanceof Readable ? { duplex: 'half' } : {}),
    } as RequestInit);
    const raw = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers),
      raw,
      json: () => JSON.parse(raw.toString('utf8')),
    };
  };
  const newRun = async (name: string) =>
    (await call('POST', '/runs', JSON.stringify({ name }), { 'content-type': 'application/json' })).json()
      .id as string;
  const put = (run: string, query: string, body: Buffer | Readable) =>
    call('PUT', `/runs/${run}/arrays?${query}`, body, { 'content-type': 'application/octet-stream' });
  const read = (run: string, query: string) => call('GET', `/runs/${run}/arrays/data?${query}`);

  it('round-trips every dtype exactly, raw and JSON, with min, max and mean over the finite values', async () => {
    const run = await newRun(`dtypes-${blobKind}`);
    for (const dtype of ARRAY_DTYPES) {
      const values = sample(dtype);
      const saved = await put(
        run,
        `name=a.${dtype}&step=3&time=0.5&shape=${values.length}&dtype=${dtype}`,
        bytesOf(values),
      );
      expect(saved.status, dtype).toBe(201);
      const finite = Array.from(values, Number).filter(Number.isFinite);
      expect(saved.json()).toMatchObject({
        name: `a.${dtype}`,
        step: 3,
        time: 0.5,
        shape: [values.length],
        dtype,
        min: Math.min(...finite),
        max: Math.max(...finite),
        mean: finite.reduce((a, b) => a + b, 0) / finite.length,
      });
      const raw = await read(run, `name=a.${dtype}&step=3`);
      expect(raw.status).toBe(200);
      expect(raw.headers['x-simscope-dtype']).toBe(dtype);
      expect(raw.headers['x-simscope-shape']).toBe(String(values.length));
      expect(Buffer.compare(raw.raw, bytesOf(values)), dtype).toBe(0);
      const json = await read(run, `name=a.${dtype}&step=3&format=json`);
      expect(json.json().values).toEqual(
        Array.from(values, (v) => (Number.isFinite(Number(v)) ? Number(v) : String(Number(v)))),
      );
    }
  });

  it('stores a field larger than a chunk and reads it whole, as strided regions, lines and 3-D slices', async () => {
    const run = await newRun(`field-${blobKind}`);
    const [ny, nx] = [700, 500]; // 2.8 MB of float64: three chunks
    const field = new Float64Array(ny * nx);
    for (let i = 0; i < field.length; i++) field[i] = Math.sin(i / 1000) * 100 + i;
    // Sent in uneven pieces, as a network would.
    const bytes = bytesOf(field);
    const pieces = [bytes.subarray(0, 12345), bytes.subarray(12345, 1_500_001), bytes.subarray(1_500_001)];
    const saved = await put(run, `name=T&step=0&shape=${ny},${nx}&dtype=float64`, Readable.from(pieces));
    expect(saved.status).toBe(201);
    expect(saved.json().storedBytes).toBeGreaterThan(0);
    const whole = await read(run, 'name=T&step=0');
    expect(Buffer.compare(whole.raw, bytes)).toBe(0);

    const region = await read(run, 'name=T&step=0&region=::4,100:200');
    expect(region.headers['x-simscope-shape']).toBe('175,100');
    const expected: number[] = [];
    for (let y = 0; y < ny; y += 4) for (let x = 100; x < 200; x++) expected.push(field[y * nx + x]!);
    expect(Array.from(typedView('float64', Buffer.from(region.raw)) as Float64Array)).toEqual(expected);

    const sparse = await read(run, 'name=T&step=0&region=10:700:99,3::7');
    expect(sparse.headers['x-simscope-shape']).toBe('7,71');
    const picked: number[] = [];
    for (let y = 10; y < 700; y += 99) for (let x = 3; x < nx; x += 7) picked.push(field[y * nx + x]!);
    expect(Array.from(typedView('float64', Buffer.from(sparse.raw)) as Float64Array)).toEqual(picked);

    const line = await read(run, 'name=T&step=0&region=650,-3:&format=json');
    expect(line.json()).toMatchObject({
      shape: [1, 3],
      values: [field[650 * nx + 497], field[650 * nx + 498], field[650 * nx + 499]],
    });
    const column = await read(run, 'name=T&step=0&region=:,7&format=json');
    expect(column.json().values).toEqual(Array.from({ length: ny }, (_, y) => field[y * nx + 7]));

    const cube = Int16Array.from({ length: 4 * 5 * 6 }, (_, i) => i - 60);
    await put(run, 'name=C&step=1&shape=4,5,6&dtype=int16', bytesOf(cube));
    const slab = await read(run, 'name=C&step=1&region=1:3,::2,5&format=json');
    expect(slab.json()).toMatchObject({ shape: [2, 3, 1], values: [-25, -13, -1, 5, 17, 29] });
  });

  it('writes each step summary as metrics, lists series and steps, reads the last and the nearest step', async () => {
    const run = await newRun(`summary-${blobKind}`);
    for (const step of [0, 10, 20]) {
      const v = Float32Array.of(step, step + 1, step + 5);
      const axes = encodeURIComponent(JSON.stringify([{ label: 'x', values: [0, 0.5, 1] }]));
      const saved = await put(
        run,
        `name=u&step=${step}&time=${step / 10}&shape=3&dtype=float32&axes=${axes}`,
        bytesOf(v),
      );
      expect(saved.json().axes).toEqual([{ label: 'x', values: [0, 0.5, 1] }]);
    }
    const mean = await call('GET', `/runs/${run}/metrics/series?name=u.mean`);
    expect(mean.json()).toMatchObject({ steps: [0, 10, 20], times: [0, 1, 2], values: [2, 12, 22] });
    expect((await call('GET', `/runs/${run}/metrics/series?name=u.min`)).json().values).toEqual([0, 10, 20]);
    expect((await call('GET', `/runs/${run}/metrics/series?name=u.max`)).json().values).toEqual([5, 15, 25]);

    expect((await call('GET', `/runs/${run}/arrays`)).json()).toEqual({
      items: [{ name: 'u', steps: 3, firstStep: 0, lastStep: 20, dtype: 'float32', shape: [3] }],
      next: null,
    });
    const steps = await call('GET', `/runs/${run}/arrays?name=u&limit=2`);
    expect(steps.json().items.map((s: { step: number }) => s.step)).toEqual([0, 10]);
    const rest = await call('GET', `/runs/${run}/arrays?name=u&limit=2&next=${steps.json().next}`);
    expect(rest.json()).toMatchObject({ items: [{ step: 20, min: 20, max: 25, mean: 22 }], next: null });

    expect((await read(run, 'name=u&format=json')).json()).toMatchObject({ step: 20, values: [20, 21, 25] });
    expect((await read(run, 'name=u&step=14&nearest=true&format=json')).json().step).toBe(10);
    const missing = await read(run, 'name=u&step=14');
    expect(missing.status).toBe(404);
    expect(missing.json().error.message).toBe(`run 'summary-${blobKind}' has no array 'u' at step 14`);
  });

  it('refuses bad input with 400 naming the field', async () => {
    const run = await newRun(`limits-${blobKind}`);
    const four = Buffer.alloc(16);
    const refused = async (query: string, body: Buffer, field: string, text: string) => {
      const res = await put(run, query, body);
      expect(res.status, query).toBe(400);
      expect(res.json().error.message).toBe(`${field}: ${text}`);
    };
    await refused(
      'name=x&step=0&shape=4097,2&dtype=float32',
      four,
      'query.shape',
      'a 2-D array may have at most 4096 elements per dimension, got 4097',
    );
    await refused(
      'name=x&step=0&shape=257,1,1&dtype=float32',
      four,
      'query.shape',
      'a 3-D array may have at most 256 elements per dimension, got 257',
    );
    await refused(
      'name=x&step=0&shape=1,1,1,1&dtype=float32',
      four,
      'query.shape',
      'must have 1 to 3 dimensions, got 4',
    );
    await refused(
      'name=x&step=0&shape=4&dtype=complex64',
      four,
      'query.dtype',
      "must be one of int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, got 'complex64'",
    );
    await refused(
      'name=x&step=-1&shape=4&dtype=float32',
      four,
      'query.step',
      "must be a whole number ≥ 0, got '-1'",
    );
    await refused('name=x&shape=4&dtype=float32', four, 'query.step', 'required, a whole number ≥ 0');
    await refused(
      `name=x&step=0&shape=4&dtype=float32&axes=${encodeURIComponent('[{},{}]')}`,
      four,
      'query.axes',
      'must be a list of 1 axes, one per dimension',
    );
    await refused(
      'name=x&step=0&shape=5&dtype=float32',
      four,
      'body',
      '16 bytes, but shape 5 of float32 takes 20',
    );
    await refused(
      'name=x&step=0&shape=3&dtype=float32',
      four,
      'body',
      'more than the 12 bytes that shape 3 of float32 takes',
    );
    expect((await call('GET', `/runs/${run}/arrays`)).json().items).toEqual([]);

    await put(run, 'name=big&step=0&shape=2048,1024&dtype=uint8', Buffer.alloc(2048 * 1024));
    const tooMany = await read(run, 'name=big&step=0&format=json');
    expect(tooMany.status).toBe(400);
    expect(tooMany.json().error.message).toBe(
      'query.region: selects 2097152 elements; a JSON read returns at most 1048576 (use format=raw or a stride)',
    );
    expect((await read(run, 'name=big&step=0&format=json&region=::2')).status).toBe(200);
    const badRegion = await read(run, 'name=big&step=0&region=1:2:0');
    expect(badRegion.status).toBe(400);
    expect(badRegion.json().error.message).toBe("query.region: stride in '1:2:0' must be a whole number ≥ 1");
  });
});
