import { readMetricBatch, type TokenScope } from '@simscope/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, openTestStore } from '../../../../test/fixtures.js';
import { bootstrap } from '../bootstrap.js';
import type { Store } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { type DomainEvent, DomainEvents } from './domain-events.js';
import { EventService } from './event-service.js';
import { FolderService } from './folder-service.js';
import { LiveHub, type LiveMessage } from './live-hub.js';
import { MetricService } from './metric-service.js';
import { RunService } from './run-service.js';

describe('DomainEvents', () => {
  it('delivers to each subscriber until it unsubscribes, and reports a listener that throws', () => {
    const failures: [string, string][] = [];
    const bus = new DomainEvents({
      onError: (error, event) => failures.push([(error as Error).message, event.type]),
    });
    const a: string[] = [];
    const b: string[] = [];
    const stopA = bus.subscribe((e) => a.push(e.type));
    const listenerB = (e: DomainEvent) => b.push(e.type);
    bus.subscribe(listenerB);
    bus.subscribe(() => {
      throw new Error('boom');
    });
    bus.publish({ type: 'events.appended', workspaceId: 'w', runId: 'r', events: 1 });
    stopA();
    bus.publish({ type: 'run.deleted', workspaceId: 'w', runId: 'r' });
    bus.unsubscribe(listenerB);
    bus.publish({ type: 'folder.changed', workspaceId: 'w', path: '/x' });
    expect(a).toEqual(['events.appended']);
    expect(b).toEqual(['events.appended', 'run.deleted']);
    expect(failures).toEqual([
      ['boom', 'events.appended'],
      ['boom', 'run.deleted'],
      ['boom', 'folder.changed'],
    ]);
    expect(bus.size).toBe(1);
  });

  it('reaches the live hub as the messages the live stream sends, only for watched workspaces', () => {
    const bus = new DomainEvents();
    const hub = new LiveHub();
    const disconnect = hub.connect(bus);
    const seen: LiveMessage[] = [];
    const stop = hub.subscribe('w1', (m) => seen.push(m));
    bus.publish({ type: 'metrics.appended', workspaceId: 'w1', runId: 'r1', names: ['loss'], points: 1 });
    bus.publish({ type: 'events.appended', workspaceId: 'w2', runId: 'r2', events: 1 });
    bus.publish({ type: 'run.deleted', workspaceId: 'w1', runId: 'r1' });
    bus.publish({ type: 'folder.changed', workspaceId: 'w1', path: '/a' });
    disconnect();
    bus.publish({ type: 'events.appended', workspaceId: 'w1', runId: 'r1', events: 1 });
    stop();
    expect(seen).toEqual([
      { type: 'metrics', run: 'r1', names: ['loss'] },
      { type: 'deleted', run: 'r1' },
      { type: 'folder', path: '/a' },
    ]);
    expect(bus.size).toBe(0);
  });
});

