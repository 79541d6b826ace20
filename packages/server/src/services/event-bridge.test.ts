import { afterEach, describe, expect, it } from 'vitest';
import { useTestStore } from '../../../../test/store-fixtures.js';
import { ServerMetrics } from '../http/metrics.js';
import type { PostgresStore } from '../store/postgres/postgres-store.js';
import { type DomainEvent, DomainEvents } from './domain-events.js';
import { PostgresEventBridge } from './event-bridge.js';
import { runView } from './run-service.js';

const until = async (check: () => boolean, ms = 3000) => {
  const stop = Date.now() + ms;
  while (!check()) {
    if (Date.now() > stop) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('domain events across processes over PostgreSQL LISTEN/NOTIFY', () => {
  const t = useTestStore('postgres');
  const bridges: PostgresEventBridge[] = [];
  afterEach(async () => {
    for (const bridge of bridges.splice(0)) await bridge.stop();
  });
  /** One server process: its bus, what its listeners saw, its bridge. */
  const processOn = async () => {
    const { url } = t.store as PostgresStore;
    const bus = new DomainEvents();
    const seen: DomainEvent[] = [];
    const origins: string[] = [];
    bus.subscribe((e, origin) => {
      seen.push(e);
      origins.push(origin);
    });
    const bridge = new PostgresEventBridge({ url, bus, store: t.store });
    bridges.push(bridge);
    await bridge.start();
    return { bus, seen, origins };
  };

  it("publishes each process's events once on every other process, and re-reads a run too large to send", async () => {
    const a = await processOn();
    const b = await processOn();
    const c = await processOn();
    const appended: DomainEvent = {
      type: 'metrics.appended',
      workspaceId: 'w',
      runId: 'r',
      names: ['loss'],
      points: 3,
    };
    b.bus.publish(appended);
    await until(() => a.seen.length === 1 && c.seen.length === 1);
    expect(a.seen).toEqual([appended]);
    expect(c.seen).toEqual([appended]);

    const run = await t.newRun(undefined, { metadata: { notes: 'x'.repeat(9000) } });
    const changed: DomainEvent = { type: 'run.changed', workspaceId: run.workspaceId, run: runView(run) };
    c.bus.publish(changed);
    await until(() => a.seen.length === 2 && b.seen.length === 2);
    expect(a.seen[1]).toEqual(changed);
    expect(b.seen[1]).toEqual(changed);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.seen).toHaveLength(2);
    expect(c.seen).toEqual([appended, changed]);
    expect(a.origins).toEqual(['remote', 'remote']);
    expect(c.origins).toEqual(['remote', 'local']);
  });
});

describe('events relayed from another process', () => {
  it("are not counted in this process's metrics: the process that took the write counts it", async () => {
    const bus = new DomainEvents();
    const metrics = new ServerMetrics();
    metrics.listen(bus);
    const appended: DomainEvent = {
      type: 'metrics.appended',
      workspaceId: 'w',
      runId: 'r',
      names: ['x'],
      points: 3,
    };
    bus.publish(appended, 'remote');
    bus.publish(appended);
    expect((await metrics.pointsIngested.get()).values.map((v) => v.value)).toEqual([3]);
  });
});
