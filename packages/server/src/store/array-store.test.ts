import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../../../test/fixtures.js';
import { useTestStore } from '../../../../test/store-fixtures.js';
import type { NewArrayStep, StepMetrics } from './array-store.js';

describe.each(BACKENDS)('array store on %s', (backend) => {
  const t = useTestStore(backend);

  const stepOf = (runPk: number, name: string, step: number): NewArrayStep => ({
    runPk,
    name,
    step,
    time: step / 10,
    shape: [2, 3],
    dtype: 'float32',
    axes: [{ label: 'y' }, { label: 'x', values: [0, 0.5, 1] }],
    min: -1,
    max: step,
    mean: 0.25,
    createdAt: 7,
  });

  it('saves steps with their chunks, lists series and steps, finds exact, last and nearest steps', async () => {
    const run = await t.newRun();
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const saved = await t.store.arrays.saveArrayStep(stepOf(run.pk, 'T', 10), [
      { sha256: a, size: 100 },
      { sha256: b, size: 20 },
    ]);
    expect(saved).toEqual({ ...stepOf(run.pk, 'T', 10), pk: saved.pk, storedBytes: 120 });
    await t.store.arrays.saveArrayStep(stepOf(run.pk, 'T', 20), [{ sha256: a, size: 100 }]);
    await t.store.arrays.saveArrayStep({ ...stepOf(run.pk, 'U', 5), dtype: 'int64', shape: [4] }, []);

    expect(await t.store.arrays.arrayChunks(saved.pk)).toEqual([
      { sha256: a, size: 100 },
      { sha256: b, size: 20 },
    ]);
    expect(await t.store.arrays.listArraySeries(run.pk, null, 10)).toEqual([
      { name: 'T', steps: 2, firstStep: 10, lastStep: 20, dtype: 'float32', shape: [2, 3] },
      { name: 'U', steps: 1, firstStep: 5, lastStep: 5, dtype: 'int64', shape: [4] },
    ]);
    expect((await t.store.arrays.listArraySeries(run.pk, 'T', 10)).map((s) => s.name)).toEqual(['U']);
    expect((await t.store.arrays.listArraySteps(run.pk, 'T', null, 10)).map((s) => s.step)).toEqual([10, 20]);
    expect((await t.store.arrays.listArraySteps(run.pk, 'T', 10, 10)).map((s) => s.step)).toEqual([20]);
    expect((await t.store.arrays.getArrayStep(run.pk, 'T', null))?.step).toBe(20);
    expect(await t.store.arrays.getArrayStep(run.pk, 'T', 14)).toBeUndefined();
    expect((await t.store.arrays.getArrayStep(run.pk, 'T', 14, true))?.step).toBe(10);
    expect((await t.store.arrays.getArrayStep(run.pk, 'T', 16, true))?.step).toBe(20);
    expect((await t.store.arrays.getArrayStep(run.pk, 'T', 15, true))?.step).toBe(10);
    expect((await t.store.arrays.getArrayStep(run.pk, 'T', 99, true))?.step).toBe(20);
    expect((await t.store.arrays.getArrayStep(run.pk, 'T', 0, true))?.step).toBe(10);
  });

  it('stores the metrics given for a step in its transaction: both or neither', async () => {
    const run = await t.newRun();
    const e = 'e'.repeat(64);
    const f = 'f'.repeat(64);
    const summary = (seq: number, step: number, value: number): StepMetrics => ({
      key: { writer: 'simscope.arrays', seq },
      series: [
        {
          name: 'T.max',
          steps: Float64Array.of(step),
          times: null,
          timestamps: null,
          values: Float64Array.of(value),
        },
      ],
      clock: { startedAt: 0, now: 1_000, segment: 1 },
    });
    const saved = await t.store.arrays.saveArrayStep(stepOf(run.pk, 'T', 3), [{ sha256: e, size: 5 }], (s) =>
      summary(s.pk, s.step, s.max ?? Number.NaN),
    );
    expect(saved.step).toBe(3);
    // A failure after the step's row was written (here, while its metrics are made) leaves neither behind.
    await expect(
      t.store.arrays.saveArrayStep(stepOf(run.pk, 'T', 4), [{ sha256: f, size: 6 }], () => {
        throw new Error('stopped between the step and its summary');
      }),
    ).rejects.toThrow('stopped between the step and its summary');
    expect((await t.store.arrays.listArraySteps(run.pk, 'T', null, 10)).map((s) => s.step)).toEqual([3]);
    expect(await t.store.artifacts.knownBlobs([e, f])).toEqual(new Set([e]));
    const series = await t.store.metrics.getSeries(run.pk, 'T.max');
    expect(series).toMatchObject({ count: 1, lastStep: 3, lastValue: 3 });
  });

  it('replaces a step and keeps chunk blobs from collection until no step references them', async () => {
    const run = await t.newRun();
    const c = 'c'.repeat(64);
    const d = 'd'.repeat(64);
    await t.store.arrays.saveArrayStep(stepOf(run.pk, 'T', 1), [{ sha256: c, size: 5 }]);
    expect(await t.store.artifacts.queueUnreferencedBlobs()).toBe(0);
    expect(await t.store.artifacts.freeBlob(c, async () => {})).toBe('in_use');

    const replaced = await t.store.arrays.saveArrayStep({ ...stepOf(run.pk, 'T', 1), max: 9 }, [
      { sha256: d, size: 6 },
    ]);
    expect(replaced.max).toBe(9);
    expect((await t.store.arrays.listArraySteps(run.pk, 'T', null, 10)).length).toBe(1);
    expect(await t.store.artifacts.queuedBlobs(10)).toEqual([c]);
    const removed: string[] = [];
    expect(await t.store.artifacts.freeBlob(c, async () => void removed.push(c))).toBe('freed');
    expect(removed).toEqual([c]);
    expect(await t.store.artifacts.knownBlobs([c, d])).toEqual(new Set([d]));
  });
});
