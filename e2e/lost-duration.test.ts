// A lost run's duration stops at its last heartbeat, in the run page (RunView) and in the runs table (the run
// table's `ended`), as the web UI computes it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LostRunSweeper } from '../packages/server/src/services/run-service.js';
import { runDuration, runEnd } from '../packages/web/src/format.js';
import { BACKENDS, openTestApp } from '../test/fixtures.js';

describe.each(BACKENDS)('a lost run on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeEach(async () => {
    t = await openTestApp(backend);
  });
  afterEach(async () => {
    await t.close();
  });
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, payload?: object) => {
    const res = await t.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: t.auth,
      ...(payload ? { payload } : {}),
    });
    return res.json() as Record<string, any>;
  };

  it('lasts from its start to its last heartbeat, however long ago it went silent', async () => {
    const start = t.clock.now;
    await call('POST', '/runs', { name: 'went-silent', heartbeatTimeout: '5m' });
    await call('POST', '/runs', { name: 'still-going', heartbeatTimeout: null });
    t.clock.now = start + 42_000_000;
    await call('POST', '/runs/went-silent/heartbeat');
    const lost = await new LostRunSweeper(t.store, 60_000).sweep(start + 42_000_000 + 300_000_001);
    expect(lost.map((r) => r.name)).toEqual(['went-silent']);

    const later = start + 3_600_000_000;
    const view = await call('GET', '/runs/went-silent');
    expect(view).toMatchObject({
      status: 'lost',
      started: start,
      ended: null,
      heartbeat: start + 42_000_000,
    });
    expect(runDuration(view.started, runEnd(view as never), later)).toBe(42);

    const table = await call('GET', '/run-table?sort=name');
    expect([table.name, table.status, table.ended]).toEqual([
      ['still-going', 'went-silent'],
      ['running', 'lost'],
      [null, start + 42_000_000],
    ]);
    expect(runDuration(table.started[1], table.ended[1], later)).toBe(42);
    expect(runDuration(table.started[0], table.ended[0], later)).toBe(3600);
  });
});
