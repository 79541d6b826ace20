import {
  downsampleRunsSchema,
  type JsonNumber,
  jsonNumber,
  LIMITS,
  type MetricBatch,
  parseInput,
  regexSchema,
  SERIES_AXES,
  type SeriesAxis,
  type SeriesView,
  SimscopeError,
} from '@simscope/protocol';
import type { BlockColumn, RunRecord, SeriesRecord } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, encodeCursor, pageOf } from './cursor.js';
import { parseLimit } from './run-service.js';
import { type Buckets, downsample, readSeriesPage, type SeriesPage } from './series-reader.js';
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

function parseNumber(value: string | undefined, field: string): number | null {
  if (value === undefined || value === '') return null;
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new SimscopeError('invalid_field', `query.${field}: expected a number, got '${value}'`);
  return n;
}

function parseAxis(value: string | undefined): SeriesAxis {
  const axis = (value ?? 'step') as SeriesAxis;
  if (!SERIES_AXES.includes(axis)) {
    throw new SimscopeError(
      'invalid_field',
      `query.x: must be one of ${SERIES_AXES.join(', ')}, got '${value}'`,
    );
  }
  return axis;
}

/** Columns a series read can return. */
export const SERIES_COLUMNS = ['step', 'time', 'timestamp', 'value'] as const;
export type SeriesColumn = (typeof SERIES_COLUMNS)[number];

function parseColumns(value: string | undefined): SeriesColumn[] {
  if (!value) return [...SERIES_COLUMNS];
  const columns = value.split(',').map((c) => c.trim()) as SeriesColumn[];
  const bad = columns.find((c) => !SERIES_COLUMNS.includes(c));
  if (bad !== undefined) {
    throw new SimscopeError(
      'invalid_field',
      `query.columns: unknown column '${bad}'; use ${SERIES_COLUMNS.join(', ')}`,
    );
  }
  return columns;
}

export interface SeriesQuery {
  columns?: string;
  name?: string;
  from?: string;
  to?: string;
  limit?: string;
  next?: string;
}

export interface MetricNameQuery {
  name?: string;
  prefix?: string;
  q?: string;
  regex?: string;
  limit?: string;
  next?: string;
}

export interface DownsampleQuery {
  name?: string;
  x?: string;
  from?: string;
  to?: string;
  buckets?: string;
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

/** Metric ingest and reads: full-fidelity pages by step and M4 downsampling on any x axis. */
export class MetricService {
  readonly #clocks: WriterClocks;

  constructor(clocks: WriterClocks = new WriterClocks()) {
    this.#clocks = clocks;
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
    const stored = await ctx.store.appendMetrics(run.pk, batch, series, { startedAt, now });
    let points = 0;
    for (const s of batch.series) points += s.values.length;
    return { stored, points: stored ? points : 0 };
  }

  /** A page of a run's metrics in name order, by exact name, prefix, text or regular expression. */
  async names(
    ctx: ServiceContext,
    run: RunRecord,
    query: MetricNameQuery,
  ): Promise<{ items: SeriesView[]; next: string | null }> {
    const limit = parseLimit(query.limit, LIMITS.pageSize, LIMITS.pageSize);
    if (query.regex) parseInput(regexSchema, query.regex, 'query.regex');
    let after: string | null = null;
    if (query.next) {
      [after] = decodeCursor(query.next, ['string']);
    }
    const rows = await ctx.store.listSeries(run.pk, {
      name: query.name || null,
      prefix: query.prefix || null,
      search: query.q || null,
      regex: query.regex || null,
      after,
      limit: limit + 1,
    });
    return pageOf(rows, limit, seriesView, (last) => [last.name]);
  }

  async #series(ctx: ServiceContext, run: RunRecord, name: string | undefined): Promise<SeriesRecord> {
    if (!name) throw new SimscopeError('invalid_field', 'query.name: the metric name is required');
    const series = await ctx.store.getSeries(run.pk, name);
    if (!series) throw new SimscopeError('not_found', `run '${run.name}' has no metric '${name}'`);
    return series;
  }

