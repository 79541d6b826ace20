import { describe, expect, it } from 'vitest';
import { appForSuite, BACKENDS, type TestApp } from '../../../../test/fixtures.js';

let seq = 0;
async function logRank(t: TestApp, run: string, rank: number, steps: number[], values: (number | string)[]) {
  const res = await t.call('POST', `/runs/${run}/metrics`, {
    writer: `rank-${rank}`,
    seq: seq++,
    series: [{ name: `p@rank=${rank}`, steps, times: steps.map((s) => s * (rank + 1)), values }],
  });
  expect(res.status).toBe(200);
}

describe.each(BACKENDS)('rank routes (%s)', (backend) => {
  const t = appForSuite(backend);

  it('aggregates per step across ranks: NaN never an extreme, a repeated step counts once, some ranks only', async () => {
    const run = (await t.call('POST', '/runs', { name: `ranks-${backend}` })).body.id as string;
    await logRank(t, run, 0, [0, 1, 2], [1, 5, 'NaN']);
    await logRank(t, run, 1, [0, 1, 2], [3, 5, 4]);
    await logRank(t, run, 2, [0, 1], [2, -1]);
    // Rank 2 logs step 1 again: its last point counts.
    await logRank(t, run, 2, [1], [7]);
    await t.call('POST', `/runs/${run}/metrics`, {
      writer: 'other',
      seq: 0,
      series: [{ name: 'plain', values: [1] }],
    });

    expect((await t.call('GET', `/runs/${run}/ranks`)).body).toEqual({
      metrics: [{ name: 'p', ranks: [0, 1, 2] }],
    });
    const all = (await t.call('GET', `/runs/${run}/ranks/series?name=p`)).body;
    expect(all).toEqual({
      name: 'p',
      ranks: [0, 1, 2],
      steps: [0, 1, 2],
      count: [3, 3, 2],
      min: [1, 5, 4],
      mean: [2, 17 / 3, 4],
      max: [3, 7, 4],
      argmin: [0, 0, 1],
      argmax: [1, 2, 1],
      next: null,
    });
    const some = (await t.call('GET', `/runs/${run}/ranks/series?name=p&ranks=0,2`)).body;
    expect([some.ranks, some.min, some.argmax]).toEqual([
      [0, 2],
      [1, 5, 'NaN'],
      [2, 2, null],
    ]);
    const paged = (await t.call('GET', `/runs/${run}/ranks/series?name=p&limit=2`)).body;
    expect([paged.steps, paged.next]).toEqual([[0], 1]);
    // Rank 2 holds two points at step 1: a page of 2 points a rank ends there.
    const second = (await t.call('GET', `/runs/${run}/ranks/series?name=p&limit=2&from=1`)).body;
    expect([second.steps, second.max, second.next]).toEqual([[1], [7], 2]);
    const last = (await t.call('GET', `/runs/${run}/ranks/series?name=p&limit=2&from=2`)).body;
    expect([last.steps, last.next]).toEqual([[2], null]);

    const slow = (await t.call('GET', `/runs/${run}/ranks/stragglers?name=p&factor=1.2`)).body;
    expect(slow).toEqual({
      name: 'p',
      factor: 1.2,
      median: 2,
      ranks: [
        { rank: 0, steps: 2, seconds: 2, secondsPerStep: 1, ratio: 0.5, straggler: false },
        { rank: 1, steps: 2, seconds: 4, secondsPerStep: 2, ratio: 1, straggler: false },
        { rank: 2, steps: 1, seconds: 3, secondsPerStep: 3, ratio: 1.5, straggler: true },
      ],
    });
  });

  it('answers 400 for bad ranks and factors and 404 for a metric no rank logged', async () => {
    const run = (await t.call('POST', '/runs', { name: `ranks-bad-${backend}` })).body.id as string;
    const bad = await t.call('GET', `/runs/${run}/ranks/series?name=p&ranks=1,x`);
    expect([bad.status, bad.body.error.message]).toEqual([
      400,
      "query.ranks: must be ranks such as '0,2,5', got '1,x'",
    ]);
    const factor = await t.call('GET', `/runs/${run}/ranks/stragglers?name=p&factor=0.5`);
    expect([factor.status, factor.body.error.message]).toEqual([
      400,
      "query.factor: must be a number ≥ 1, got '0.5'",
    ]);
    const suffix = await t.call('GET', `/runs/${run}/ranks/series?name=p@rank=1`);
    expect(suffix.status).toBe(400);
    const missing = await t.call('GET', `/runs/${run}/ranks/series?name=p`);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);
  });
});
