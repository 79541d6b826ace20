import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricSeries } from '@simscope/protocol';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { BACKENDS, type Backend, openTestStore } from '../../../../test/fixtures.js';
import { BLOCK_POINTS, MERGE_BELOW } from './metric-blocks.js';
import { MIGRATIONS } from './migrations.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Block, Points, RunRecord, Store } from './store.js';

const EVENT_QUERY = {
  search: null,
  levels: null,
  from: null,
  to: null,
  after: null,
  limit: 1000,
  descending: false,
};

/** A series with the given steps; value, time and timestamp follow from the step. */
function pointsAt(steps: readonly number[], name = 'm'): MetricSeries {
  const s = Float64Array.from(steps);
  return {
    name,
    steps: s,
    times: s.map((x) => x / 10),
    timestamps: s.map((x) => 1_000_000 + x * 1000),
    values: s.map((x) => x * 0.5 - 3),
  };
}

const CLOCK = { startedAt: 1_000_000, now: 5_000_000 };

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

function joined(blocks: readonly Block[], column: Exclude<keyof Points, 'timeOrigin'>): number[] {
  return blocks.flatMap((b) => Array.from(b[column]));
}

/** The store's data where a second connection can look at its tables, and a way to open it again. */
async function openInspectable(backend: Backend): Promise<{
  open(): Store;
  count(sql: string): Promise<number>;
  cleanup(): Promise<void>;
}> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'simscope-store-'));
    const file = join(dir, 'simscope.db');
    return {
      open: () => SqliteStore.open(file),
      count: async (sql) => {
        const db = new Database(file, { readonly: true });
        try {
          return Number((db.prepare(sql).get() as { n: number }).n);
        } finally {
          db.close();
        }
      },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const adminUrl = inject('postgresUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  const query = async (target: string, sql: string) => {
    const c = new pg.Client(target);
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await query(adminUrl, `CREATE DATABASE ${name}`);
  return {
    open: () => PostgresStore.open(url, { poolSize: 2 }),
    count: async (sql) => Number((await query(url, sql)).rows[0].n),
    cleanup: async () => {
      await query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

describe.each(BACKENDS)('store on %s', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let runs = 0;
  beforeEach(async () => {
    ({ store, cleanup } = await openTestStore(backend));
  });
  afterEach(async () => {
    await cleanup();
  });

  async function newRun(workspaceId?: string): Promise<RunRecord> {
    const ws = workspaceId ?? `ws-${++runs}`;
    if (!workspaceId) await store.identity.createWorkspace({ id: ws, name: ws, createdAt: 1 });
    return store.runs.createRun({
      id: `run-${++runs}`,
      workspaceId: ws,
      name: `run-${runs}`,
      folder: '/',
      userId: 'u',
      description: null,
      tags: [],
      metadata: {},
      system: {},
      status: 'running',
      createdAt: 1_000_000,
      startedAt: 1_000_000,
      heartbeatAt: 1_000_000,
      heartbeatTimeout: null,
    });
  }

  async function seriesOf(run: RunRecord, name: string) {
    const series = await store.metrics.getSeries(run.pk, name);
    expect(series, name).toBeDefined();
    return series!;
  }

  it('migrates twice, and again from a new connection, without repeating a migration or losing data', async () => {
    const data = await openInspectable(backend);
    try {
      const first = data.open();
      await first.migrate();
      await first.identity.createWorkspace({ id: 'w1', name: 'kept', createdAt: 5 });
      await first.migrate();
      await first.close();
      const second = data.open();
      await second.migrate();
      expect((await second.identity.getWorkspace('w1'))?.name).toBe('kept');
      await second.close();
      expect(MIGRATIONS.length).toBeGreaterThanOrEqual(1);
      expect(await data.count('SELECT COUNT(*) AS n FROM schema_migrations')).toBe(MIGRATIONS.length);
      expect(await data.count('SELECT COUNT(DISTINCT version) AS n FROM schema_migrations')).toBe(
        MIGRATIONS.length,
      );
      expect(await data.count('SELECT COUNT(*) AS n FROM schema_migrations WHERE version = 1')).toBe(1);
    } finally {
      await data.cleanup();
    }
  });

  it('stores a batch once per (writer, seq): a replay stores nothing, another writer with the same seq does', async () => {
    const run = await newRun();
    const append = (writer: string, seq: number, steps: number[]) =>
      store.metrics.appendMetrics(run.pk, { writer, seq }, [pointsAt(steps)], CLOCK);
    expect(await append('a', 3, range(0, 5))).toBe(true);
    expect(await append('a', 3, range(100, 5))).toBe(false);
    expect(await append('b', 3, range(5, 5))).toBe(true);
    expect(await append('a', 4, range(10, 5))).toBe(true);
    const series = await seriesOf(run, 'm');
    expect(series).toMatchObject({ count: 15, lastStep: 14, lastValue: 4, minValue: -3, maxValue: 4 });
    const blocks = await store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(joined(blocks, 'steps')).toEqual(range(0, 15));
    expect(joined(blocks, 'values')).toEqual(range(0, 15).map((x) => x * 0.5 - 3));
  });

  it('scopes batch keys to the run: the same (writer, seq) in another run is stored', async () => {
    const one = await newRun();
    const two = await newRun(one.workspaceId);
    expect(await store.metrics.appendMetrics(one.pk, { writer: 'w', seq: 0 }, [pointsAt([1])], CLOCK)).toBe(
      true,
    );
    expect(await store.metrics.appendMetrics(two.pk, { writer: 'w', seq: 0 }, [pointsAt([2])], CLOCK)).toBe(
      true,
    );
    expect((await seriesOf(one, 'm')).count).toBe(1);
    expect((await seriesOf(two, 'm')).count).toBe(1);
  });

  it('continues missing steps from the largest stored one and derives missing times and timestamps', async () => {
    const run = await newRun();
    const stepless = (values: number[], times: Float64Array | null = null): MetricSeries => ({
      name: 'm',
      steps: null,
      times,
      timestamps: null,
      values: Float64Array.from(values),
    });
    await store.metrics.appendMetrics(run.pk, { writer: 'w', seq: 0 }, [pointsAt([5, 9])], CLOCK);
    await store.metrics.appendMetrics(run.pk, { writer: 'w', seq: 1 }, [stepless([1, 2])], CLOCK);
    await store.metrics.appendMetrics(
      run.pk,
      { writer: 'w', seq: 2 },
      [stepless([3], Float64Array.of(2.5))],
      CLOCK,
    );
    const series = await seriesOf(run, 'm');
    const blocks = await store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(joined(blocks, 'steps')).toEqual([5, 9, 10, 11, 12]);
    expect(joined(blocks, 'timestamps')).toEqual([1_005_000, 1_009_000, 5_000_000, 5_000_000, 3_500_000]);
    expect(joined(blocks, 'times')).toEqual([0.5, 0.9, 4, 4, 2.5]);
  });

  it('merges a series trickled in 2100 one-point appends into few blocks, complete and in order', async () => {
    const run = await newRun();
    const n = 2100;
    for (let i = 0; i < n; i++) {
      await store.metrics.appendMetrics(run.pk, { writer: 'w', seq: i }, [pointsAt([i], 'trickle')], CLOCK);
    }
    const series = await seriesOf(run, 'trickle');
    expect(series.count).toBe(n);
    const blocks = await store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(blocks.map((b) => b.values.length)).toEqual([MERGE_BELOW, MERGE_BELOW, n - 2 * MERGE_BELOW]);
    expect(joined(blocks, 'steps')).toEqual(range(0, n));
    expect(joined(blocks, 'values')).toEqual(range(0, n).map((x) => x * 0.5 - 3));
    expect(joined(blocks, 'timestamps')).toEqual(range(0, n).map((x) => 1_000_000 + x * 1000));
    const middle = await store.metrics.readBlocks(series.pk, 'step', 1500, 1600);
    expect(middle.map((b) => [b.steps[0], b.values.length])).toEqual([[MERGE_BELOW, MERGE_BELOW]]);
  });

  it('splits a 40000-point append into blocks of at most BLOCK_POINTS', async () => {
    const run = await newRun();
    const n = 40_000;
    expect(
      await store.metrics.appendMetrics(
        run.pk,
        { writer: 'w', seq: 0 },
        [pointsAt(range(0, n), 'big')],
        CLOCK,
      ),
    ).toBe(true);
    const series = await seriesOf(run, 'big');
    expect(series).toMatchObject({ count: n, lastStep: n - 1, minValue: -3, maxValue: (n - 1) * 0.5 - 3 });
    const blocks = await store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(blocks.map((b) => b.values.length)).toEqual([BLOCK_POINTS, BLOCK_POINTS, n - 2 * BLOCK_POINTS]);
    expect(joined(blocks, 'steps')).toEqual(range(0, n));
    expect(joined(blocks, 'times')).toEqual(range(0, n).map((x) => x / 10));
    const tail = await store.metrics.readBlocks(series.pk, 'step', 2 * BLOCK_POINTS, Infinity);
    expect(tail.map((b) => b.steps[0])).toEqual([2 * BLOCK_POINTS]);
  });

  it('keeps every point exactly once when batches for one series are appended concurrently', async () => {
    const run = await newRun();
    const batches = 8;
    const results = await Promise.all(
      range(0, batches).map((b) =>
        store.metrics.appendMetrics(
          run.pk,
          { writer: `w${b}`, seq: 0 },
          [pointsAt(range(b * 1000, 1000), 'shared')],
          CLOCK,
        ),
      ),
    );
    expect(results).toEqual(Array(batches).fill(true));
    const series = await seriesOf(run, 'shared');
    expect(series).toMatchObject({
      count: batches * 1000,
      minValue: -3,
      maxValue: (batches * 1000 - 1) * 0.5 - 3,
    });
    const blocks = await store.metrics.readBlocks(series.pk, 'step', -Infinity, Infinity);
    expect(joined(blocks, 'steps').sort((a, b) => a - b)).toEqual(range(0, batches * 1000));
  });

  it('deletes a run with its series, blocks and events, and leaves other runs alone', async () => {
    const gone = await newRun();
    const kept = await newRun(gone.workspaceId);
    for (const run of [gone, kept]) {
      await store.metrics.appendMetrics(
        run.pk,
        { writer: 'w', seq: 0 },
        [pointsAt(range(0, 20), 'a'), pointsAt(range(0, 20), 'b')],
        CLOCK,
      );
      await store.events.appendEvents(run.pk, { writer: 'w', seq: 0 }, [
        { timestamp: 10, level: 'info', message: 'start' },
        { timestamp: 20, level: 'error', message: 'boom' },
      ]);
    }
    const goneSeries = await store.metrics.listSeries(gone.pk);
    expect(goneSeries.map((s) => [s.name, s.count])).toEqual([
      ['a', 20],
      ['b', 20],
    ]);
    for (const s of goneSeries)
      expect(await store.metrics.readBlocks(s.pk, 'step', -Infinity, Infinity)).toHaveLength(1);
    expect(await store.events.listEvents(gone.pk, EVENT_QUERY)).toHaveLength(2);

    expect(await store.runs.deleteRun(gone.workspaceId, gone.pk)).toBe(true);
    expect(await store.runs.getRun(gone.workspaceId, gone.id)).toBeUndefined();
    expect(await store.metrics.listSeries(gone.pk)).toEqual([]);
    for (const s of goneSeries)
      expect(await store.metrics.readBlocks(s.pk, 'step', -Infinity, Infinity)).toEqual([]);
    expect(await store.events.listEvents(gone.pk, EVENT_QUERY)).toEqual([]);
    expect(await store.runs.deleteRun(gone.workspaceId, gone.pk)).toBe(false);

    const keptSeries = await store.metrics.listSeries(kept.pk);
    expect(keptSeries.map((s) => [s.name, s.count])).toEqual([
      ['a', 20],
      ['b', 20],
    ]);
    const keptBlocks = await store.metrics.readBlocks(keptSeries[0]!.pk, 'step', -Infinity, Infinity);
    expect(joined(keptBlocks, 'steps')).toEqual(range(0, 20));
    expect((await store.events.listEvents(kept.pk, EVENT_QUERY)).map((e) => e.message)).toEqual([
      'start',
      'boom',
    ]);
  });
});
