import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../../../test/fixtures.js';
import { EVENT_QUERY, useTestStore } from '../../../../test/store-fixtures.js';
import type { EventQuery } from './event-store.js';

describe.each(BACKENDS)('event store on %s', (backend) => {
  const t = useTestStore(backend);

  it('stores a batch once per (run, writer, seq)', async () => {
    const run = await t.newRun();
    const other = await t.newRun(run.workspaceId);
    const batch = [{ timestamp: 1, level: 'info' as const, message: 'a' }];
    expect(await t.store.events.appendEvents(run.pk, { writer: 'w', seq: 0 }, batch)).toBe(true);
    expect(await t.store.events.appendEvents(run.pk, { writer: 'w', seq: 0 }, batch)).toBe(false);
    expect(await t.store.events.appendEvents(run.pk, { writer: 'v', seq: 0 }, batch)).toBe(true);
    expect(await t.store.events.appendEvents(other.pk, { writer: 'w', seq: 0 }, batch)).toBe(true);
    expect(await t.store.events.listEvents(run.pk, EVENT_QUERY)).toHaveLength(2);
    // More rows than one INSERT statement carries.
    const many = Array.from({ length: 1201 }, (_, i) => ({
      timestamp: 10 + i,
      level: 'debug' as const,
      message: `m${i}`,
    }));
    expect(await t.store.events.appendEvents(other.pk, { writer: 'w', seq: 1 }, many)).toBe(true);
    const listed = await t.store.events.listEvents(other.pk, { ...EVENT_QUERY, limit: 5000 });
    expect(listed.map((e) => e.message)).toEqual(['a', ...many.map((e) => e.message)]);
  });

  it('lists by time, level, text (%, _ and \\ literal) and pages by (timestamp, pk) both ways', async () => {
    const run = await t.newRun();
    await t.store.events.appendEvents(run.pk, { writer: 'w', seq: 0 }, [
      { timestamp: 30, level: 'error', message: '100% done' },
      { timestamp: 10, level: 'info', message: 'Start_up' },
      { timestamp: 20, level: 'warning', message: 'startup slow' },
      { timestamp: 20, level: 'info', message: 'path a\\b' },
    ]);
    const list = async (query: Partial<EventQuery>) =>
      (await t.store.events.listEvents(run.pk, { ...EVENT_QUERY, ...query })).map((e) => e.message);
    expect(await list({})).toEqual(['Start_up', 'startup slow', 'path a\\b', '100% done']);
    expect(await list({ descending: true })).toEqual(['100% done', 'path a\\b', 'startup slow', 'Start_up']);
    expect(await list({ search: 'START' })).toEqual(['Start_up', 'startup slow']);
    expect(await list({ search: '_' })).toEqual(['Start_up']);
    expect(await list({ search: '%' })).toEqual(['100% done']);
    expect(await list({ search: '\\' })).toEqual(['path a\\b']);
    expect(await list({ levels: ['error', 'warning'] })).toEqual(['startup slow', '100% done']);
    expect(await list({ from: 20, to: 30 })).toEqual(['startup slow', 'path a\\b']);
    const [first] = await t.store.events
      .listEvents(run.pk, { ...EVENT_QUERY, limit: 2 })
      .then((r) => r.slice(1));
    expect(await list({ after: { timestamp: first!.timestamp, pk: first!.pk }, limit: 1 })).toEqual([
      'path a\\b',
    ]);
    expect(await list({ after: { timestamp: first!.timestamp, pk: first!.pk }, descending: true })).toEqual([
      'Start_up',
    ]);
    const [event] = await t.store.events.listEvents(run.pk, { ...EVENT_QUERY, limit: 1 });
    expect(event).toEqual({ pk: event!.pk, timestamp: 10, level: 'info', message: 'Start_up', segment: 1 });
  });
});
