import type { RunView, SeriesView } from '@simscope/protocol';
import type { HttpTransport, RetryOptions } from '../http-transport.js';
import type { ListResult } from './list-result.js';
import type { Lister } from './lister.js';
import { MetricTable, type SeriesColumns } from './metric-table.js';
import { type ProgressOptions, progressReporter } from './progress.js';
import { seriesPages } from './series-pages.js';

/** Runs for a metric table: ids or names, runs as listed, or a listing's result. */
export type RunSelection = string | RunView | readonly (string | RunView)[] | ListResult<RunView>;

export interface MetricTableOptions extends ProgressOptions {
  /** Points per request (default and most: 1,000,000). */
  pageSize?: number;
  /** Series read at the same time (default 4). */
  concurrency?: number;
  retries?: Partial<RetryOptions>;
}

// Copies into a fresh buffer: msgpack hands out views at any offset, typed arrays need aligned ones.
const aligned = (bytes: Uint8Array) => Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;

/** Reads every point of the chosen metrics (all of each run's metrics without `names`) into a long table. */
export async function readMetricTable(
  transport: HttpTransport,
  metricNames: Lister<{ run: string }, SeriesView>,
  runs: RunSelection,
  names: string | readonly string[] | undefined,
  options: MetricTableOptions = {},
): Promise<MetricTable> {
  const picked = (
    Array.isArray(runs) ? runs : 'items' in (runs as object) ? (runs as ListResult<RunView>).items : [runs]
  ) as (string | RunView)[];
  const wanted = names === undefined ? undefined : new Set([names].flat());
  const report = progressReporter(options);
  const start = Date.now();
  let pages = 0;
  let points = 0;
  let expected = 0;

  // Which series exist: one metric-name listing per run, so that a name a run lacks is skipped, not an error.
  const jobs: { run: string; label: string; metric: string }[] = [];
  for (const run of picked) {
    const id = typeof run === 'string' ? run : run.id;
    const label = typeof run === 'string' ? run : run.name;
    const listed = await metricNames.listAll({ run: id }, { retries: options.retries, progress: false });
    for (const m of listed.items)
      if (!wanted || wanted.has(m.name)) jobs.push({ run: id, label, metric: m.name });
  }
  expected = jobs.length;
  const tell = (done: boolean) =>
    report?.({
      list: 'metricValues',
      pages,
      totalPages: Math.max(pages, expected),
      items: points,
      done,
      elapsedMs: Date.now() - start,
    });

  const read = async (job: (typeof jobs)[number]): Promise<SeriesColumns> => {
    const parts = {
      steps: [] as BigInt64Array[],
      times: [] as Float64Array[],
      timestamps: [] as BigInt64Array[],
      values: [] as Float64Array[],
    };
    let first = true;
    const query = { name: job.metric, limit: options.pageSize };
    for await (const page of seriesPages(transport, job.run, query, options.retries)) {
      if (!first) expected++;
      first = false;
      const { steps, times, timestamps } = page;
      if (!steps || !times || !timestamps || !page.values) {
        throw new Error(`a page of '${job.metric}' came without all of its columns`);
      }
      parts.steps.push(new BigInt64Array(aligned(steps)));
      parts.times.push(new Float64Array(aligned(times)));
      parts.timestamps.push(new BigInt64Array(aligned(timestamps)));
      const values = new Float64Array(aligned(page.values));
      parts.values.push(values);
      points += values.length;
      pages++;
      tell(false);
    }
    const one = <A extends BigInt64Array | Float64Array>(xs: A[], make: (n: number) => A): A => {
      if (xs.length === 1 && xs[0]) return xs[0];
      const out = make(xs.reduce((n, x) => n + x.length, 0));
      let at = 0;
      for (const x of xs) {
        out.set(x as never, at);
        at += x.length;
      }
      return out;
    };
    return {
      run: job.label,
      metric: job.metric,
      steps: one(parts.steps, (n) => new BigInt64Array(n)),
      times: one(parts.times, (n) => new Float64Array(n)),
      timestamps: one(parts.timestamps, (n) => new BigInt64Array(n)),
      values: one(parts.values, (n) => new Float64Array(n)),
    };
  };

  const out: SeriesColumns[] = new Array(jobs.length);
  // One iterator shared by the workers: each takes the next job.
  const queue = jobs.entries();
  const worker = async () => {
    for (const [i, job] of queue) out[i] = await read(job);
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, jobs.length)) }, worker),
  );
  tell(true);
  return new MetricTable(out);
}
