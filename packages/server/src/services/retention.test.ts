import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestStore } from '../../../../test/fixtures.js';
import { bootstrap } from '../bootstrap.js';
import { createApp } from '../http/app.js';
import type { Store } from '../store/store.js';
import { applyRetention } from './retention.js';

const DAY = 86_400_000_000;

describe.each(BACKENDS)('retention on %s', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let app: FastifyInstance;
  const clock = { now: Date.now() * 1000 };

  const call = async (method: string, url: string, payload?: unknown) => {
    const res = await app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };
  const finishedRun = async (name: string, folder: string, status = 'completed') => {
    expect((await call('POST', '/runs', { name, folder })).status).toBe(201);
    if (status !== 'running') expect((await call('PATCH', `/runs/${name}`, { status })).status).toBe(200);
  };
  const names = async () =>
    ((await call('GET', '/runs?limit=100')).body.items as { name: string }[]).map((r) => r.name).sort();

  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore(backend));
    await bootstrap(store, clock.now, ADMIN_TOKEN);
    app = await createApp({ store, now: () => clock.now });
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  it('keeps rules per workspace: create, list, refuse a bad one, delete', async () => {
    const bad = await call('POST', '/admin/workspaces/default/retention', {
      action: 'downsample',
      olderThanDays: 3,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('body.buckets: give it for downsample, and only then');
    const made = await call('POST', '/admin/workspaces/default/retention', {
      action: 'delete',
      olderThanDays: 400,
      folder: '/never/',
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      action: 'delete',
      olderThanDays: 400,
      folder: '/never',
      buckets: null,
    });
    const listed = await call('GET', '/admin/workspaces/default/retention');
    expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([made.body.id]);
    expect((await call('DELETE', `/admin/workspaces/default/retention/${made.body.id}`)).status).toBe(204);
    expect((await call('DELETE', `/admin/workspaces/default/retention/${made.body.id}`)).status).toBe(404);
    expect((await call('GET', '/admin/workspaces/nope/retention')).status).toBe(404);
  });

  it('deletes finished runs of a folder and its subfolders older than N days, and downsamples others by M4', async () => {
    const start = clock.now;
    await finishedRun('old-1', '/old');
    await finishedRun('old-2', '/old/deep');
    await finishedRun('older-1', '/older'); // shares the prefix '/old' but is another folder
    await finishedRun('old-running', '/old', 'running');
    await finishedRun('keep-1', '/keep');
    await finishedRun('sim-1', '/sims');
    const steps = Array.from({ length: 1000 }, (_, i) => i);
    const values = steps.map((s) => (s === 500 ? -1000 : s === 700 ? 5000 : s));
    const batch = {
      writer: 'w',
      seq: 0,
      series: [
        { name: 'loss', steps, values },
        { name: 'small', values: [1, 2, 3] },
      ],
    };
    expect((await call('POST', '/runs/sim-1/metrics', batch)).status).toBe(200);
    clock.now = start + 40 * DAY;
    await finishedRun('old-recent', '/old');

    const rules = [
      { action: 'delete', olderThanDays: 30, folder: '/old' },
      { action: 'downsample', olderThanDays: 10, folder: '/sims', buckets: 5 },
    ];
    for (const rule of rules) {
      expect((await call('POST', '/admin/workspaces/default/retention', rule)).status).toBe(201);
    }
    expect((await call('POST', '/admin/retention/apply')).body).toEqual({ deleted: 2, downsampled: 1 });
    expect(await names()).toEqual(['keep-1', 'old-recent', 'old-running', 'older-1', 'sim-1']);

    const series = await call('GET', '/runs/sim-1/metrics/series?name=loss');
    expect(series.body.steps).toEqual([0, 199, 200, 399, 400, 500, 599, 600, 700, 799, 800, 999]);
    expect(series.body.values).toEqual([0, 199, 200, 399, 400, -1000, 599, 600, 5000, 799, 800, 999]);
    const summary = await call('GET', '/runs/sim-1/metrics?name=loss');
    expect(summary.body.items[0]).toMatchObject({
      name: 'loss',
      count: 12,
      min: -1000,
      max: 5000,
      last: { step: 999, value: 999 },
    });
    const small = await call('GET', '/runs/sim-1/metrics/series?name=small');
    expect(small.body.values).toEqual([1, 2, 3]);

    // A second pass finds nothing left to do.
    expect(await applyRetention({ store, now: () => clock.now })).toEqual({ deleted: 0, downsampled: 0 });
  });
});
