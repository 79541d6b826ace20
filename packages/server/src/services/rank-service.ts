import {
  jsonNumber,
  type RankedMetricView,
  type RankSeriesView,
  SimscopeError,
  type StragglerView,
} from '@simscope/protocol';
import type { RunRecord, SeriesRecord } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { NotFoundError } from './errors.js';
import { readSeriesPage } from './series-reader.js';
import { TimeSlicer } from './time-slice.js';

const RANK_SUFFIX = /^(.*)@rank=(\d+)$/;
/** Ranks one request reads at most. */
const MAX_RANKS = 4096;
/** Points one page reads over all its ranks at most: a page of many ranks has fewer steps. */
const MAX_PAGE_POINTS = 4_000_000;

/** `GET /runs/:run/ranks/series`, as the route's query schema gives it. */
interface RankSeriesQuery {
  name: string;
  from: number | null;
  to: number | null;
  limit: number;
  /** Only these ranks; all when null. */
  ranks: number[] | null;
  includeSuperseded: boolean;
}

/** The metric name and rank of a series `NAME@rank=R`; null for a series of no rank. */
function rankOf(seriesName: string): { name: string; rank: number } | null {
  const m = RANK_SUFFIX.exec(seriesName);
  return m?.[1] && m[2] ? { name: m[1], rank: Number(m[2]) } : null;
}

/**
 * MPI ranks: each rank logs its own series `NAME@rank=R`; reads line the ranks up per step (min, mean, max and
 * the ranks that held them) and compare their pace (stragglers).
 */
export class RankService {
  async metrics(ctx: ServiceContext, run: RunRecord): Promise<{ metrics: RankedMetricView[] }> {
    const byName = new Map<string, number[]>();
    for (const s of await ctx.store.metrics.listSeries(run.pk, { search: '@rank=' })) {
      const ranked = rankOf(s.name);
      if (!ranked) continue;
      const ranks = byName.get(ranked.name) ?? [];
      ranks.push(ranked.rank);
      byName.set(ranked.name, ranks);
    }
    const metrics = [...byName].map(([name, ranks]) => ({ name, ranks: ranks.sort((a, b) => a - b) }));
    return { metrics: metrics.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  }

  async #rankSeries(ctx: ServiceContext, run: RunRecord, name: string, only: number[] | null = null) {
    const picked = only && new Set(only);
    const rows = await ctx.store.metrics.listSeries(run.pk, {
      prefix: `${name}@rank=`,
      limit: MAX_RANKS + 1,
    });
    const ranked: { rank: number; series: SeriesRecord }[] = [];
    for (const series of rows) {
      const r = rankOf(series.name);
      if (r && r.name === name && (!picked || picked.has(r.rank))) ranked.push({ rank: r.rank, series });
    }
    if (ranked.length === 0)
      throw new NotFoundError('run', run.name, `has no metric '${name}' logged by ranks`);
    if (rows.length > MAX_RANKS)
      throw new SimscopeError('invalid_field', `query.name: '${name}' has more than ${MAX_RANKS} ranks`);
    return ranked.sort((a, b) => a.rank - b.rank);
  }

