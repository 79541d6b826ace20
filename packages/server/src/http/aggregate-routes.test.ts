import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestStore } from '../../../../test/fixtures.js';
import { bootstrap } from '../bootstrap.js';
import { createApp } from './app.js';

describe.each(BACKENDS)('POST /metrics/aggregate on %s', (backend) => {
  let app: Awaited<ReturnType<typeof createApp>>;
  let cleanup: () => Promise<void>;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    const opened = await openTestStore(backend);
    cleanup = opened.cleanup;
    const now = Date.now() * 1000;
    await bootstrap(opened.store, now, ADMIN_TOKEN);
    // The smallest cap the configuration allows, so that a few runs exceed it.
    app = await createApp({ store: opened.store, now: () => now, maxScanPoints: 1000 });
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  const call = async (method: string, url: string, payload?: unknown) => {
    const res = await app.inject({
      method: method as 'POST',
      url: `/api/v1${url}`,
      headers: auth,
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  };

  /** A run whose metric `name` has the points `value(step)` at steps `0..n-1`. */
  const runWith = async (
    run: { name: string; tags?: string[]; metadata?: object; folder?: string },
    name: string,
    n: number,
    value: (step: number) => number,
  ) => {
    const created = await call('POST', '/runs', run);
    expect(created.status).toBe(201);
    const steps = Array.from({ length: n }, (_, i) => i);
    const logged = await call('POST', `/runs/${created.body.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [{ name, steps, values: steps.map(value) }],
    });
    expect(logged.status).toBe(200);
    return created.body.id as string;
  };

  it('groups runs by a metadata key: mean and std of last values, min of minima to max of maxima', async () => {
    const a1 = await runWith({ name: 'agg-a1', metadata: { solver: { kind: 'a' } } }, 'res', 10, (s) => s);
    const a2 = await runWith(
      { name: 'agg-a2', metadata: { solver: { kind: 'a' } } },
      'res',
      10,
      (s) => 3 * s,
    );
    const b = await runWith({ name: 'agg-b', metadata: { solver: { kind: 'b' } } }, 'res', 10, () => 2);
    const none = await runWith({ name: 'agg-none' }, 'res', 5, (s) => -s);
    const res = await call('POST', '/metrics/aggregate', {
      runs: [a1, b, none, a2, 'agg-nope'],
      name: 'res',
      by: 'metadata.solver.kind',
      from: 0,
      to: 10,
      buckets: 2,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'res',
      x: 'step',
      by: 'metadata.solver.kind',
      from: 0,
      to: 10,
      buckets: 2,
      missing: [{ run: 'agg-nope', error: { code: 'not_found', message: "run 'agg-nope' not found" } }],
      groups: [
        // bucket [0, 5): last values 4 and 12; [5, 10): 9 and 27
        { value: 'a', runs: [a1, a2], n: [2, 2], mean: [8, 18], std: [4, 9], min: [0, 5], max: [12, 27] },
        { value: 'b', runs: [b], n: [1, 1], mean: [2, 2], std: [0, 0], min: [2, 2], max: [2, 2] },
        // no points in [5, 10)
        {
          value: null,
          runs: [none],
          n: [1, 0],
          mean: [-4, 'NaN'],
          std: [0, 'NaN'],
          min: [-4, 'NaN'],
          max: [0, 'NaN'],
        },
      ],
    });
  });

  it('groups by tag (a run under each of its tags) and by folder', async () => {
    const x = await runWith(
      { name: 'tag-x', tags: ['re100', 'fine'], folder: '/sweep/a' },
      'loss',
      4,
      (s) => s,
    );
    const y = await runWith({ name: 'tag-y', tags: ['re1000'], folder: '/sweep/b' }, 'loss', 4, () => 10);
    const z = await runWith({ name: 'tag-z', tags: ['re100'], folder: '/sweep/a' }, 'loss', 4, () => 1);
    const tags = await call('POST', '/metrics/aggregate', {
      runs: [x, y, z],
      name: 'loss',
      by: 'tags',
      buckets: 1,
    });
    expect(tags.status).toBe(200);
    expect(tags.body.groups.map((g: any) => [g.value, g.runs, g.mean, g.min, g.max])).toEqual([
      ['fine', [x], [3], [0], [3]],
      ['re100', [x, z], [2], [0], [3]],
      ['re1000', [y], [10], [10], [10]],
    ]);
    const folders = await call('POST', '/metrics/aggregate', {
      runs: [x, y, z],
      name: 'loss',
      by: 'folder',
      buckets: 1,
    });
    expect(folders.body.groups.map((g: any) => [g.value, g.runs, g.n])).toEqual([
      ['/sweep/a', [x, z], [2]],
      ['/sweep/b', [y], [1]],
    ]);
  });

  it('answers 400 past the scan cap and for a bad group key', async () => {
    const p = await runWith({ name: 'cap-p' }, 'big', 600, (s) => s);
    const q = await runWith({ name: 'cap-q' }, 'big', 600, (s) => s);
    const capped = await call('POST', '/metrics/aggregate', { runs: [p, q], name: 'big', by: 'folder' });
    expect(capped.status).toBe(400);
    expect(capped.body.error.message).toBe(
      "body.runs: 'big' of these runs holds 1,200 points in [from, to); one request may scan at most 1,000 (the server's max_scan_points): ask for fewer runs or a narrower from and to",
    );
    const bad = await call('POST', '/metrics/aggregate', { runs: [p], name: 'big', by: 'colour' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^body\.by: /);
  });
});
