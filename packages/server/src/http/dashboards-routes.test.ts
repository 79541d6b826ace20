import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';

describe.each(BACKENDS)('/dashboards on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp(backend);
  });
  afterAll(async () => {
    await t.close();
  });

  const call = async (method: string, url: string, payload?: unknown, headers = t.auth) => {
    const res = await t.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers,
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    return { status: res.statusCode, body: res.body ? (res.json() as Record<string, any>) : undefined };
  };

  it('saves, lists, reads by id or name, renames, replaces and deletes a layout', async () => {
    const layout = { runs: ['r1', 'r2'], metric: 'loss', group: 'metadata.solver', band: 'range', x: 'step' };
    const created = await call('POST', '/dashboards', { name: 'Re sweep', layout });
    expect(created.status).toBe(201);
    const id = created.body!.id as string;
    expect(created.body).toEqual({
      id,
      name: 'Re sweep',
      layout,
      createdBy: 'admin',
      createdAt: t.clock.now,
      updatedAt: t.clock.now,
    });
    await call('POST', '/dashboards', { name: 'A grid', layout: { runs: ['r3'], collapsed: ['system'] } });

    const listed = await call('GET', '/dashboards');
    expect(listed.status).toBe(200);
    expect(listed.body!.items.map((d: any) => d.name)).toEqual(['A grid', 'Re sweep']);
    expect(listed.body!.next).toBeNull();
    expect((await call('GET', `/dashboards/${id}`)).body).toEqual(created.body);
    expect((await call('GET', '/dashboards/Re%20sweep')).body!.id).toBe(id);

    t.clock.now += 5_000_000;
    const renamed = await call('PATCH', `/dashboards/${id}`, { name: 'Re sweep, bands' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ ...created.body, name: 'Re sweep, bands', updatedAt: t.clock.now });
    const replaced = await call('PATCH', `/dashboards/${id}`, { layout: { runs: ['r1'], metric: null } });
    expect(replaced.body!.layout).toEqual({ runs: ['r1'], metric: null });
    expect(replaced.body!.name).toBe('Re sweep, bands');

    expect((await call('DELETE', `/dashboards/${id}`)).body).toEqual({ deleted: true });
    const gone = await call('GET', `/dashboards/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body!.error.message).toBe(`dashboard '${id}' not found`);
  });

  it('answers 409 for a name taken in the workspace and 400 for a bad layout', async () => {
    await call('POST', '/dashboards', { name: 'taken', layout: {} });
    const again = await call('POST', '/dashboards', { name: 'taken', layout: { runs: ['x'] } });
    expect(again.status).toBe(409);
    expect(again.body!.error.message).toBe("body.name: this workspace has a dashboard named 'taken' already");
    const other = await call('POST', '/dashboards', { name: 'other', layout: {} });
    const clash = await call('PATCH', `/dashboards/${other.body!.id}`, { name: 'taken' });
    expect(clash.status).toBe(409);

    const badBand = await call('POST', '/dashboards', { name: 'bad', layout: { band: 'wide' } });
    expect(badBand.status).toBe(400);
    expect(badBand.body!.error.message).toMatch(/^body\.layout\.band: /);
    const unknown = await call('POST', '/dashboards', { name: 'bad', layout: { colour: 'red' } });
    expect(unknown.status).toBe(400);
    const noName = await call('POST', '/dashboards', { name: '  ', layout: {} });
    expect(noName.status).toBe(400);
    expect(noName.body!.error.message).toMatch(/^body\.name: /);
  });

  it('keeps each workspace its own dashboards', async () => {
    const ws = await call('POST', '/admin/workspaces', { name: `dash-ws-${backend}` });
    expect(ws.status).toBe(201);
    expect(
      (await call('POST', `/admin/workspaces/dash-ws-${backend}/members`, { user: 'admin' })).status,
    ).toBe(201);
    await call('POST', '/dashboards', { name: 'mine', layout: {} });
    const header = { ...t.auth, 'simscope-workspace': `dash-ws-${backend}` };
    const theirs = await call('GET', '/dashboards', undefined, header);
    expect(theirs.status).toBe(200);
    expect(theirs.body!.items).toEqual([]);
    expect((await call('GET', '/dashboards/mine', undefined, header)).status).toBe(404);
  });
});
