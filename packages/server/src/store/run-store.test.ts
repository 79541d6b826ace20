import { parseFilter, SimscopeError } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../../../test/fixtures.js';
import {
  CLOCK,
  EVENT_QUERY,
  joined,
  pointsAt,
  range,
  useTestStore,
} from '../../../../test/store-fixtures.js';
import type { RunQuery } from './run-store.js';

const PAGE: RunQuery = { where: null, sort: 'created', descending: false, after: null, limit: 100, now: 0 };

describe.each(BACKENDS)('run store on %s', (backend) => {
  const t = useTestStore(backend);

  it('creates a run with its folder and parents, and finds it by id, then by name, only in its workspace', async () => {
    const run = await t.newRun(undefined, { name: 'alpha', folder: '/a/b', tags: ['x'], metadata: { k: 1 } });
    expect(run).toMatchObject({
      name: 'alpha',
      folder: '/a/b',
      tags: ['x'],
      metadata: { k: 1 },
      status: 'running',
    });
    expect((await t.store.folders.getFolder(run.workspaceId, '/a'))?.path).toBe('/a');
    expect(await t.store.runs.getRun(run.workspaceId, run.id)).toEqual(run);
    expect(await t.store.runs.getRun(run.workspaceId, 'alpha')).toEqual(run);
    // An id wins over another run's name.
    const named = await t.newRun(run.workspaceId, { name: run.id });
    expect((await t.store.runs.getRun(run.workspaceId, run.id))?.pk).toBe(run.pk);
    expect((await t.store.runs.getRun(run.workspaceId, named.id))?.pk).toBe(named.pk);
    expect(await t.store.runs.getRun(await t.newWorkspace(), run.id)).toBeUndefined();
  });

  it('refuses a taken name or id with conflict naming the field', async () => {
    const run = await t.newRun(undefined, { name: 'alpha' });
    const refused = async (fields: object) => {
      const error = await t.newRun(run.workspaceId, fields).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SimscopeError);
      return [(error as SimscopeError).code, (error as SimscopeError).details];
    };
    expect(await refused({ name: 'alpha' })).toEqual(['conflict', { field: 'name' }]);
    expect(await refused({ id: run.id, name: 'other' })).toEqual(['conflict', { field: 'id' }]);
    expect((await t.newRun(await t.newWorkspace(), { name: 'alpha' })).name).toBe('alpha');
  });

  it('lists runs in pages by a sort key, filtered, and as columns of the same page', async () => {
    const ws = await t.newWorkspace();
    for (const [name, status] of [
      ['b', 'running'],
      ['a', 'completed'],
      ['c', 'running'],
    ] as const) {
      await t.newRun(ws, { name, status, metadata: { name } });
    }
    const names = async (query: Partial<RunQuery>) =>
      (await t.store.runs.listRuns(ws, { ...PAGE, ...query })).map((r) => r.name);
    expect(await names({})).toEqual(['b', 'a', 'c']);
    expect(await names({ sort: 'name', descending: true })).toEqual(['c', 'b', 'a']);
    expect(await names({ where: parseFilter('status = running') })).toEqual(['b', 'c']);
    const [first] = await t.store.runs.listRuns(ws, { ...PAGE, sort: 'name', limit: 1 });
    expect(await names({ sort: 'name', after: { key: first!.name, pk: first!.pk } })).toEqual(['b', 'c']);

    const run = (await t.store.runs.getRun(ws, 'a'))!;
    await t.store.metrics.appendMetrics(run.pk, { writer: 'w', seq: 0 }, [pointsAt([1, 2], 'loss')], CLOCK);
    const page = await t.store.runs.runColumns(
      ws,
      { ...PAGE, sort: 'name', limit: 2 },
      { metadata: true, metrics: ['loss'] },
    );
    expect(page).toMatchObject({ count: 2, more: { key: 'b' } });
    expect(JSON.parse(page.name)).toEqual(['a', 'b']);
    expect(JSON.parse(page.status)).toEqual(['completed', 'running']);
    expect(JSON.parse(page.metadata!)).toEqual([{ name: 'a' }, { name: 'b' }]);
    expect(JSON.parse(page.metrics[0]!)).toEqual([-2, null]);
    const last = await t.store.runs.runColumns(
      ws,
      { ...PAGE, sort: 'name', limit: 5 },
      { metadata: false, metrics: [] },
    );
    expect([last.count, last.more, last.metadata]).toEqual([3, null, null]);
  });

  it('updates the given fields, moving a run to a new folder; conflict on a taken name, not_found for a gone run', async () => {
    const run = await t.newRun(undefined, { name: 'alpha', description: 'd' });
    await t.newRun(run.workspaceId, { name: 'beta' });
    const updated = await t.store.runs.updateRun(
      run.workspaceId,
      run.pk,
      { folder: '/x/y', tags: ['t'], status: 'completed', endedAt: 9 },
      5,
    );
    expect(updated).toMatchObject({
      folder: '/x/y',
      tags: ['t'],
      status: 'completed',
      endedAt: 9,
      description: 'd',
      name: 'alpha',
    });
    expect((await t.store.folders.getFolder(run.workspaceId, '/x'))?.createdAt).toBe(5);
    const conflict = await t.store.runs
      .updateRun(run.workspaceId, run.pk, { name: 'beta' }, 6)
      .catch((e: unknown) => e);
    expect([(conflict as SimscopeError).code, (conflict as SimscopeError).details]).toEqual([
      'conflict',
      { field: 'name' },
    ]);
    const other = await t.newWorkspace();
    const gone = await t.store.runs
      .updateRun(other, run.pk, { description: 'x' }, 7)
      .catch((e: unknown) => e);
    expect((gone as SimscopeError).code).toBe('not_found');
    expect((await t.store.runs.getRun(run.workspaceId, run.id))?.description).toBe('d');
  });

  it('marks running runs whose heartbeat is older than their timeout as lost, and no others', async () => {
    const ws = await t.newWorkspace();
    const late = await t.newRun(ws, { heartbeatTimeout: 10, heartbeatAt: 1_000_000 });
    await t.newRun(ws, { heartbeatTimeout: 10, heartbeatAt: 5_000_000 });
    await t.newRun(ws, { heartbeatTimeout: null });
    await t.newRun(ws, { heartbeatTimeout: 10, heartbeatAt: 1_000_000, status: 'completed' });
    const lost = await t.store.runs.markLostRuns(12_000_000);
    expect(lost.map((r) => [r.id, r.status])).toEqual([[late.id, 'lost']]);
    expect(await t.store.runs.markLostRuns(12_000_000)).toEqual([]);
  });

  it('deletes a run with its series, blocks and events, and leaves other runs alone', async () => {
    const gone = await t.newRun();
    const kept = await t.newRun(gone.workspaceId);
    for (const run of [gone, kept]) {
      await t.store.metrics.appendMetrics(
        run.pk,
        { writer: 'w', seq: 0 },
        [pointsAt(range(0, 20), 'a'), pointsAt(range(0, 20), 'b')],
        CLOCK,
      );
      await t.store.events.appendEvents(run.pk, { writer: 'w', seq: 0 }, [
        { timestamp: 10, level: 'info', message: 'start' },
        { timestamp: 20, level: 'error', message: 'boom' },
      ]);
    }
    const goneSeries = await t.store.metrics.listSeries(gone.pk);
    expect(goneSeries.map((s) => [s.name, s.count])).toEqual([
      ['a', 20],
      ['b', 20],
    ]);
    for (const s of goneSeries)
      expect(await t.store.metrics.readBlocks(s.pk, 'step', -Infinity, Infinity)).toHaveLength(1);
    expect(await t.store.events.listEvents(gone.pk, EVENT_QUERY)).toHaveLength(2);

    expect(await t.store.runs.deleteRun(gone.workspaceId, gone.pk)).toBe(true);
    expect(await t.store.runs.getRun(gone.workspaceId, gone.id)).toBeUndefined();
    expect(await t.store.metrics.listSeries(gone.pk)).toEqual([]);
    for (const s of goneSeries)
      expect(await t.store.metrics.readBlocks(s.pk, 'step', -Infinity, Infinity)).toEqual([]);
    expect(await t.store.events.listEvents(gone.pk, EVENT_QUERY)).toEqual([]);
    expect(await t.store.runs.deleteRun(gone.workspaceId, gone.pk)).toBe(false);

    const keptSeries = await t.store.metrics.listSeries(kept.pk);
    expect(keptSeries.map((s) => [s.name, s.count])).toEqual([
      ['a', 20],
      ['b', 20],
    ]);
    const keptBlocks = await t.store.metrics.readBlocks(keptSeries[0]!.pk, 'step', -Infinity, Infinity);
    expect(joined(keptBlocks, 'steps')).toEqual(range(0, 20));
    expect((await t.store.events.listEvents(kept.pk, EVENT_QUERY)).map((e) => e.message)).toEqual([
      'start',
      'boom',
    ]);
  });
});
