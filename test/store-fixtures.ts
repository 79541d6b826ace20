import type { MetricSeries } from '@simscope/protocol';
import { afterEach, beforeEach } from 'vitest';
import type { Block, Points } from '../packages/server/src/store/metric-store.js';
import type { NewRun, RunRecord } from '../packages/server/src/store/run-store.js';
import type { Store } from '../packages/server/src/store/store.js';
import { type Backend, openTestStore } from './fixtures.js';

/** A fresh store for each test of a `describe.each(BACKENDS)` block, with helpers that make its data. */
export function useTestStore(backend: Backend) {
  let made = 0;
  const t = {
    store: undefined as unknown as Store,
    /** A workspace of its own (unless one is named) holding a new running run; `fields` override the defaults. */
    async newRun(workspaceId?: string, fields: Partial<NewRun> = {}): Promise<RunRecord> {
      const ws = workspaceId ?? (await t.newWorkspace());
      const n = ++made;
      return t.store.runs.createRun({
        id: `run-${n}`,
        workspaceId: ws,
        name: `run-${n}`,
        folder: '/',
        userId: 'u',
        description: null,
        tags: [],
        metadata: {},
        system: {},
        status: 'running',
        createdAt: 1_000_000 + n,
        startedAt: 1_000_000,
        heartbeatAt: 1_000_000,
        heartbeatTimeout: null,
        ...fields,
      });
    },
    async newWorkspace(): Promise<string> {
      const ws = `ws-${++made}`;
      await t.store.identity.createWorkspace({ id: ws, name: ws, createdAt: 1 });
      return ws;
    },
  };
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store: t.store, cleanup } = await openTestStore(backend));
  });
  afterEach(async () => {
    await cleanup();
  });
  return t;
}

/** A series with the given steps; value, time and timestamp follow from the step. */
export function pointsAt(steps: readonly number[], name = 'm'): MetricSeries {
  const s = Float64Array.from(steps);
  return {
    name,
    steps: s,
    times: s.map((x) => x / 10),
    timestamps: s.map((x) => 1_000_000 + x * 1000),
    values: s.map((x) => x * 0.5 - 3),
  };
}

export const CLOCK = { startedAt: 1_000_000, now: 5_000_000 };

export const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** One column of blocks, joined in order. */
export function joined(blocks: readonly Block[], column: Exclude<keyof Points, 'timeOrigin'>): number[] {
  return blocks.flatMap((b) => Array.from(b[column]));
}

export const EVENT_QUERY = {
  search: null,
  levels: null,
  from: null,
  to: null,
  after: null,
  limit: 1000,
  descending: false,
};
