import { describe, expect, it } from 'vitest';
import { appForSuite, BACKENDS, type TestApp } from '../../../../test/fixtures.js';
import { AlertEngine } from '../services/alert-engine.js';

const S = 1_000_000;
const MS = 1_000;

let seq = 0;
/** Logs `residual` at these steps, one millisecond apart from `t`, with value `value(step)`. */
async function logSteps(
  t: TestApp,
  run: string,
  steps: number[],
  t0: number,
  value: (step: number) => number,
) {
  const res = await t.call('POST', `/runs/${run}/metrics`, {
    writer: 'test',
    seq: seq++,
    series: [
      { name: 'residual', steps, timestamps: steps.map((s) => t0 + s * MS), values: steps.map(value) },
    ],
  });
  expect(res.status).toBe(200);
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe.each(BACKENDS)('run segments (%s)', (backend) => {
  const t = appForSuite(backend);

  it('a restart from step 500 supersedes steps 501–800 of segment 1 in reads, summaries and alerts', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S - 60 * S;
    t.clock.now = t0;
    const run = (await t.call('POST', '/runs', { name: `restart-${backend}` })).body.id as string;
    const alert = await t.call('POST', `/runs/${run}/alerts`, {
      name: 'diverged',
      metric: 'residual',
      rule: 'is above',
      threshold: 100,
      aggregation: 'at least one',
      window: 10,
      frequency: 5,
      notification: 'none',
    });
    expect(alert.status).toBe(201);
    // Segment 1 diverges after step 500 (values 1000) and dies at 800 without closing.
    await logSteps(t, run, range(0, 800), t0, (s) => (s <= 500 ? 1 : 1000));
    await t.call('POST', `/runs/${run}/events`, { writer: 'e', seq: 1, events: [{ message: 'first job' }] });
    t.clock.now = t0 + 2 * S;
    const second = await t.call('POST', `/runs/${run}/segments`, {
      rewindTo: 500,
      jobId: '4242',
      host: 'n01',
    });
    expect(second.status).toBe(200);
    expect(second.body.segment).toEqual({
      number: 2,
      jobId: '4242',
      host: 'n01',
      rewindTo: 500,
      started: t0 + 2 * S,
      ended: null,
      status: 'running',
    });
    expect(second.body.run.status).toBe('running');
    await logSteps(t, run, range(501, 1000), t0 + 2 * S - 500 * MS, () => 2);
    await t.call('POST', `/runs/${run}/events`, { writer: 'e', seq: 2, events: [{ message: 'second job' }] });
    t.clock.now = t0 + 3 * S;
    expect((await t.call('PATCH', `/runs/${run}`, { status: 'completed' })).status).toBe(200);
    t.clock.now = t0 + 4 * S;
    const third = await t.call('POST', `/runs/${run}/segments`, { jobId: '4243' });
    expect(third.body.segment.number).toBe(3);
    expect(third.body.run.status).toBe('running');
    await logSteps(t, run, range(1001, 1100), t0 + 4 * S - 1000 * MS, () => 3);
    await t.call('POST', `/runs/${run}/events`, { writer: 'e', seq: 3, events: [{ message: 'third job' }] });

    const read = async (extra = '') =>
      (await t.call('GET', `/runs/${run}/metrics/series?name=residual&limit=100000${extra}`)).body;
    const visible = await read();
    expect(visible.steps).toEqual(range(0, 1100));
    expect(visible.values).toEqual([
      ...range(0, 500).map(() => 1),
      ...range(501, 1000).map(() => 2),
      ...range(1001, 1100).map(() => 3),
    ]);
    const all = await read('&includeSuperseded=true');
    expect(all.steps).toEqual([
      ...range(0, 500),
      ...range(501, 800).flatMap((s) => [s, s]),
      ...range(801, 1100),
    ]);
    expect(all.values.slice(501, 505)).toEqual([1000, 2, 1000, 2]);
    // Pages cut in the middle of the hidden range neither repeat nor skip a visible point.
    const first = (await t.call('GET', `/runs/${run}/metrics/series?name=residual&limit=600`)).body;
    const rest = (
      await t.call('GET', `/runs/${run}/metrics/series?name=residual&limit=600&next=${first.next}`)
    ).body;
    expect([...first.steps, ...rest.steps]).toEqual(range(0, 1100));

    const summary = (await t.call('GET', `/runs/${run}/metrics?name=residual`)).body.items[0];
    expect(summary).toEqual({
      name: 'residual',
      count: 1101,
      last: { step: 1100, time: expect.any(Number), timestamp: t0 + 4 * S + 100 * MS, value: 3 },
      min: 1,
      max: 3,
    });
    const m4 = (
      await t.call('GET', `/runs/${run}/metrics/downsample?name=residual&buckets=11&from=0&to=1100`)
    ).body;
    expect(m4.maxY).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3]);
    const m4All = (
      await t.call(
        'GET',
        `/runs/${run}/metrics/downsample?name=residual&buckets=11&from=0&to=1100&includeSuperseded=true`,
      )
    ).body;
    expect(m4All.maxY).toEqual([1, 1, 1, 1, 1, 1000, 1000, 1000, 1000, 2, 3]);

    // The alert's first window (t0 - 5 s, t0 + 5 s] holds segment 1's values of 1000, all superseded.
    t.clock.now = t0 + 5 * S;
    const engine = new AlertEngine({ store: t.store, now: () => t.clock.now, graceSeconds: 0 });
    expect(await engine.evaluate()).toEqual({ pairs: 1, slots: 1, transitions: 0 });
    const state = (await t.call('GET', `/runs/${run}/alerts`)).body.items[0];
    expect(state).toMatchObject({ state: 'ok', evaluated: t0 + 5 * S });
    t.clock.now = t0 + 6 * S;
    expect((await t.call('PATCH', `/runs/${run}`, { status: 'failed' })).body.status).toBe('failed');
    const segments = (await t.call('GET', `/runs/${run}/segments`)).body.segments;
    expect(
      segments.map((s: { number: number; status: string; ended: number | null }) => [
        s.number,
        s.status,
        s.ended,
      ]),
    ).toEqual([
      [1, 'lost', t0],
      [2, 'completed', t0 + 3 * S],
      [3, 'failed', t0 + 6 * S],
    ]);
    const events = (await t.call('GET', `/runs/${run}/events`)).body.items;
    expect(events.map((e: { message: string; segment: number }) => [e.message, e.segment])).toEqual([
      ['first job', 1],
      ['second job', 2],
      ['third job', 3],
    ]);
  });

  it('a segment that dies makes the run lost only when no later segment started', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S;
    t.clock.now = t0;
    const run = (await t.call('POST', '/runs', { name: `lost-${backend}`, heartbeatTimeout: 60 })).body
      .id as string;
    t.clock.now = t0 + 100 * S;
    await t.call('POST', `/runs/${run}/segments`, { jobId: '7' });
    expect(await t.store.runs.markLostRuns(t0 + 120 * S)).toEqual([]);
    const lost = await t.store.runs.markLostRuns(t0 + 200 * S);
    expect(lost.map((r) => [r.id, r.status])).toEqual([[run, 'lost']]);
    const segments = (await t.call('GET', `/runs/${run}/segments`)).body.segments;
    expect(segments.map((s: { status: string; ended: number | null }) => [s.status, s.ended])).toEqual([
      ['lost', t0],
      ['lost', t0 + 200 * S],
    ]);
  });

  it('refuses a rewind step that is not a number and a run that does not exist', async () => {
    const run = (await t.call('POST', '/runs', { name: `bad-${backend}` })).body.id as string;
    const bad = await t.call('POST', `/runs/${run}/segments`, { rewindTo: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_field');
    expect((await t.call('POST', '/runs/nope/segments', {})).status).toBe(404);
    expect((await t.call('GET', `/runs/${run}/segments`)).body.segments).toMatchObject([
      { number: 1, jobId: null, rewindTo: null, status: 'running', ended: null },
    ]);
  });
});