  /** Points by step range at full fidelity, cursor-paged. */
  async series(
    ctx: ServiceContext,
    run: RunRecord,
    query: SeriesQuery,
  ): Promise<{ name: string; page: SeriesPage; next: string | null; columns: SeriesColumn[] }> {
    const series = await this.#series(ctx, run, query.name);
    const columns = parseColumns(query.columns);
    const from = parseNumber(query.from, 'from') ?? -Infinity;
    const to = parseNumber(query.to, 'to') ?? Infinity;
    const limit = parseLimit(query.limit, LIMITS.seriesPageSize, LIMITS.seriesPageSize);
    let after: SeriesPage['next'] = null;
    if (query.next) {
      const [step, block, index] = decodeCursor(query.next, ['integer', 'integer', 'integer']);
      after = { step, block, index };
    }
    const read = new Set<BlockColumn>(['steps', 'values']);
    if (columns.includes('time')) read.add('times');
    if (columns.includes('timestamp')) read.add('timestamps');
    const start = after ? Math.max(from, after.step) : from;
    const blocks = await ctx.store.readBlocks(series.pk, 'step', start, to, [...read]);
    const page = readSeriesPage(blocks, from, to, after, limit);
    const next = page.next ? encodeCursor([page.next.step, page.next.block, page.next.index]) : null;
    return { name: series.name, page, next, columns };
  }

  /** The series over `[from, to)` of the x axis in `buckets` equal-width M4 buckets. */
  async downsample(
    ctx: ServiceContext,
    run: RunRecord,
    query: DownsampleQuery,
  ): Promise<Buckets & { name: string }> {
    const series = await this.#series(ctx, run, query.name);
    const axis = parseAxis(query.x);
    const buckets = parseLimit(query.buckets, 1000, LIMITS.downsampleBuckets);
    const grid = await this.#grid(ctx, [series], axis, {
      from: parseNumber(query.from, 'from'),
      to: parseNumber(query.to, 'to'),
      buckets,
    });
    return { name: series.name, ...(await this.#downsampleSeries(ctx, series, axis, grid)) };
  }

  /**
   * One metric of many runs in M4 buckets on one grid, so that their columns line up on a chart: `[from, to)`
   * defaults to the span of all of them. A run that is not found, or lacks the metric, gets an error in its place.
   */
  async downsampleRuns(ctx: ServiceContext, body: unknown): Promise<DownsampledRuns> {
    const input = parseInput(downsampleRunsSchema, body ?? {});
    const axis = input.x ?? 'step';
    const found: (SeriesRecord | RunError)[] = [];
    for (const id of input.runs) {
      const run = await ctx.store.getRun(ctx.auth.workspace.id, id);
      const series = run && (await ctx.store.getSeries(run.pk, input.name));
      found.push(
        series ??
          (run
            ? { code: 'not_found', message: `run '${run.name}' has no metric '${input.name}'` }
            : { code: 'not_found', message: `run '${id}' not found` }),
      );
    }
    const present = found.filter((f): f is SeriesRecord => !('code' in f));
    const grid = await this.#grid(ctx, present, axis, {
      from: input.from ?? null,
      to: input.to ?? null,
      buckets: input.buckets ?? 1000,
    });
    const runs: DownsampledRuns['runs'] = [];
    for (const [i, f] of found.entries()) {
      const run = input.runs[i]!;
      runs.push(
        'code' in f ? { run, error: f } : { run, buckets: await this.#downsampleSeries(ctx, f, axis, grid) },
      );
    }
    return { name: input.name, axis, from: grid.from, to: grid.to, runs };
  }

  /** `from` and `to` where given; otherwise the span of the series' points on the axis. */
  async #grid(
    ctx: ServiceContext,
    series: readonly SeriesRecord[],
    axis: SeriesAxis,
    given: { from: number | null; to: number | null; buckets: number },
  ): Promise<{ from: number; to: number; buckets: number }> {
    let { from, to } = given;
    if (from === null || to === null) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const s of series) {
        const range = await ctx.store.axisRange(s.pk, axis);
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

  async #downsampleSeries(
    ctx: ServiceContext,
    series: SeriesRecord,
    axis: SeriesAxis,
    grid: { from: number; to: number; buckets: number },
  ): Promise<Buckets> {
    const column = axis === 'step' ? 'steps' : axis === 'time' ? 'times' : 'timestamps';
    const blocks = await ctx.store.readBlocks(series.pk, axis, grid.from, grid.to, [column]);
    return downsample(blocks, axis, grid.from, grid.to, grid.buckets);
  }
}