describe.each(BACKENDS)('services publish domain events on %s', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let ctx: ServiceContext;
  let published: DomainEvent[];
  let clock: number;
  const runs = new RunService();
  const metrics = new MetricService();
  const events = new EventService();
  const folders = new FolderService();

  beforeEach(async () => {
    ({ store, cleanup } = await openTestStore(backend));
    clock = Date.now() * 1000;
    await bootstrap(store, clock);
    const user = (await store.identity.getUser('admin'))!;
    const workspace = (await store.identity.getWorkspace('default'))!;
    const [token] = await store.identity.listTokens(user.id);
    const bus = new DomainEvents();
    published = [];
    bus.subscribe((e) => published.push(e));
    ctx = {
      store,
      bus,
      auth: { user, workspace, token: token!, scopes: new Set<TokenScope>(['read', 'write', 'admin']) },
      now: () => {
        clock += 1000;
        return clock;
      },
    };
  });
  afterEach(async () => {
    await cleanup();
  });

  /** The events published while `write` runs, whether it succeeds or is refused. */
  async function during(write: () => Promise<unknown>): Promise<DomainEvent[]> {
    published.length = 0;
    await write().catch(() => undefined);
    return [...published];
  }

  it('publishes run.changed with the answered view for create, update, heartbeat and abort; run.deleted for delete', async () => {
    const ws = ctx.auth.workspace.id;
    const created = await during(() => runs.create(ctx, { name: 'r1', folder: '/a' }));
    const view = await runs.get(ctx, 'r1');
    expect(created).toEqual([{ type: 'run.changed', workspaceId: ws, run: view }]);

    const updated = await during(() => runs.update(ctx, 'r1', { description: 'd' }));
    expect(updated).toEqual([{ type: 'run.changed', workspaceId: ws, run: await runs.get(ctx, 'r1') }]);
    expect((await runs.get(ctx, 'r1')).description).toBe('d');

    const beat = await during(() => runs.heartbeat(ctx, 'r1'));
    expect(beat).toEqual([{ type: 'run.changed', workspaceId: ws, run: await runs.get(ctx, 'r1') }]);

    const aborted = await during(() => runs.requestAbort(ctx, 'r1', { reason: 'stop' }));
    expect(aborted).toEqual([{ type: 'run.changed', workspaceId: ws, run: await runs.get(ctx, 'r1') }]);
    expect((await runs.get(ctx, 'r1')).abort.reason).toBe('stop');

    expect(await during(() => runs.delete(ctx, 'r1'))).toEqual([
      { type: 'run.deleted', workspaceId: ws, runId: view.id },
    ]);
  });

  it('publishes nothing for refused run writes', async () => {
    await runs.create(ctx, { name: 'r1' });
    await runs.update(ctx, 'r1', { status: 'completed' });
    expect(await during(() => runs.create(ctx, { name: 'r1' }))).toEqual([]);
    expect(await during(() => runs.update(ctx, 'r1', { status: 'running' }))).toEqual([]);
    expect(await during(() => runs.heartbeat(ctx, 'r1'))).toEqual([]);
    expect(await during(() => runs.requestAbort(ctx, 'r1', {}))).toEqual([]);
    expect(await during(() => runs.delete(ctx, 'missing'))).toEqual([]);
    expect((await runs.get(ctx, 'r1')).status).toBe('completed');
  });

  it('publishes metrics.appended and events.appended once per stored batch, nothing for a replay or a refused batch', async () => {
    await runs.create(ctx, { name: 'r1' });
    const run = await runs.find(ctx, 'r1');
    const ws = ctx.auth.workspace.id;
    const batch = () =>
      readMetricBatch({
        writer: 'w',
        seq: 0,
        series: [
          { name: 'loss', values: [1, 2] },
          { name: 'acc', values: [3] },
          { name: 'none', values: [] },
        ],
      });
    expect(await during(() => metrics.ingest(ctx, run, batch()))).toEqual([
      { type: 'metrics.appended', workspaceId: ws, runId: run.id, names: ['loss', 'acc'], points: 3 },
    ]);
    expect(await during(() => metrics.ingest(ctx, run, batch()))).toEqual([]);

    const body = { writer: 'w', seq: 0, events: [{ message: 'hi' }] };
    expect(await during(() => events.ingest(ctx, run, body))).toEqual([
      { type: 'events.appended', workspaceId: ws, runId: run.id, events: 1 },
    ]);
    expect(await during(() => events.ingest(ctx, run, body))).toEqual([]);
    const future = { writer: 'w', seq: 2, events: [{ message: 'x', timestamp: clock + 3600e6 }] };
    expect(await during(() => events.ingest(ctx, run, future))).toEqual([]);
    expect(
      (
        await store.events.listEvents(run.pk, {
          search: null,
          levels: null,
          from: null,
          to: null,
          after: null,
          limit: 10,
          descending: false,
        })
      ).map((e) => e.message),
    ).toEqual(['hi']);
  });

  it('publishes folder.changed once for each folder write, nothing for a refused one', async () => {
    const ws = ctx.auth.workspace.id;
    const changed = (path: string) => [{ type: 'folder.changed', workspaceId: ws, path }];
    expect(await during(() => folders.create(ctx, { path: '/a/b', description: 'd' }))).toEqual(
      changed('/a/b'),
    );
    expect(await during(() => folders.create(ctx, { path: '/c' }))).toEqual(changed('/c'));
    expect(await during(() => folders.update(ctx, '/c', { tags: ['t'] }))).toEqual(changed('/c'));
    await runs.create(ctx, { name: 'inside', folder: '/c' });
    expect(await during(() => folders.delete(ctx, '/c', false))).toEqual([]);
    expect(await during(() => folders.update(ctx, '/missing', { tags: ['t'] }))).toEqual([]);
    expect(await during(() => folders.delete(ctx, '/c', true))).toEqual(changed('/c'));
  });
});
