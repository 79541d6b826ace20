import type { ArrayDataView, ArraySeriesView, ArrayStepView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import { href, navigate, useLocation } from '../router.js';
import { useSession } from '../session.js';
import { type HeatmapSettings, rangeOf, settingsFromQuery, settingsToQuery } from './field-colours.js';
import { Heatmap, HeatmapControls } from './field-heatmap.js';

/** Elements a view asks for at most per dimension: the server strides the field down to it. */
const VIEW_SIDE = 512;
const LINE_POINTS = 4096;
/** Milliseconds per step in playback. */
const PLAY_MS = 400;

/** Sides from which the server keeps a coarse level of a 2-D step (every 4th element): views stride by 4s there. */
const LEVEL_SIDE = 2048;
const LEVEL_STEP = 4;

/** The stride that brings a side of `n` of `shape` within the view; a multiple of 4 where the server keeps a level. */
function viewStride(n: number, shape: readonly number[]): number {
  const stride = Math.max(1, Math.ceil(n / VIEW_SIDE));
  const levelled = shape.length === 2 && shape.every((side) => side >= LEVEL_SIDE);
  return levelled ? Math.ceil(stride / LEVEL_STEP) * LEVEL_STEP : stride;
}

/** The region that shows a field within the view: strides for big dimensions, the middle slab of a 3-D one. */
function viewRegion(shape: readonly number[]): string {
  if (shape.length === 1) return `::${Math.max(1, Math.ceil((shape[0] ?? 1) / LINE_POINTS))}`;
  const dims = shape.length === 3 ? shape.slice(1) : shape;
  const parts = dims.map((n) => `::${viewStride(n, shape)}`);
  return shape.length === 3 ? [String(Math.floor((shape[0] ?? 0) / 2)), ...parts].join(',') : parts.join(',');
}

const numeric = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

/** A summary figure to 6 significant digits (float32 values read back as float64 show their noise). */
const figure = (v: number | null): string => (v === null ? '–' : String(Number(v.toPrecision(6))));

function finiteRange(values: readonly number[]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo > hi ? [0, 1] : [lo, hi];
}

/** A 1-D profile as a line, or a histogram (edges on its axis) as bars, in an SVG. */
function Profile({ data, edges }: { data: ArrayDataView; edges: number[] | undefined }) {
  const values = data.values.map(numeric);
  const [lo, hi] = finiteRange(edges ? [0, ...values] : values);
  const [w, h] = [600, 240];
  const y = (v: number) => h - ((v - lo) / (hi - lo || 1)) * (h - 10) - 5;
  if (edges) {
    const bw = w / values.length;
    return (
      <svg
        viewBox={`0 0 ${w} ${h}`}
        className="field-plot"
        role="img"
        aria-label={`histogram of ${data.name}`}
      >
        {values.map((v, i) => (
          <rect
            key={edges[i]}
            className="field-bar"
            x={i * bw + 0.5}
            width={Math.max(bw - 1, 0.5)}
            y={y(v)}
            height={h - 5 - y(v)}
          >
            <title>{`${edges[i]}–${edges[i + 1]}: ${v}`}</title>
          </rect>
        ))}
      </svg>
    );
  }
  const points = values
    .map((v, i) => (Number.isFinite(v) ? `${(i / Math.max(values.length - 1, 1)) * w},${y(v)}` : null))
    .filter((p) => p !== null)
    .join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h}`} className="field-plot" role="img" aria-label={`profile of ${data.name}`}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth={1.5} />
    </svg>
  );
}

/** The rows and columns of the whole field between two of the view's. */
function viewStrides(shape: readonly number[]): [number, number] {
  const [sy = 1, sx = 1] = shape.slice(-2).map((n) => viewStride(n, shape));
  return [sy, sx];
}

/** The heatmap settings kept in the address beside the page's other parameters. */
function useHeatmapSettings(): [HeatmapSettings, (next: HeatmapSettings) => void] {
  const { query } = useLocation();
  const change = (next: HeatmapSettings) => {
    const q: Record<string, string | null> = Object.fromEntries(new URLSearchParams(window.location.search));
    navigate(href(window.location.pathname, { ...q, ...settingsToQuery(next) }), true);
  };
  return [settingsFromQuery(query), change];
}

/** A run's array series: pick one, move through its steps with a slider; 1-D as a line, 2-D as a heatmap. */
export function FieldsPanel({ run }: { run: string }) {
  const { api } = useSession();
  const [series, setSeries] = useState<ArraySeriesView[] | null>(null);
  const [name, setName] = useState<string | null>(null);
  const [steps, setSteps] = useState<ArrayStepView[]>([]);
  const [index, setIndex] = useState(0);
  const [data, setData] = useState<ArrayDataView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [settings, setSettings] = useHeatmapSettings();

  useEffect(() => {
    api.call('listArrays', { params: { run }, query: { limit: 1000 } }).then(
      (page) => {
        const items = page.items as ArraySeriesView[];
        setSeries(items);
        setName((n) => n ?? items[0]?.name ?? null);
      },
      (e: unknown) => setError(String(e)),
    );
  }, [api, run]);

  useEffect(() => {
    if (name === null) return;
    api.call('listArrays', { params: { run }, query: { name, limit: 1000 } }).then(
      (page) => {
        const items = page.items as ArrayStepView[];
        setSteps(items);
        setIndex(items.length - 1);
      },
      (e: unknown) => setError(String(e)),
    );
  }, [api, run, name]);

  const [playing, setPlaying] = useState(false);
  // Playback: one step every PLAY_MS, stopping at the last.
  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => {
      setIndex((i) => {
        if (i + 1 >= steps.length) {
          setPlaying(false);
          return i;
        }
        return i + 1;
      });
    }, PLAY_MS);
    return () => clearInterval(timer);
  }, [playing, steps.length]);

  const current = steps[index];
  useEffect(() => {
    if (!current) return;
    const abort = new AbortController();
    api
      .call('readArray', {
        params: { run },
        query: { name: current.name, step: current.step, region: viewRegion(current.shape), format: 'json' },
        signal: abort.signal,
      })
      .then(
        (d) => setData(d as ArrayDataView),
        (e: unknown) => abort.signal.aborted || setError(String(e)),
      );
    return () => abort.abort();
  }, [api, run, current]);

  if (error) return <p role="alert">{error}</p>;
  if (series === null) return <p>Loading…</p>;
  if (series.length === 0) return <p>No arrays logged in this run.</p>;
  const edges = current?.axes?.[0]?.edges;
  return (
    <section className="fields-panel" aria-label="Fields">
      <div className="fields-controls">
        <label>
          Array{' '}
          <select value={name ?? ''} onChange={(e) => setName(e.target.value)}>
            {series.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name} ({s.shape.join('×')} {s.dtype})
              </option>
            ))}
          </select>
        </label>
        {steps.length > 0 && (
          <label>
            Step{' '}
            <input
              type="range"
              aria-label="step"
              min={0}
              max={steps.length - 1}
              value={index}
              onChange={(e) => setIndex(Number(e.target.value))}
            />{' '}
            <output aria-label="shown step">{current?.step}</output>
          </label>
        )}
        {steps.length > 1 && (
          <button
            type="button"
            onClick={() => {
              if (!playing && index >= steps.length - 1) setIndex(0);
              setPlaying(!playing);
            }}
          >
            {playing ? 'Pause' : 'Play'}
          </button>
        )}
      </div>
      {current && (
        <p className="fields-summary">
          step {current.step}
          {current.time === null ? '' : ` · t = ${current.time}`} · min {figure(current.min)} · max{' '}
          {figure(current.max)} · mean {figure(current.mean)}
        </p>
      )}
      {data &&
        current &&
        data.name === current.name &&
        (data.shape.length >= 2 ? (
          <>
            <HeatmapControls settings={settings} onChange={setSettings} />
            <Heatmap
              data={data}
              range={rangeOf(current, steps, settings.fixed)}
              strides={viewStrides(current.shape)}
              settings={settings}
            />
          </>
        ) : (
          <Profile data={data} edges={edges} />
        ))}
    </section>
  );
}
