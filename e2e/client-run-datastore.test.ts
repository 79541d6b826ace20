import { Run } from '@simscope/client';
import { RunDataStore } from '@simscope/client/recorder';
import { InMemoryDataStore, Recorder, RecorderError, TypeMismatchError } from '@simscope/recorder';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../test/fixtures.js';
import { servedForSuite } from './client-suite.js';

describe.each(BACKENDS)('recorder datastore over a run on %s', (backend) => {
  const s = servedForSuite(backend, 'simscope-run-datastore-');

  it('records arrays and numbers into the run beside memory, and reads them back as the memory store does', async () => {
    const errors: unknown[] = [];
    const name = `recorded-${backend}`;
    const run = await new Run()
      .config({ ...s.connection(), systemInfo: false, spoolDir: s.dir, onError: (e) => errors.push(e) })
      .init({ name });
    const memory = new InMemoryDataStore();
    const recorder = new Recorder(memory, new RunDataStore(run, { client: s.client }));
    const field = new Float32Array(6);
    for (let step = 0; step < 3; step++) {
      field.set([step, 1, 2, Number.NaN, 4, -step]);
      await recorder.record('fields/T', { data: field, shape: [2, 3] });
      await recorder.record('profile', Int16Array.of(step, -step));
      await recorder.record('energy', step * 1.5);
    }
    await recorder.set('mesh', { data: Float64Array.of(0, 0.5, 1, 1.5), shape: [2, 2] });

    await expect(recorder.record('fields/T', { data: new Float32Array(4), shape: [2, 2] })).rejects.toThrow(
      TypeMismatchError,
    );
    await expect(
      recorder.record('fields/T', { data: new Float64Array(6), shape: [2, 3] }),
    ).rejects.toMatchObject({
      code: 'dtype_mismatch',
    });
    const refused = await recorder.record('note', 'text').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RecorderError);
    expect((refused as RecorderError).message).toBe(
      'datastore "run" stores arrays and numbers; key "note" got string',
    );

    for (const key of ['fields/T', 'profile', 'energy']) {
      expect(await recorder.getAll(key, { datastore: 'run' }), key).toEqual(await memory.getAll(key));
    }
    expect(await recorder.get('mesh', { datastore: 'run' })).toEqual(await memory.get('mesh'));
    const run_ = recorder.datastore<RunDataStore>('run');
    expect(await run_.getRange('fields/T', -2, -1)).toEqual([
      { data: Float32Array.of(1, 1, 2, Number.NaN, 4, -1), shape: [2, 3] },
    ]);
    expect(await run_.info('fields/T')).toEqual({
      key: 'fields/T',
      mode: 'list',
      type: { kind: 'ndarray', dtype: 'float32', shape: [2, 3] },
      length: 3,
    });
    expect(await run_.keys()).toEqual(['energy', 'fields/T', 'mesh', 'profile']);
    expect((await s.client.getArray(name, 'fields/T', 2)).values).toEqual(
      Float32Array.of(2, 1, 2, Number.NaN, 4, -2),
    );
    await recorder.close();
    await expect(run_.record('energy', 1)).rejects.toMatchObject({ code: 'closed' });

    // A second store over the same run appends after the steps already there.
    const again = new RunDataStore(run, { client: s.client });
    await again.record('fields/T', { data: Float32Array.of(9, 9, 9, 9, 9, 9), shape: [2, 3] });
    await again.flush();
    expect((await s.client.getArray(name, 'fields/T')).step).toBe(3);
    await run.close();
    expect(errors).toEqual([]);
  });
});
