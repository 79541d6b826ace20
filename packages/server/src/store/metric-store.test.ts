import type { MetricSeries } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../../../test/fixtures.js';
import { CLOCK, joined, pointsAt, range, useTestStore } from '../../../../test/store-fixtures.js';
import { BLOCK_POINTS, MERGE_BELOW } from './metric-blocks.js';
import type { RunRecord } from './run-store.js';

describe.each(BACKENDS)('metric store on %s', (backend) => {
  const t = useTestStore(backend);

  async function seriesOf(run: RunRecord, name: string) {
    const series = await t.store.metrics.getSeries(run.pk, name);
    expect(series, name).toBeDefined();
    return series!;
  }

  it('stores a batch once per (writer, seq): a replay stores nothing, another writer with the same seq does', async () => {
    const run = await t.newRun();
    const append = (writer: string, seq: number, steps: number[]) =>
      t.store.metrics.appendMetrics(run.pk, { writer, seq }, [pointsAt(steps)], CLOCK);
    expect(await append('a', 3, range(0, 5))).toBe(true);
    expect(await append('a', 3, range(100, 5))).toBe(false);
    expect(await append('b', 3, range(5, 5))).toBe(true);
    expect(await append('a', 4, range(10, 5))).toBe(true);
    const series = await seriesOf(run, 'm');
    expect(series).toMatchObject({ count: 15, lastStep: 14, lastValue: 4, minValue: -3, maxValue: 4 });
    const blocks = await t.store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(joined(blocks, 'steps')).toEqual(range(0, 15));
    expect(joined(blocks, 'values')).toEqual(range(0, 15).map((x) => x * 0.5 - 3));
  });

  it('scopes batch keys to the run: the same (writer, seq) in another run is stored', async () => {
    const one = await t.newRun();
    const two = await t.newRun(one.workspaceId);
    expect(await t.store.metrics.appendMetrics(one.pk, { writer: 'w', seq: 0 }, [pointsAt([1])], CLOCK)).toBe(
      true,
    );
    expect(await t.store.metrics.appendMetrics(two.pk, { writer: 'w', seq: 0 }, [pointsAt([2])], CLOCK)).toBe(
      true,
    );
    expect((await seriesOf(one, 'm')).count).toBe(1);
    expect((await seriesOf(two, 'm')).count).toBe(1);
  });

  it('continues missing steps from the largest stored one and derives missing times and timestamps', async () => {
    const run = await t.newRun();
    const stepless = (values: number[], times: Float64Array | null = null): MetricSeries => ({
      name: 'm',
      steps: null,
      times,
      timestamps: null,
      values: Float64Array.from(values),
    });
    await t.store.metrics.appendMetrics(run.pk, { writer: 'w', seq: 0 }, [pointsAt([5, 9])], CLOCK);
    await t.store.metrics.appendMetrics(run.pk, { writer: 'w', seq: 1 }, [stepless([1, 2])], CLOCK);
    await t.store.metrics.appendMetrics(
      run.pk,
      { writer: 'w', seq: 2 },
      [stepless([3], Float64Array.of(2.5))],
      CLOCK,
    );
    const series = await seriesOf(run, 'm');
    const blocks = await t.store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(joined(blocks, 'steps')).toEqual([5, 9, 10, 11, 12]);
    expect(joined(blocks, 'timestamps')).toEqual([1_005_000, 1_009_000, 5_000_000, 5_000_000, 3_500_000]);
    expect(joined(blocks, 'times')).toEqual([0.5, 0.9, 4, 4, 2.5]);
  });

  it('merges a series trickled in 2100 one-point appends into few blocks, complete and in order', async () => {
    const run = await t.newRun();
    const n = 2100;
    for (let i = 0; i < n; i++) {
      await t.store.metrics.appendMetrics(run.pk, { writer: 'w', seq: i }, [pointsAt([i], 'trickle')], CLOCK);
    }
    const series = await seriesOf(run, 'trickle');
    expect(series.count).toBe(n);
    const blocks = await t.store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(blocks.map((b) => b.values.length)).toEqual([MERGE_BELOW, MERGE_BELOW, n - 2 * MERGE_BELOW]);
    expect(joined(blocks, 'steps')).toEqual(range(0, n));
    expect(joined(blocks, 'values')).toEqual(range(0, n).map((x) => x * 0.5 - 3));
    expect(joined(blocks, 'timestamps')).toEqual(range(0, n).map((x) => 1_000_000 + x * 1000));
    const middle = await t.store.metrics.readBlocks(series.pk, 'step', 1500, 1600);
    expect(middle.map((b) => [b.steps[0], b.values.length])).toEqual([[MERGE_BELOW, MERGE_BELOW]]);
  });

  it('splits a 40000-point append into blocks of at most BLOCK_POINTS', async () => {
    const run = await t.newRun();
    const n = 40_000;
    expect(
      await t.store.metrics.appendMetrics(
        run.pk,
        { writer: 'w', seq: 0 },
        [pointsAt(range(0, n), 'big')],
        CLOCK,
      ),
    ).toBe(true);
    const series = await seriesOf(run, 'big');
    expect(series).toMatchObject({ count: n, lastStep: n - 1, minValue: -3, maxValue: (n - 1) * 0.5 - 3 });
    const blocks = await t.store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(blocks.map((b) => b.values.length)).toEqual([BLOCK_POINTS, BLOCK_POINTS, n - 2 * BLOCK_POINTS]);
    expect(joined(blocks, 'steps')).toEqual(range(0, n));
    expect(joined(blocks, 'times')).toEqual(range(0, n).map((x) => x / 10));
    const tail = await t.store.metrics.readBlocks(series.pk, 'step', 2 * BLOCK_POINTS, Infinity);
    expect(tail.map((b) => b.steps[0])).toEqual([2 * BLOCK_POINTS]);
  });

  it('keeps every point exactly once when batches for one series are appended concurrently', async () => {
    const run = await t.newRun();
    const batches = 8;
    const results = await Promise.all(
      range(0, batches).map((b) =>
        t.store.metrics.appendMetrics(
          run.pk,
          { writer: `w${b}`, seq: 0 },
          [pointsAt(range(b * 1000, 1000), 'shared')],
          CLOCK,
        ),
      ),
    );
    expect(results).toEqual(Array(batches).fill(true));
    const series = await seriesOf(run, 'shared');
    expect(series).toMatchObject({
      count: batches * 1000,
      minValue: -3,
      maxValue: (batches * 1000 - 1) * 0.5 - 3,
    });
    const blocks = await t.store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(joined(blocks, 'steps').sort((a, b) => a - b)).toEqual(range(0, batches * 1000));
  });

  it("lists a run's series by exact name, prefix, text, regular expression and after a name, in name order", async () => {
    const run = await t.newRun();
    const names = ['train/loss', 'train/acc', 'val/loss', 'Val_Acc', 'lr'];
    await t.store.metrics.appendMetrics(
      run.pk,
      { writer: 'w', seq: 0 },
      names.map((n) => pointsAt([1, 2], n)),
      CLOCK,
    );
    const list = async (query: Parameters<typeof t.store.metrics.listSeries>[1]) =>
      (await t.store.metrics.listSeries(run.pk, query)).map((s) => s.name);
    expect(await list(undefined)).toEqual(['Val_Acc', 'lr', 'train/acc', 'train/loss', 'val/loss']);
    expect(await list({ name: 'lr' })).toEqual(['lr']);
    expect(await list({ prefix: 'train/' })).toEqual(['train/acc', 'train/loss']);
    expect(await list({ search: 'LOSS' })).toEqual(['train/loss', 'val/loss']);
    expect(await list({ search: '_' })).toEqual(['Val_Acc']);
    expect(await list({ regex: '^(val|Val)' })).toEqual(['Val_Acc', 'val/loss']);
    expect(await list({ after: 'lr', limit: 2 })).toEqual(['train/acc', 'train/loss']);
    const other = await t.newRun(run.workspaceId);
    await t.store.metrics.appendMetrics(other.pk, { writer: 'w', seq: 0 }, [pointsAt([1], 'zeta')], CLOCK);
    expect(await t.store.metrics.metricNames(run.workspaceId, 3)).toEqual(['Val_Acc', 'lr', 'train/acc']);
    expect(await t.store.metrics.metricNames(run.workspaceId, 100)).toHaveLength(6);
    expect(await t.store.metrics.metricNames(await t.newWorkspace(), 100)).toEqual([]);
  });

  it('keeps NaN out of the last value and extremes, and the point at the greatest step as the last', async () => {
    const run = await t.newRun();
    const series: MetricSeries = {
      name: 'm',
      steps: Float64Array.of(5, 1, 3),
      times: null,
      timestamps: null,
      values: Float64Array.of(Number.NaN, 7, -2),
    };
    await t.store.metrics.appendMetrics(run.pk, { writer: 'w', seq: 0 }, [series], CLOCK);
    expect(await seriesOf(run, 'm')).toMatchObject({
      count: 3,
      lastStep: 5,
      lastValue: null,
      minValue: -2,
      maxValue: 7,
    });
    await t.store.metrics.appendMetrics(run.pk, { writer: 'w', seq: 1 }, [pointsAt([4])], CLOCK);
    expect(await seriesOf(run, 'm')).toMatchObject({
      count: 4,
      lastStep: 5,
      lastValue: null,
      minValue: -2,
      maxValue: 7,
    });
    await t.store.metrics.appendMetrics(run.pk, { writer: 'w', seq: 2 }, [pointsAt([6])], CLOCK);
    expect(await seriesOf(run, 'm')).toMatchObject({ count: 5, lastStep: 6, lastValue: 0, lastTime: 0.6 });
  });

  it('indexes blocks by axis: their range, their bounds, and reads by pk in the order asked', async () => {
    const run = await t.newRun();
    const n = BLOCK_POINTS + 10;
    await t.store.metrics.appendMetrics(run.pk, { writer: 'w', seq: 0 }, [pointsAt(range(0, n))], CLOCK);
    const series = await seriesOf(run, 'm');
    expect(await t.store.metrics.axisRange(series.pk, 'step')).toEqual([0, n - 1]);
    expect(await t.store.metrics.axisRange(series.pk, 'timestamp')).toEqual([
      1_000_000,
      1_000_000 + (n - 1) * 1000,
    ]);
    const index = await t.store.metrics.blockIndex(series.pk, 'step', -Infinity, Infinity);
    expect(index.map((b) => [b.points, b.lo, b.hi])).toEqual([
      [BLOCK_POINTS, 0, BLOCK_POINTS - 1],
      [10, BLOCK_POINTS, n - 1],
    ]);
    expect(await t.store.metrics.blockIndex(series.pk, 'step', BLOCK_POINTS, Infinity)).toEqual([index[1]]);
    const byTime = await t.store.metrics.blockIndex(series.pk, 'time', 0, 0.1);
    expect(byTime.map((b) => [b.pk, b.lo, b.hi])).toEqual([[index[0]!.pk, 0, (BLOCK_POINTS - 1) / 10]]);
    const byPk = await t.store.metrics.readBlocksByPk([index[1]!.pk, 999_999, index[0]!.pk], ['steps']);
    expect(byPk.map((b) => [b.pk, b.steps[0], b.values.length, b.timestamps.length])).toEqual([
      [index[1]!.pk, BLOCK_POINTS, 10, 0],
      [index[0]!.pk, 0, BLOCK_POINTS, 0],
    ]);
    expect(await t.store.metrics.readBlocksByPk([])).toEqual([]);
    const empty = await t.newRun(run.workspaceId);
    await t.store.metrics.appendMetrics(
      empty.pk,
      { writer: 'w', seq: 0 },
      [{ ...pointsAt([]), name: 'e' }],
      CLOCK,
    );
    const none = await seriesOf(empty, 'e');
    expect(none).toMatchObject({ count: 0, lastStep: null, minValue: null, maxValue: null });
    expect(await t.store.metrics.axisRange(none.pk, 'step')).toBeNull();
    expect(await t.store.metrics.blockIndex(none.pk, 'step', -Infinity, Infinity)).toEqual([]);
  });
});
