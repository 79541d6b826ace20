import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Run } from '@simscope/client';
import type { ArrayExportView } from '@simscope/protocol';
import { HDF5DataStore } from '@simscope/recorder/hdf5';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../test/fixtures.js';
import { servedForSuite } from './client-suite.js';

describe.each(BACKENDS)('client reads of whole array series on %s', (backend) => {
  const s = servedForSuite(backend, 'simscope-client-series-');

  it('reads one cell through more steps than a page holds, and exports the series to HDF5 with progress', async () => {
    const errors: unknown[] = [];
    const name = `series-${backend}`;
    const run = await new Run()
      .config({ ...s.connection(), systemInfo: false, spoolDir: s.dir, onError: (e) => errors.push(e) })
      .init({ name });
    const steps = 1003;
    for (let step = 0; step < steps; step++) {
      const field = Float32Array.of(step, -step, step === 500 ? Number.NaN : step / 2, 7);
      run.logArray('F', field, { step, time: step * 0.5, shape: [2, 2] });
    }
    await run.close();
    expect(errors).toEqual([]);

    const cell = await s.client.getArrayCell(name, 'F', [1, 0]);
    expect(cell.dtype).toBe('float32');
    expect(cell.steps).toEqual(Array.from({ length: steps }, (_, s) => s));
    expect(cell.times).toEqual(Array.from({ length: steps }, (_, s) => s * 0.5));
    expect(Array.from(cell.values)).toEqual(
      Array.from({ length: steps }, (_, s) => (s === 500 ? Number.NaN : s / 2)),
    );
    const tail = await s.client.getArrayCell(name, 'F', [-1, -1], { from: 1001 });
    expect(tail.steps).toEqual([1001, 1002]);
    expect(Array.from(tail.values)).toEqual([7, 7]);

    const seen: ArrayExportView[] = [];
    const path = await s.client.exportArrays(name, 'F', join(s.dir, 'out', 'F.h5'), {
      onProgress: (v) => seen.push(v),
    });
    expect(path).toBe(join(s.dir, 'out', 'F.h5'));
    expect(seen[0]).toMatchObject({ name: 'F', steps, state: 'running' });
    expect(seen[seen.length - 1]).toMatchObject({ name: 'F', steps, written: steps, state: 'done' });
    expect(readFileSync(path).length).toBe(seen[seen.length - 1]?.bytes);
    const h5 = await HDF5DataStore.open(path, { mode: 'read' });
    const data = (await h5.getRange('F/data', 499, 501)) as { data: Float32Array; shape: number[] }[];
    expect(data.map((d) => [Array.from(d.data), d.shape])).toEqual([
      [
        [499, -499, 249.5, 7],
        [2, 2],
      ],
      [
        [500, -500, Number.NaN, 7],
        [2, 2],
      ],
    ]);
    expect(await h5.getRange('F/step', -2)).toEqual([1001n, 1002n]);
    expect(await h5.getRange('F/time', 0, 2)).toEqual([0, 0.5]);
    await h5.close();
  }, 120_000);
});
