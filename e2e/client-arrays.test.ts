import { ClientError, histogramArray, Run } from '@simscope/client';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../test/fixtures.js';
import { servedForSuite } from './client-suite.js';

describe.each(BACKENDS)('client arrays and histograms on %s', (backend) => {
  const s = servedForSuite(backend, 'simscope-client-arrays-');

  it('logs fields in the background while the simulation reuses its array, and reads them back exactly', async () => {
    const errors: unknown[] = [];
    const run = await new Run()
      .config({ ...s.connection(), systemInfo: false, spoolDir: s.dir, onError: (e) => errors.push(e) })
      .init({ name: `fields-${backend}` });
    const [ny, nx] = [64, 48];
    const field = new Float32Array(ny * nx);
    for (let step = 0; step < 5; step++) {
      for (let i = 0; i < field.length; i++) field[i] = step * 1000 + i;
      run.logArray('T', field, { step, time: step * 0.1, shape: [ny, nx] });
    }
    run.logArray('ids', BigInt64Array.of(-5n, 7n), { step: 0 });
    run.logHistogram('q', [0, 0.1, 0.2, 0.9, 1, Number.NaN], { step: 3, bins: 2 });
    run.logHistogram('pairs', { x: [0, 1, 1], y: [0, 0, 1] }, { step: 3, bins: 2 });
    await run.close();
    expect(errors).toEqual([]);

    const last = await s.client.getArray(`fields-${backend}`, 'T');
    expect(last.step).toBe(4);
    expect(last.shape).toEqual([ny, nx]);
    expect(last.dtype).toBe('float32');
    expect(Array.from(last.values as Float32Array)).toEqual(Array.from(field));
    const second = await s.client.getArray(`fields-${backend}`, 'T', 1, { region: '2,0:3' });
    expect(second.shape).toEqual([1, 3]);
    expect(Array.from(second.values as Float32Array)).toEqual([1000 + 2 * nx, 1001 + 2 * nx, 1002 + 2 * nx]);
    const near = await s.client.getArray(`fields-${backend}`, 'T', 9, { nearest: true });
    expect(near.step).toBe(4);
    expect(
      Array.from((await s.client.getArray(`fields-${backend}`, 'ids', 0)).values as BigInt64Array),
    ).toEqual([-5n, 7n]);
    expect(Array.from((await s.client.getArray(`fields-${backend}`, 'q', 3)).values as Float64Array)).toEqual(
      [3, 2],
    );
    expect(
      Array.from((await s.client.getArray(`fields-${backend}`, 'pairs', 3)).values as Float64Array),
    ).toEqual([1, 0, 1, 1]);

    const [mins] = await s.client.getMetricValues(`fields-${backend}`, 'T.min');
    expect(Array.from(mins!.x)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(mins!.values)).toEqual([0, 1000, 2000, 3000, 4000]);
  });

  it('bins raw values client-side and refuses bad input through onError naming the field', async () => {
    expect(histogramArray([1, 2, 3, 4], { step: 0, bins: 3, range: [0, 3] })).toEqual({
      counts: Float64Array.of(0, 1, 2),
      shape: [3],
      axes: [{ edges: [0, 1, 2, 3] }],
    });
    expect(histogramArray({ edges: [0, 1, 5], counts: [4, 2] }, { step: 0 })).toEqual({
      counts: Float64Array.of(4, 2),
      shape: [2],
      axes: [{ edges: [0, 1, 5] }],
    });
    const errors: unknown[] = [];
    const run = await new Run()
      .config({ ...s.connection(), systemInfo: false, spoolDir: s.dir, onError: (e) => errors.push(e) })
      .init({ name: `bad-fields-${backend}` });
    run.logArray('T', new Float64Array(6), { step: 0, shape: [4, 2] });
    run.logArray('T', [1, 2] as unknown as Float64Array, { step: 0 });
    run.logArray('T', new Float64Array(2), { step: -1 });
    run.logArray('T', new Float64Array(2), { step: 0, axes: [{ values: [1] }] });
    await run.close();
    expect(errors.map((e) => (e as Error).message)).toEqual([
      'logArray options.shape: 4×2 is 8 elements, the array has 6',
      'logArray array: expected a typed array such as Float32Array',
      'logArray options.step: must be a whole number ≥ 0, got -1',
      expect.stringContaining('query.axes[0].values: must list 2 numbers'),
    ]);
    expect(errors.every((e) => e instanceof ClientError)).toBe(true);
  });
});
