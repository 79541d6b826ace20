import {
  type downsampleRunsSchema,
  type JsonNumber,
  jsonNumber,
  type MetricBatch,
  type SeriesAxis,
  type SeriesView,
  SimscopeError,
} from '@simscope/protocol';
import type { z } from 'zod';
import type { ReadOptions } from '../store/metric-store.js';
import type { BlockColumn, BlockIndexEntry, RunRecord, SeriesRecord } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, encodeCursor, pageOf } from './cursor.js';
import { type Buckets, M4Buckets, readSeriesPage, type SeriesPage } from './series-reader.js';
import { TimeSlicer } from './time-slice.js';
import { correctTimestamps, WriterClocks } from './writer-clocks.js';

const jsonOrNull = (v: number | null): JsonNumber | null => (v === null ? null : jsonNumber(v));

function seriesView(s: SeriesRecord): SeriesView {
  return {
    name: s.name,
    count: s.count,
    last: { step: s.lastStep, time: s.lastTime, timestamp: s.lastTimestamp, value: jsonOrNull(s.lastValue) },
    min: jsonOrNull(s.minValue),
    max: jsonOrNull(s.maxValue),
  };
}

import type { SeriesColumn } from '@simscope/protocol';
import { NotFoundError } from './errors.js';

export type { SeriesColumn } from '@simscope/protocol';

/** `GET /runs/:run/metrics/series`, as the route's query schema gives it. */
export interface SeriesQuery {
  name?: string;
  columns: SeriesColumn[];
  from: number | null;
  to: number | null;
  limit: number;
  next?: string;
  /** Also points that a later segment's rewind superseded. */
  includeSuperseded?: boolean;
}

/** `GET /runs/:run/metrics`, as the route's query schema gives it. */
export interface MetricNameQuery {
  name: string | null;
  prefix: string | null;
  q: string | null;
  regex?: string;
  limit: number;
  next?: string;
}

/** `GET /runs/:run/metrics/downsample`, as the route's query schema gives it. */
export interface DownsampleQuery {
  name?: string;
  x: SeriesAxis;
  buckets: number;
  from: number | null;
  to: number | null;
  includeSuperseded?: boolean;
}

interface RunError {
  code: 'not_found';
  message: string;
}

/** One metric of many runs on one grid; each run's buckets, or why it has none, in the order asked. */
export interface DownsampledRuns {
  name: string;
  axis: SeriesAxis;
  from: number;
  to: number;
  runs: ({ run: string; buckets: Buckets } | { run: string; error: RunError })[];
}

/** Points one downsampling request may scan unless the server is told otherwise (`max_scan_points`). */
export const DEFAULT_MAX_SCAN_POINTS = 10_000_000;

/** Blocks (16,384 points each at most) decoded and scanned between two looks at the clock. */
const SLICE_BLOCKS = 8;

export interface MetricServiceOptions {
  /** Points one downsampling request may scan, counted from the block index before reading (default 10 M). */
  maxScanPoints?: number;
}

const figure = (n: number) => n.toLocaleString('en-US');

/** Metric ingest and reads: full-fidelity pages by step and M4 downsampling on any x axis. */
export class MetricService {
  readonly #clocks: WriterClocks;
  readonly #maxScanPoints: number;

  constructor(clocks: WriterClocks = new WriterClocks(), options: MetricServiceOptions = {}) {
    this.#clocks = clocks;
    this.#maxScanPoints = options.maxScanPoints ?? DEFAULT_MAX_SCAN_POINTS;
  }

  /**
   * Stores a checked batch once, its timestamps shifted by its writer's clock offset; returns how many points
   * were new (0 for a replay).
   */
  async ingest(
    ctx: ServiceContext,
    run: RunRecord,
    batch: MetricBatch,
  ): Promise<{ stored: boolean; points: number }> {
    const offset = await this.#clocks.offset(ctx, run, batch.writer, batch.clock);
    const now = ctx.now();
    correctTimestamps(batch.series, offset, now);
    const startedAt = run.startedAt ?? run.createdAt;
    const series = batch.series.filter((s) => s.values.length > 0);
    const stored = await ctx.store.metrics.appendMetrics(run.pk, batch, series, {
      startedAt,
      now,
      segment: run.segment,
    });
    let points = 0;
    for (const s of batch.series) points += s.values.length;
    if (stored) {
      const names = [...new Set(series.map((s) => s.name))];
      ctx.bus.publish({
        type: 'metrics.appended',
        workspaceId: run.workspaceId,
        runId: run.id,
        names,
        points,
      });
    }
    return { stored, points: stored ? points : 0 };
  }

  /** A page of a run's metrics in name order, by exact name, prefix, text or regular expression. */
  async names(
    ctx: ServiceContext,
    run: RunRecord,
    query: MetricNameQuery,
  ): Promise<{ items: SeriesView[]; next: string | null }> {
    const limit = query.limit;
    let after: string | null = null;
    if (query.next) {
      [after] = decodeCursor(query.next, ['string']);
    }
    const rows = await ctx.store.metrics.listSeries(run.pk, {
      name: query.name,
      prefix: query.prefix,
      search: query.q,
      regex: query.regex ?? null,
      after,
      limit: limit + 1,
    });
    return pageOf(rows, limit, seriesView, (last) => [last.name]);
  }

