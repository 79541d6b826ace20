import type { aggregateSchema, Json, JsonObject } from '@simscope/protocol';
import type { z } from 'zod';
import type { RunRecord } from '../store/store.js';
import type { ServiceContext } from './context.js';
import type { MetricService } from './metric-service.js';
import { TimeSlicer } from './time-slice.js';

type AggregateBody = z.output<typeof aggregateSchema>;

/** One group's columns, one entry per bucket; NaN where no run of the group has a point. */
interface AggregateGroup {
  value: string | null;
  runs: string[];
  n: Float64Array;
  mean: Float64Array;
  std: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

export interface Aggregate {
  name: string;
  axis: 'step' | 'time' | 'timestamp';
  by: string;
  from: number;
  to: number;
  buckets: number;
  groups: AggregateGroup[];
  missing: { run: string; error: { code: 'not_found'; message: string } }[];
}

const text = (v: Json): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The values of `run` that `by` puts it under: its tags, its folder, or one metadata value (null: none). */
function groupValues(run: RunRecord, by: string): (string | null)[] {
  if (by === 'tags') return run.tags.length > 0 ? run.tags : [null];
  if (by === 'folder') return [run.folder];
  let at: Json | undefined = run.metadata;
  for (const part of by.slice('metadata.'.length).split('.')) {
    at = at !== null && typeof at === 'object' && !Array.isArray(at) ? (at as JsonObject)[part] : undefined;
    if (at === undefined) return [null];
  }
  return [at === null ? null : text(at)];
}

const byValue = new Intl.Collator('en', { numeric: true }).compare;

/**
 * Groups of runs aggregated per bucket of one metric: the mean and standard deviation across the runs of each
 * run's last value in the bucket, and the band from the least minimum to the greatest maximum. The buckets are
 * the multi-run M4 downsampling's (same grid, same scan cap and slicing); the sums are taken in slices too.
 */
export class AggregateService {
  readonly #metrics: MetricService;

  constructor(metrics: MetricService) {
    this.#metrics = metrics;
  }

  async aggregate(ctx: ServiceContext, body: AggregateBody): Promise<Aggregate> {
    const axis = body.x ?? 'step';
    const buckets = body.buckets ?? 1000;
    const down = await this.#metrics.downsampleRuns(ctx, { ...body, x: axis, buckets });
    const slicer = new TimeSlicer();
    const missing: Aggregate['missing'] = [];
    const groups = new Map<string | null, { runs: string[]; acc: Accumulator }>();
    for (const item of down.runs) {
      if ('error' in item) {
        missing.push(item);
        continue;
      }
      await slicer.pause();
      const run = await ctx.store.runs.getRun(ctx.auth.workspace.id, item.run);
      if (!run) continue; // deleted since it was read
      for (const value of groupValues(run, body.by)) {
        let group = groups.get(value);
        if (!group) {
          group = { runs: [], acc: new Accumulator(buckets) };
          groups.set(value, group);
        }
        group.runs.push(run.id);
        group.acc.add(item.buckets);
      }
    }
    const values = [...groups.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : byValue(a, b)));
    return {
      name: down.name,
      axis,
      by: body.by,
      from: down.from,
      to: down.to,
      buckets,
      groups: values.flatMap((value) => {
        const g = groups.get(value);
        return g ? [{ value, runs: g.runs, ...g.acc.finish() }] : [];
      }),
      missing,
    };
  }
}

/** Per bucket: count, running mean and sum of squared deviations (Welford) of last values, least min, greatest max. */
class Accumulator {
  readonly n: Float64Array;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;

  constructor(buckets: number) {
    this.n = new Float64Array(buckets);
    this.mean = new Float64Array(buckets);
    this.m2 = new Float64Array(buckets);
    this.min = new Float64Array(buckets).fill(Number.NaN);
    this.max = new Float64Array(buckets).fill(Number.NaN);
  }

  add(b: {
    count: ArrayLike<number>;
    lastY: ArrayLike<number>;
    minY: ArrayLike<number>;
    maxY: ArrayLike<number>;
  }): void {
    for (let i = 0; i < this.n.length; i++) {
      if (!((b.count[i] ?? 0) > 0)) continue;
      const y = b.lastY[i] ?? Number.NaN;
      if (Number.isFinite(y)) {
        // Welford's running mean and sum of squared deviations.
        const n = (this.n[i] ?? 0) + 1;
        const mean = this.mean[i] ?? 0;
        const d = y - mean;
        this.n[i] = n;
        this.mean[i] = mean + d / n;
        this.m2[i] = (this.m2[i] ?? 0) + d * (y - (mean + d / n));
      }
      const lo = b.minY[i] ?? Number.NaN;
      const hi = b.maxY[i] ?? Number.NaN;
      const min = this.min[i] ?? Number.NaN;
      const max = this.max[i] ?? Number.NaN;
      if (!(min <= lo)) this.min[i] = Number.isNaN(lo) ? min : lo;
      if (!(max >= hi)) this.max[i] = Number.isNaN(hi) ? max : hi;
    }
  }

  finish(): { n: Float64Array; mean: Float64Array; std: Float64Array; min: Float64Array; max: Float64Array } {
    const std = new Float64Array(this.n.length);
    for (let i = 0; i < this.n.length; i++) {
      const n = this.n[i] ?? 0;
      if (n === 0) {
        this.mean[i] = Number.NaN;
        std[i] = Number.NaN;
      } else std[i] = Math.sqrt((this.m2[i] ?? 0) / n);
    }
    return { n: this.n, mean: this.mean, std, min: this.min, max: this.max };
  }
}
