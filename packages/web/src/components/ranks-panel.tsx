import {
  type AggregateView,
  paginate,
  type RankedMetricView,
  type RankSeriesView,
} from '@simscope/protocol/api';
import { useEffect, useState } from 'react';
import { num } from '../api.js';
import { useSession } from '../session.js';
import { BandChart } from '../sweep/band-chart.js';
import { LoadError, Loading } from './load-state.js';
import { StragglerTable } from './straggler-table.js';

/** Buckets the chart draws at most; steps are read in pages of 10,000, up to 100,000. */
const BUCKETS = 500;
const PAGE = 10_000;
const MAX_PAGES = 10;

/** Ranks as short text: `0–3`, or `0, 2, 5`. */
function rankLabel(ranks: readonly number[]): string {
  const contiguous = ranks.every((r, i) => i === 0 || r === (ranks[i - 1] ?? r) + 1);
  return contiguous && ranks.length > 2 ? `${ranks[0]}–${ranks[ranks.length - 1]}` : ranks.join(', ');
}

interface AcrossRanks {
  name: string;
  ranks: number[];
  steps: number[];
  min: number[];
  mean: number[];
  max: number[];
}

/** Per-step aggregates across ranks as one band group on `BUCKETS` equal-width step buckets. */
function toBands(view: AcrossRanks): AggregateView {
  const { steps } = view;
  const first = steps[0] ?? 0;
  const to = (steps[steps.length - 1] ?? 0) + 1;
  const n = Math.max(1, Math.min(BUCKETS, steps.length));
  const lo = new Float64Array(n).fill(Number.NaN);
  const hi = new Float64Array(n).fill(Number.NaN);
  const sum = new Float64Array(n);
  const count = new Float64Array(n);
  steps.forEach((step, i) => {
    const b = Math.min(n - 1, Math.floor(((step - first) * n) / (to - first)));
    const min = view.min[i] ?? Number.NaN;
    const max = view.max[i] ?? Number.NaN;
    const mean = view.mean[i] ?? Number.NaN;
    const l = lo[b] ?? Number.NaN;
    const h = hi[b] ?? Number.NaN;
    if (Number.isNaN(l) || min < l) lo[b] = min;
    if (Number.isNaN(h) || max > h) hi[b] = max;
    if (Number.isFinite(mean)) {
      sum[b] = (sum[b] ?? 0) + mean;
      count[b] = (count[b] ?? 0) + 1;
    }
  });
  const mean = Array.from(sum, (s, b) => ((count[b] ?? 0) > 0 ? s / (count[b] ?? 1) : Number.NaN));
  return {
    name: view.name,
    x: 'step',
    by: 'rank',
    from: first,
    to,
    buckets: n,
    groups: [
      {
        value: rankLabel(view.ranks),
        runs: view.ranks.map(String),
        n: Array.from(count),
        mean,
        std: mean.map(() => 0),
        min: Array.from(lo),
        max: Array.from(hi),
      },
    ],
    missing: [],
  };
}

/** Reads the metric's per-step aggregates over the picked ranks, page by page. */
async function readAcrossRanks(
  call: (query: Record<string, string | number>, signal: AbortSignal) => Promise<RankSeriesView>,
  name: string,
  picked: readonly number[] | null,
  signal: AbortSignal,
) {
  const out = {
    name,
    ranks: [] as number[],
    steps: [] as number[],
    min: [] as number[],
    mean: [] as number[],
    max: [] as number[],
  };
  // The cursor of this listing is the next step; paginate carries it as text.
  const pages = paginate(
    async (from) => {
      const query: Record<string, string | number> = { name, limit: PAGE };
      if (from !== null) query.from = Number(from);
      if (picked) query.ranks = picked.join(',');
      const view = await call(query, signal);
      return { items: [view], next: view.next === null ? null : String(view.next) };
    },
    { maxPages: MAX_PAGES },
  );
  for await (const [view] of pages) {
    if (!view) continue;
    out.ranks = view.ranks;
    out.steps.push(...view.steps);
    for (const key of ['min', 'mean', 'max'] as const) out[key].push(...view[key].map(num));
  }
  return out;
}

/**
 * A run's metrics logged by MPI ranks: the mean across the picked ranks with their min–max band, a rank picker,
 * and the stragglers (ranks slower per step than the median).
 */
export function RanksPanel({ run, tick }: { run: string; tick: number }) {
  const { api } = useSession();
  const [metrics, setMetrics] = useState<RankedMetricView[] | null>(null);
  const [name, setName] = useState<string | null>(null);
  const [picked, setPicked] = useState<ReadonlySet<number> | null>(null);
  const [bands, setBands] = useState<AggregateView | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const abort = new AbortController();
    api.call('listRankedMetrics', { params: { run }, signal: abort.signal }).then(
      (r) => setMetrics(r.metrics),
      (e: unknown) => !abort.signal.aborted && setError(e),
    );
    return () => abort.abort();
  }, [api, run, tick]);

  const metric = metrics?.find((m) => m.name === name) ?? metrics?.[0] ?? null;
  const chosen = metric && picked ? metric.ranks.filter((r) => picked.has(r)) : null;
  const key = chosen?.join(',') ?? 'all';

  useEffect(() => {
    if (!metric || chosen?.length === 0) return;
    const abort = new AbortController();
    const call = (query: Record<string, string | number>, signal: AbortSignal) =>
      api.call('readRankSeries', { params: { run }, query, signal });
    readAcrossRanks(call, metric.name, chosen, abort.signal).then(
      (view) => setBands(view.steps.length > 0 ? toBands(view) : null),
      (e: unknown) => !abort.signal.aborted && setError(e),
    );
    return () => abort.abort();
    // `key` stands for the picked ranks.
  }, [api, run, metric?.name, key, tick]);

  if (error) return <LoadError error={error} what="Ranks" />;
  if (!metrics) return <Loading what="ranks" />;
  if (!metric) return <p className="muted">No metric of this run was logged by MPI ranks (NAME@rank=R).</p>;
  const toggle = (rank: number) =>
    setPicked((p) => {
      const next = new Set(p ?? metric.ranks);
      if (!next.delete(rank)) next.add(rank);
      return next.size === metric.ranks.length ? null : next;
    });
  return (
    <section className="ranks-panel" aria-label="Ranks" data-metric={metric.name} data-ranks={key}>
      <div className="toolbar">
        <label>
          Metric{' '}
          <select value={metric.name} onChange={(e) => setName(e.target.value)}>
            {metrics.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="rank-picker" aria-label="Ranks shown">
          <legend>Ranks</legend>
          <button type="button" onClick={() => setPicked(null)} aria-pressed={picked === null}>
            All
          </button>
          {metric.ranks.map((rank) => (
            <label key={rank}>
              <input
                type="checkbox"
                checked={!picked || picked.has(rank)}
                onChange={() => toggle(rank)}
                aria-label={`rank ${rank}`}
              />
              {rank}
            </label>
          ))}
        </fieldset>
      </div>
      {chosen?.length === 0 ? (
        <p className="muted">Pick at least one rank.</p>
      ) : bands ? (
        <BandChart data={bands} kind="range" members="rank" />
      ) : (
        <Loading what={`${metric.name} across ranks`} />
      )}
      <StragglerTable run={run} name={metric.name} tick={tick} />
    </section>
  );
}
