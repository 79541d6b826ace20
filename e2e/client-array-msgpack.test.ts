import { Run } from '@simscope/client';
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../test/fixtures.js';
import { servedForSuite } from './client-suite.js';

describe.each(BACKENDS)('array reads as msgpack on %s', (backend) => {
  const s = servedForSuite(backend, 'simscope-array-msgpack-');

  /** Logs the arrays of `logs` into a new run named `name` and closes it. */
  const logged = async (name: string, logs: (run: Run) => void) => {
    const errors: unknown[] = [];
    const run = await new Run()
      .config({ ...s.connection(), systemInfo: false, spoolDir: s.dir, onError: (e) => errors.push(e) })
      .init({ name });
    logs(run);
    await run.close();
    expect(errors).toEqual([]);
    return run.id;
  };

  it('answers Accept: application/msgpack with one map: the JSON fields and the little-endian bytes', async () => {
    const field = Float64Array.of(
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      Number.NEGATIVE_INFINITY,
      2 ** -1074,
    );
    const id = await logged(`packed-${backend}`, (run) =>
      run.logArray('T', field, { step: 7, time: 0.25, shape: [2, 3] }),
    );
    const { url, token } = s.connection();
    const read = (accept: string, query = '') =>
      fetch(`${url}/api/v1/runs/${id}/arrays/data?name=T${query}`, {
        headers: { authorization: `Bearer ${token}`, accept },
      });
    const res = await read('application/msgpack');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/msgpack');
    const packed = unpack(Buffer.from(await res.arrayBuffer()));
    expect(Object.keys(packed)).toEqual(['name', 'step', 'time', 'dtype', 'shape', 'data']);
    expect({ ...packed, data: undefined }).toEqual({
      name: 'T',
      step: 7,
      time: 0.25,
      dtype: 'float64',
      shape: [2, 3],
      data: undefined,
    });
    expect(Buffer.from(packed.data).equals(Buffer.from(field.buffer))).toBe(true);

    // A region: row 1's last two elements.
    const region = unpack(
      Buffer.from(await (await read('application/msgpack', '&region=1,1:')).arrayBuffer()),
    );
    expect(region.shape).toEqual([1, 2]);
    expect(Buffer.from(region.data).equals(Buffer.from(field.buffer, 4 * 8, 2 * 8))).toBe(true);

    // format=json still answers JSON; without the Accept header the raw bytes come as before.
    const json = await read('application/msgpack', '&format=json');
    expect(json.headers.get('content-type')).toContain('application/json');
    expect(((await json.json()) as { values: unknown }).values).toEqual([
      1.5,
      'NaN',
      'Infinity',
      0,
      '-Infinity',
      2 ** -1074,
    ]);
    const raw = await read('*/*');
    expect(raw.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await raw.arrayBuffer()).equals(Buffer.from(field.buffer))).toBe(true);
  });

  it("round-trips every dtype exactly through the client's getArray, with the step's time", async () => {
    const arrays = {
      i8: Int8Array.of(-128, 0, 127),
      i16: Int16Array.of(-32768, 1, 32767),
      i32: Int32Array.of(-(2 ** 31), 2, 2 ** 31 - 1),
      i64: BigInt64Array.of(-(2n ** 63n), 3n, 2n ** 63n - 1n),
      u8: Uint8Array.of(0, 4, 255),
      u16: Uint16Array.of(0, 5, 65535),
      u32: Uint32Array.of(0, 6, 2 ** 32 - 1),
      u64: BigUint64Array.of(0n, 7n, 2n ** 64n - 1n),
      f32: Float32Array.of(Number.NaN, -Number.POSITIVE_INFINITY, 1e-45),
      f64: Float64Array.of(Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_VALUE),
    };
    const name = `dtypes-${backend}`;
    await logged(name, (run) => {
      for (const [key, values] of Object.entries(arrays)) run.logArray(key, values, { step: 3, time: 1.5 });
    });
    for (const [key, values] of Object.entries(arrays)) {
      const got = await s.client.getArray(name, key, 3);
      expect(got.values.constructor).toBe(values.constructor);
      expect({ step: got.step, time: got.time, shape: got.shape }).toEqual({
        step: 3,
        time: 1.5,
        shape: [3],
      });
      expect(Buffer.from(got.values.buffer, got.values.byteOffset, got.values.byteLength)).toEqual(
        Buffer.from(values.buffer),
      );
    }
  });
});