  /** A page of steps: per step the ranks' min, mean and max, and the (lowest) rank holding the min and the max. */
  async series(ctx: ServiceContext, run: RunRecord, query: RankSeriesQuery): Promise<RankSeriesView> {
    const ranked = await this.#rankSeries(ctx, run, query.name, query.ranks);
    const slicer = new TimeSlicer();
    const from = query.from ?? Number.NEGATIVE_INFINITY;
    const end = query.to ?? Number.POSITIVE_INFINITY;
    let to = end;
    let truncated = false;
    const pages = [];
    const indexes = [];
    const options = { superseded: query.includeSuperseded };
    const limit = Math.max(1, Math.min(query.limit, Math.floor(MAX_PAGE_POINTS / ranked.length)));
    // Each rank reads at most `limit` points; the page ends before the first step some rank could not finish.
    for (const { series } of ranked) {
      await slicer.pause();
      const index = await ctx.store.metrics.blockIndex(series.pk, 'step', from, end, options);
      indexes.push(index);
      // Blocks past the first `limit` points of this rank are not read; the page ends past the last one read,
      // a whole step on, so that the next page starts at a whole step.
      let points = 0;
      for (const block of index) {
        points += block.points;
        if (points > limit && block.hi < to) {
          to = block.hi + 1;
          break;
        }
      }
      const blocks = await ctx.store.metrics.readBlocks(
        series.pk,
        'step',
        from,
        to,
        ['steps', 'values'],
        options,
      );
      const page = readSeriesPage(blocks, from, to, null, limit);
      pages.push(page);
      if (page.next && page.next.step < to && page.next.step > from) {
        to = page.next.step;
        truncated = true;
      }
    }
    const more = truncated || indexes.some((index) => index.some((block) => block.hi >= to));
    const byStep = new Map<
      number,
      { min: number; max: number; argmin: number; argmax: number; sum: number; n: number; count: number }
    >();
    for (let r = 0; r < ranked.length; r++) {
      await slicer.pause();
      const rank = ranked[r]?.rank ?? 0;
      const page = pages[r];
      if (!page) continue;
      // The last point of a step counts when a rank logged the step twice.
      const last = new Map<number, number>();
      for (let i = 0; i < page.steps.length; i++) {
        const step = page.steps[i] as number;
        if (step < to) last.set(step, page.values[i] as number);
      }
      for (const [step, v] of last) {
        let agg = byStep.get(step);
        if (!agg) {
          agg = { min: Number.NaN, max: Number.NaN, argmin: -1, argmax: -1, sum: 0, n: 0, count: 0 };
          byStep.set(step, agg);
        }
        agg.count++;
        if (Number.isNaN(v)) continue;
        if (agg.argmin < 0 || v < agg.min) {
          agg.min = v;
          agg.argmin = rank;
        }
        if (agg.argmax < 0 || v > agg.max) {
          agg.max = v;
          agg.argmax = rank;
        }
        if (Number.isFinite(v)) {
          agg.sum += v;
          agg.n++;
        }
      }
    }
    const steps = [...byStep.keys()].sort((a, b) => a - b);
    const view: RankSeriesView = {
      name: query.name,
      ranks: ranked.map((r) => r.rank),
      steps,
      count: [],
      min: [],
      mean: [],
      max: [],
      argmin: [],
      argmax: [],
      next: more && to < end ? to : null,
    };
    for (const step of steps) {
      const a = byStep.get(step);
      if (!a) continue;
      view.count.push(a.count);
      view.min.push(jsonNumber(a.min));
      view.max.push(jsonNumber(a.max));
      view.mean.push(jsonNumber(a.n > 0 ? a.sum / a.n : Number.NaN));
      view.argmin.push(a.argmin < 0 ? null : a.argmin);
      view.argmax.push(a.argmax < 0 ? null : a.argmax);
    }
    return view;
  }

  /**
   * Per rank, the wall time between its first and last point of the metric over the steps between them; ranks
   * slower than `factor` × the median are stragglers.
   */
  async stragglers(
    ctx: ServiceContext,
    run: RunRecord,
    query: { name: string; factor: number },
  ): Promise<StragglerView> {
    const ranked = await this.#rankSeries(ctx, run, query.name);
    const slicer = new TimeSlicer();
    const rows: StragglerView['ranks'] = [];
    for (const { rank, series } of ranked) {
      await slicer.pause();
      const span = await this.#span(ctx, series);
      const steps = span ? span.lastStep - span.firstStep : 0;
      const seconds = span ? span.lastTime - span.firstTime : 0;
      rows.push({
        rank,
        steps,
        seconds,
        secondsPerStep: steps > 0 ? seconds / steps : null,
        ratio: null,
        straggler: false,
      });
    }
    const paces = rows
      .flatMap((r) => (r.secondsPerStep === null ? [] : [r.secondsPerStep]))
      .sort((a, b) => a - b);
    const mid = paces.length >> 1;
    const median =
      paces.length === 0
        ? null
        : paces.length % 2
          ? (paces[mid] as number)
          : ((paces[mid - 1] as number) + (paces[mid] as number)) / 2;
    for (const row of rows) {
      if (median === null || row.secondsPerStep === null || median <= 0) continue;
      row.ratio = row.secondsPerStep / median;
      row.straggler = row.ratio > query.factor;
    }
    return { name: query.name, factor: query.factor, median, ranks: rows };
  }

  /**
   * The first and last visible point of a series by step, with their times: seconds on the writer's own
   * monotonic clock, which clock-skew corrections of timestamps do not shift.
   */
  async #span(ctx: ServiceContext, series: SeriesRecord) {
    const index = await ctx.store.metrics.blockIndex(
      series.pk,
      'step',
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
    );
    const first = index[0];
    if (!first || series.lastStep === null || series.lastTime === null) return null;
    const [block] = await ctx.store.metrics.readBlocksByPk([first.pk], ['steps', 'times']);
    if (!block || block.steps.length === 0) return null;
    let i = 0;
    for (let k = 1; k < block.steps.length; k++)
      if ((block.steps[k] as number) < (block.steps[i] as number)) i = k;
    return {
      firstStep: block.steps[i] as number,
      firstTime: block.times[i] as number,
      lastStep: series.lastStep,
      lastTime: series.lastTime,
    };
  }
}
