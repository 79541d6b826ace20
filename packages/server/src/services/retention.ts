import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type RetentionRuleView, type retentionRuleCreateSchema, SimscopeError } from '@simscope/protocol';
import type { z } from 'zod';
import type { Points } from '../store/metric-store.js';
import type { RetentionRuleRecord } from '../store/retention-store.js';
import type { Store } from '../store/store.js';
import { newId } from './auth-service.js';
import type { DomainEvents } from './domain-events.js';

const DAY_MICROS = 86_400_000_000;
/** Runs taken per query, and blocks read per slice, so that a pass over a large store never holds much at once. */
const RUNS_PER_QUERY = 100;
const BLOCKS_PER_SLICE = 16;

/** What a retention pass needs. */
export interface RetentionDeps {
  store: Store;
  now(): number;
  /** Told of each run deleted, so live pages drop it. */
  bus?: DomainEvents;
  /** Told of each run deleted or downsampled (metrics). */
  onRun?(action: 'delete' | 'downsample', runId: string): void;
}

/** What one pass did. */
export interface RetentionReport {
  deleted: number;
  downsampled: number;
}

/** A point of a series as M4 keeps it. */
interface Kept {
  step: number;
  time: number;
  timestamp: number;
  value: number;
}

/**
 * The points M4 keeps of a series in `buckets` equal-width step buckets: in each, the first and last point and the
 * points of least and greatest value (NaN values are never a minimum or maximum). Reads the series in slices of
 * blocks, yielding to the event loop between them.
 */
async function m4Points(store: Store, seriesPk: number, buckets: number): Promise<Points> {
  const range = await store.metrics.axisRange(seriesPk, 'step');
  const empty = new Float64Array(0);
  if (range === null) return { steps: empty, times: empty, timestamps: empty, values: empty };
  const [lo, hi] = range;
  const width = (hi - lo) / buckets;
  const first: (Kept | undefined)[] = [];
  const last: (Kept | undefined)[] = [];
  const min: (Kept | undefined)[] = [];
  const max: (Kept | undefined)[] = [];
  const index = await store.metrics.blockIndex(seriesPk, 'step', lo, Number.POSITIVE_INFINITY);
  for (let start = 0; start < index.length; start += BLOCKS_PER_SLICE) {
    const pks = index.slice(start, start + BLOCKS_PER_SLICE).map((b) => b.pk);
    for (const block of await store.metrics.readBlocksByPk(pks)) {
      for (let i = 0; i < block.values.length; i++) {
        const p: Kept = {
          step: block.steps[i] ?? Number.NaN,
          time: block.times[i] ?? Number.NaN,
          timestamp: block.timestamps[i] ?? Number.NaN,
          value: block.values[i] ?? Number.NaN,
        };
        const b = width > 0 ? Math.min(buckets - 1, Math.floor((p.step - lo) / width)) : 0;
        const [f, l, low, high] = [first[b], last[b], min[b], max[b]];
        if (f === undefined || p.step < f.step) first[b] = p;
        if (l === undefined || p.step >= l.step) last[b] = p;
        if (!Number.isNaN(p.value)) {
          if (low === undefined || p.value < low.value) min[b] = p;
          if (high === undefined || p.value > high.value) max[b] = p;
        }
      }
    }
    await yieldToLoop();
  }
  const kept = new Set<Kept>();
  for (let b = 0; b < buckets; b++) {
    for (const p of [first[b], min[b], max[b], last[b]]) if (p) kept.add(p);
  }
  const points = [...kept].sort((a, b) => a.step - b.step);
  return {
    steps: Float64Array.from(points, (p) => p.step),
    times: Float64Array.from(points, (p) => p.time),
    timestamps: Float64Array.from(points, (p) => p.timestamp),
    values: Float64Array.from(points, (p) => p.value),
  };
}