  async #series(ctx: ServiceContext, run: RunRecord, name: string | undefined): Promise<SeriesRecord> {
    if (!name) throw new SimscopeError('invalid_field', 'query.name: the metric name is required');
    const series = await ctx.store.metrics.getSeries(run.pk, name);
    if (!series) throw new NotFoundError('run', run.name, `has no metric '${name}'`);
    return series;
  }

  /** Points by step range at full fidelity, cursor-paged. */
  async series(
    ctx: ServiceContext,
    run: RunRecord,
    query: SeriesQuery,
  ): Promise<{ name: string; page: SeriesPage; next: string | null; columns: SeriesColumn[] }> {
    const series = await this.#series(ctx, run, query.name);
    const { columns, limit } = query;
    const from = query.from ?? -Infinity;
    const to = query.to ?? Infinity;
    let after: SeriesPage['next'] = null;
    if (query.next) {
      const [step, block, index] = decodeCursor(query.next, ['integer', 'integer', 'integer']);
      after = { step, block, index };
    }
    const read = new Set<BlockColumn>(['steps', 'values']);
    if (columns.includes('time')) read.add('times');
    if (columns.includes('timestamp')) read.add('timestamps');
    const start = after ? Math.max(from, after.step) : from;
    const options = { superseded: query.includeSuperseded === true };
    const end = await this.#pageEnd(ctx, series, start, after !== null, to, limit, options);
    const blocks = await ctx.store.metrics.readBlocks(series.pk, 'step', start, end, [...read], options);
    const page = readSeriesPage(blocks, from, end, after, limit);
    const next = page.next ? encodeCursor([page.next.step, page.next.block, page.next.index]) : null;
    return { name: series.name, page, next, columns };
  }

  /**
   * Where a page's read may stop short of `to`: just past the first blocks that certainly hold more than `limit`
   * points after `start`, so that a page near the start of a long series reads its first blocks, not all of them.
   */
  async #pageEnd(
    ctx: ServiceContext,
    series: SeriesRecord,
    start: number,
    afterStart: boolean,
    to: number,
    limit: number,
    options: ReadOptions,
  ): Promise<number> {
    const index = await ctx.store.metrics.blockIndex(series.pk, 'step', start, to, options);
    let certain = 0;
    let hi = -Infinity;
    for (const block of index) {
      hi = Math.max(hi, block.hi);
      // A block that begins after the start holds only points of the page or later ones.
      if (afterStart ? block.lo > start : block.lo >= start) certain += block.points;
      if (certain > limit)
        return Math.min(to, hi + Math.max(Math.abs(hi) * Number.EPSILON, Number.MIN_VALUE));
    }
    return to;
  }

  /** The series over `[from, to)` of the x axis in `buckets` equal-width M4 buckets. */
  async downsample(
    ctx: ServiceContext,
    run: RunRecord,
    query: DownsampleQuery,
  ): Promise<Buckets & { name: string }> {
    const series = await this.#series(ctx, run, query.name);
    const { x: axis, buckets } = query;
    const slicer = new TimeSlicer();
    const grid = await this.#grid(ctx, [series], axis, slicer, {
      from: query.from,
      to: query.to,
      buckets,
    });
    const options = { superseded: query.includeSuperseded === true };
    const refuse = (points: number) =>
      this.#tooMany('query.from', `'${series.name}' of run '${run.name}'`, points, 'a narrower from and to');
    const [index] = await this.#scanIndex(ctx, [series], axis, grid, slicer, refuse, options);
    if (!index) throw new Error(`no block index for '${series.name}'`);
    const m4 = await this.#downsampleSeries(ctx, series, axis, grid, index, slicer, options);
    return { name: series.name, ...m4 };
  }

  /**
   * One metric of many runs in M4 buckets on one grid, so that their columns line up on a chart: `[from, to)`
   * defaults to the span of all of them. A run that is not found, or lacks the metric, gets an error in its place.
   */
  async downsampleRuns(
    ctx: ServiceContext,
    body: z.output<typeof downsampleRunsSchema>,
  ): Promise<DownsampledRuns> {
    const input = body;
    const axis = input.x ?? 'step';
    const slicer = new TimeSlicer();
    const found: (SeriesRecord | RunError)[] = [];
    const named = new Map<number, string>();
    for (const id of input.runs) {
      await slicer.pause();
      const run = await ctx.store.runs.getRun(ctx.auth.workspace.id, id);
      const before = run && named.get(run.pk);
      if (run && before !== undefined) {
        throw new SimscopeError('invalid_field', `body.runs: '${id}' and '${before}' name the same run`);
      }
      if (run) named.set(run.pk, id);
      const series = run && (await ctx.store.metrics.getSeries(run.pk, input.name));
      found.push(
        series ??
          (run
            ? { code: 'not_found', message: `run '${run.name}' has no metric '${input.name}'` }
            : { code: 'not_found', message: `run '${id}' not found` }),
      );
    }
    const present = found.filter((f): f is SeriesRecord => !('code' in f));
    const grid = await this.#grid(ctx, present, axis, slicer, {
      from: input.from ?? null,
      to: input.to ?? null,
      buckets: input.buckets ?? 1000,
    });
    const indexes = await this.#scanIndex(ctx, present, axis, grid, slicer, (points) =>
      this.#tooMany(
        'body.runs',
        `'${input.name}' of these runs`,
        points,
        'fewer runs or a narrower from and to',
      ),
    );
    const runs: DownsampledRuns['runs'] = [];
    let next = 0;
    for (const [i, f] of found.entries()) {
      const run = input.runs[i] ?? '';
      const index = 'code' in f ? undefined : indexes[next++];
      if ('code' in f) runs.push({ run, error: f });
      else if (!index) throw new Error(`no block index for '${f.name}'`);
      else runs.push({ run, buckets: await this.#downsampleSeries(ctx, f, axis, grid, index, slicer) });
    }
    return { name: input.name, axis, from: grid.from, to: grid.to, runs };
  }

  /** `from` and `to` where given; otherwise the span of the series' points on the axis. */
  async #grid(
    ctx: ServiceContext,
    series: readonly SeriesRecord[],
    axis: SeriesAxis,
    slicer: TimeSlicer,
    given: { from: number | null; to: number | null; buckets: number },
  ): Promise<{ from: number; to: number; buckets: number }> {
    let { from, to } = given;
    if (from === null || to === null) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const s of series) {
        await slicer.pause();
        const range = await ctx.store.metrics.axisRange(s.pk, axis);
        if (!range) continue;
        lo = Math.min(lo, range[0]);
        hi = Math.max(hi, range[1]);
      }
      from ??= lo === Infinity ? 0 : lo;
      // `to` is exclusive: just past the last point so that it falls in the last bucket.
      to ??=
        hi === -Infinity
          ? from + 1
          : hi + Math.max(Math.abs(hi) * Number.EPSILON * 4, (hi - from) / given.buckets / 1e6, 1e-9);
    }
    if (!(to > from))
      throw new SimscopeError('invalid_field', `query.to: must be greater than from (${from})`);
    return { from, to, buckets: given.buckets };
  }

  /**
   * Each series' blocks over the grid from the block index, before any is read; `refuse` makes the error when
   * they hold more points than one request may scan. Overlapping blocks count whole: an upper bound.
   */
  async #scanIndex(
    ctx: ServiceContext,
    series: readonly SeriesRecord[],
    axis: SeriesAxis,
    grid: { from: number; to: number },
    slicer: TimeSlicer,
    refuse: (points: number) => SimscopeError,
    options: ReadOptions = {},
  ): Promise<BlockIndexEntry[][]> {
    const indexes: BlockIndexEntry[][] = [];
    let points = 0;
    for (const s of series) {
      await slicer.pause();
      const index = await ctx.store.metrics.blockIndex(s.pk, axis, grid.from, grid.to, options);
      for (const block of index) points += block.points;
      indexes.push(index);
    }
    if (points > this.#maxScanPoints) throw refuse(points);
    return indexes;
  }

  #tooMany(field: string, what: string, points: number, instead: string): SimscopeError {
    return new SimscopeError(
      'invalid_field',
      `${field}: ${what} holds ${figure(points)} points in [from, to); one request may scan at most ${figure(this.#maxScanPoints)} (the server's max_scan_points): ask for ${instead}`,
      { details: { points, maxScanPoints: this.#maxScanPoints } },
    );
  }

  /** M4 over the blocks of `index`, read and scanned a few at a time with pauses for other work between. */
  async #downsampleSeries(
    ctx: ServiceContext,
    series: SeriesRecord,
    axis: SeriesAxis,
    grid: { from: number; to: number; buckets: number },
    index: readonly BlockIndexEntry[],
    slicer: TimeSlicer,
    options: ReadOptions = {},
  ): Promise<Buckets> {
    const column = axis === 'step' ? 'steps' : axis === 'time' ? 'times' : 'timestamps';
    for (let attempt = 1; ; attempt++) {
      const m4 = new M4Buckets(axis, grid.from, grid.to, grid.buckets);
      let missing = false;
      for (let start = 0; start < index.length; start += SLICE_BLOCKS) {
        await slicer.pause();
        const pks = index.slice(start, start + SLICE_BLOCKS).map((b) => b.pk);
        const blocks = await ctx.store.metrics.readBlocksByPk(pks, [column], options);
        missing ||= blocks.length < pks.length;
        for (const block of blocks) m4.add(block);
      }
      // A block merged into a new one by an append since the index was read: read the index again.
      if (!missing || attempt === 3) return m4.finish();
      await slicer.pause();
      index = await ctx.store.metrics.blockIndex(series.pk, axis, grid.from, grid.to, options);
    }
  }
}