async function deleteRuns(deps: RetentionDeps, rule: RetentionRuleRecord, before: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const runs = await deps.store.retention.expiredRuns(rule, before, RUNS_PER_QUERY);
    for (const run of runs) {
      if (await deps.store.runs.deleteRun(run.workspaceId, run.pk)) {
        deleted++;
        deps.bus?.publish({ type: 'run.deleted', workspaceId: run.workspaceId, runId: run.id });
        deps.onRun?.('delete', run.id);
      }
    }
    if (runs.length < RUNS_PER_QUERY) return deleted;
    await yieldToLoop();
  }
}

async function downsampleRuns(
  deps: RetentionDeps,
  rule: RetentionRuleRecord,
  before: number,
): Promise<number> {
  const buckets = rule.buckets;
  if (buckets === null) throw new Error(`retention rule ${rule.id} downsamples but has no bucket count`);
  let done = 0;
  for (;;) {
    const runs = await deps.store.retention.expiredRuns(rule, before, RUNS_PER_QUERY);
    for (const run of runs) {
      for (const series of await deps.store.metrics.listSeries(run.pk)) {
        // M4 keeps at most 4 points a bucket: a series already that small stays as it is.
        if (series.count <= 4 * buckets) continue;
        await deps.store.metrics.replaceSeries(series.pk, await m4Points(deps.store, series.pk, buckets));
      }
      await deps.store.retention.markDownsampled(run.pk, buckets, deps.now());
      done++;
      deps.onRun?.('downsample', run.id);
    }
    if (runs.length < RUNS_PER_QUERY) return done;
  }
}

/**
 * One pass of every workspace's retention rules: runs (not running) last active more than the rule's days ago are
 * deleted, or have each series replaced by its M4 downsampling to at most `buckets` buckets (once per run). Safe to
 * run in several processes at once, but meant to run in one: schedule it under the `retention` lease.
 */
export async function applyRetention(deps: RetentionDeps): Promise<RetentionReport> {
  const report: RetentionReport = { deleted: 0, downsampled: 0 };
  for (const rule of await deps.store.retention.listRules()) {
    const before = deps.now() - rule.olderThanDays * DAY_MICROS;
    if (rule.action === 'delete') report.deleted += await deleteRuns(deps, rule, before);
    else report.downsampled += await downsampleRuns(deps, rule, before);
  }
  return report;
}

function ruleView(rule: RetentionRuleRecord): RetentionRuleView {
  return {
    id: rule.id,
    workspace: rule.workspaceId,
    folder: rule.folder,
    action: rule.action,
    olderThanDays: rule.olderThanDays,
    buckets: rule.buckets,
    created: rule.createdAt,
  };
}

/** The admin side of retention rules: a workspace's rules, by workspace id or name. */
export class RetentionService {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  async #workspaceId(idOrName: string): Promise<string> {
    const ws = await this.#store.identity.getWorkspace(idOrName);
    if (!ws) throw new SimscopeError('not_found', `workspace '${idOrName}' not found`);
    return ws.id;
  }

  async list(workspace: string): Promise<RetentionRuleView[]> {
    return (await this.#store.retention.listRules(await this.#workspaceId(workspace))).map(ruleView);
  }

  async create(
    workspace: string,
    body: z.output<typeof retentionRuleCreateSchema>,
  ): Promise<RetentionRuleView> {
    const folder = body.folder === undefined ? null : body.folder.replace(/\/+$/, '');
    const rule = await this.#store.retention.createRule({
      id: newId(),
      workspaceId: await this.#workspaceId(workspace),
      folder: folder === '' ? null : folder,
      action: body.action,
      olderThanDays: body.olderThanDays,
      buckets: body.buckets ?? null,
      createdAt: this.#now(),
    });
    return ruleView(rule);
  }

  async delete(workspace: string, id: string): Promise<void> {
    if (!(await this.#store.retention.deleteRule(await this.#workspaceId(workspace), id))) {
      throw new SimscopeError('not_found', `retention rule '${id}' not found`);
    }
  }
}
