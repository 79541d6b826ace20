import { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Downsampled } from '../api.js';
import {
  countNonPositive,
  type Line,
  lineFromBuckets,
  type SmoothingKind,
  smoothLine,
} from '../chart/columns.js';
import {
  type AxisTicks,
  type ChartSeries,
  displayX,
  LineChart,
  nearest,
  panRange,
  type XAxis,
  zoomRange,
} from '../chart/line-chart.js';
import { formatNumber, formatTime } from '../format.js';
import { chartColors, seriesColor, useSession } from '../session.js';

export interface ChartRun {
  id: string;
  label: string;
}

export interface ChartSettings {
  axis: XAxis;
  log: boolean;
  /** Exponential smoothing weight, 0 (none) to 0.99. */
  smoothing: number;
  /** Draw from every point instead of the downsampled buckets. */
  every: boolean;
  /** How the smoothing averages (EMA when left out). */
  smoothingKind?: SmoothingKind;
  /** Fit the y axis to the 1st–99th percentile of the values shown, so rare spikes do not flatten the rest. */
  ignoreOutliers?: boolean;
}

const AXIS_TITLES: Record<XAxis, string> = {
  step: 'step',
  time: 'time since start',
  timestamp: 'date and time',
};

interface Loaded {
  lines: Line[];
  range: [number, number];
  zoomed: boolean;
  points: number;
  every: boolean;
  seq: number;
}

const HEIGHT = 260;

function formatX(axis: XAxis, x: number): string {
  if (axis === 'timestamp') return formatTime(x);
  if (axis === 'time') return `${formatNumber(+x.toPrecision(6))} s`;
  return formatNumber(Math.round(x));
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function sameTicks(a: AxisTicks, b: AxisTicks): boolean {
  return a.x.join('|') === b.x.join('|') && a.y.join('|') === b.y.join('|');
}

/**
 * One metric of one or more runs on one chart. It asks the server for as many M4 buckets as the plot has pixel
 * columns over the x range in view, and again for the new range after each zoom, so any length of series
 * draws from a few thousand points and looks as it would from all of them.
 */
export function MetricChart({
  metric,
  runs,
  settings,
  liveTick = 0,
  title,
  zoom: sharedZoom,
  onZoomChange,
}: {
  metric: string;
  runs: ChartRun[];
  settings: ChartSettings;
  liveTick?: number;
  title?: string;
  /** A zoom shared with other charts (with `onZoomChange`); without, the chart keeps its own. */
  zoom?: [number, number] | null;
  onZoomChange?(range: [number, number] | null): void;
}) {
  const { api, theme } = useSession();
  const holder = useRef<HTMLDivElement>(null);
  const chartRef = useRef<LineChart | null>(null);
  const [ownZoom, setOwnZoom] = useState<[number, number] | null>(null);
  const zoom = onZoomChange ? (sharedZoom ?? null) : ownZoom;
  const zoomSetter = useRef(onZoomChange ?? setOwnZoom);
  zoomSetter.current = onZoomChange ?? setOwnZoom;
  const setZoom = useCallback((z: [number, number] | null) => zoomSetter.current(z), []);
  const figure = useRef<HTMLElement>(null);
  const [full, setFull] = useState(false);
  const [width, setWidth] = useState(0);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [state, setState] = useState<'loading' | 'drawn' | 'error'>('loading');
  const [error, setError] = useState<string | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [drawn, setDrawn] = useState(0);
  const [ticks, setTicks] = useState<AxisTicks>({ x: [], y: [] });
  // This chart's own log or linear choice, over the page's setting until the page's changes.
  const [ownLog, setOwnLog] = useState<boolean | null>(null);
  const log = ownLog ?? settings.log;
  useEffect(() => setOwnLog(null), [settings.log]);
  // What the last finished drawing showed: `seq:source:view`, for tests and benchmarks to wait on.
  const [drawnKey, setDrawnKey] = useState('');
  const pending = useRef('');
  const seq = useRef(0);
  const everyCache = useRef(new Map<string, Line>());
  // Data depends on the runs' ids only: labels may change (names arriving after ids) without a new fetch.
  const runIds = runs.map((r) => r.id).join('\n');
  const runIdsRef = useRef(runIds);
  runIdsRef.current = runIds;
  const runsRef = useRef(runs);
  runsRef.current = runs;
  const palette = useMemo(() => chartColors().series, [theme]);

  // The chart itself: made again when the axis, scale or theme changes.
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const colors = chartColors();
    const chart = new LineChart(el, Math.max(200, el.clientWidth), {
      axis: settings.axis,
      log,
      height: HEIGHT,
      colors,
      xTitle: AXIS_TITLES[settings.axis],
      yTitle: metric,
      cursorSync: runIdsRef.current,
      onZoom: (range) => setZoom(range),
      onCursor: setCursor,
      onDraw: (segments, shown) => {
        // Wider tick labels narrow the plot: fetch again for its new number of columns.
        const plot = chartRef.current?.plotWidth;
        if (plot !== undefined) setWidth(plot);
        setDrawn(segments);
        setTicks((old) => (sameTicks(old, shown) ? old : { x: [...shown.x], y: [...shown.y] }));
        setDrawnKey(pending.current);
        setState('drawn');
      },
    });
    chartRef.current = chart;
    setWidth(chart.plotWidth);
    const resize = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      chart.setSize(w);
      setWidth((old) => (old === chart.plotWidth ? old : chart.plotWidth));
    });
    resize.observe(el);
    const fullscreen = () => {
      const on = document.fullscreenElement === figure.current && figure.current !== null;
      setFull(on);
      chart.resize(Math.max(200, el.clientWidth), on ? Math.max(HEIGHT, window.innerHeight - 140) : HEIGHT);
      setWidth(chart.plotWidth);
    };
    document.addEventListener('fullscreenchange', fullscreen);
    return () => {
      resize.disconnect();
      document.removeEventListener('fullscreenchange', fullscreen);
      chart.destroy();
      chartRef.current = null;
    };
  }, [settings.axis, log, theme, metric]);

  useEffect(() => {
    setOwnZoom(null);
    everyCache.current.clear();
  }, [settings.axis, metric, runIds]);

  useEffect(() => {
    if (liveTick > 0) everyCache.current.clear();
  }, [liveTick]);

  // Data for the range in view.
  useEffect(() => {
    const runs = runsRef.current;
    const chart = chartRef.current;
    if (!chart || width === 0 || runs.length === 0) return;
    const abort = new AbortController();
    const { axis } = settings;
    setState((s) => (s === 'drawn' ? s : 'loading'));
    // One request for all the runs; a run without this metric draws nothing rather than failing the chart.
    const get = (ids: string[], q: { from: number; to: number; buckets: number } | { buckets: number }) =>
      api.downsampleRuns(ids, metric, axis, q, abort.signal);
    (async () => {
      let buckets: (Downsampled | null)[];
      let range: [number, number];
      const zoomed = zoom !== null;
      if (zoom) {
        const grid = chart.gridFor(zoom, true);
        buckets = await get(
          runs.map((r) => r.id),
          { from: grid.from, to: grid.to, buckets: grid.n },
        );
        range = zoom;
      } else {
        buckets = await get(
          runs.map((r) => r.id),
          { buckets: chart.plotWidth },
        );
        const found = buckets.filter((b): b is Downsampled => b !== null);
        range =
          found.length > 0
            ? [Math.min(...found.map((b) => b.from)), Math.max(...found.map((b) => b.to))]
            : [0, 1];
        const grid = chart.gridFor(range, false);
        const off = buckets.flatMap((b, i) => (b && (b.from !== grid.from || b.to !== grid.to) ? [i] : []));
        if (off.length > 0) {
          // Runs answered in more than one request may sit on different grids: ask again on the common one.
          const again = await get(
            off.map((i) => runs[i]!.id),
            { from: grid.from, to: grid.to, buckets: grid.n },
          );
          off.forEach((i, k) => {
            buckets[i] = again[k]!;
          });
        }
      }
      let lines = buckets.map((b) =>
        b ? lineFromBuckets(b) : { x: new Float64Array(0), y: new Float64Array(0) },
      );
      let points = 0;
      for (const b of buckets) if (b) for (let i = 0; i < b.count.length; i++) points += b.count[i]!;
      if (settings.every) {
        lines = await Promise.all(
          runs.map(async (r, i) => {
            if (buckets[i] === null) return lines[i]!;
            const key = `${r.id}\n${axis}`;
            let line = everyCache.current.get(key);
            if (!line) {
              line = await api.series(r.id, metric, axis, abort.signal);
              everyCache.current.set(key, line);
            }
            return line;
          }),
        );
      }
      if (!abort.signal.aborted)
        setLoaded({ lines, range, zoomed, points, every: settings.every, seq: ++seq.current });
    })().catch((e: Error) => {
      if (abort.signal.aborted) return;
      setError(e.message);
      setState('error');
    });
    return () => abort.abort();
  }, [api, metric, runIds, settings.axis, settings.every, log, zoom, width, liveTick, theme]);

  const series: ChartSeries[] = useMemo(() => {
    if (!loaded) return [];
    const out: ChartSeries[] = [];
    loaded.lines.forEach((line, i) => {
      const color = seriesColor(palette, i);
      const label = runs[i]?.label ?? String(i);
      if (settings.smoothing > 0) {
        out.push({ label, color, line, faded: true });
        out.push({
          label,
          color,
          line: smoothLine(line, settings.smoothingKind ?? 'ema', settings.smoothing),
        });
      } else {
        out.push({ label, color, line });
      }
    });
    return out;
  }, [loaded, palette, runs, settings.smoothing, settings.smoothingKind]);

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart || !loaded) return;
    pending.current = `${loaded.seq}:${loaded.every ? 'every' : 'buckets'}:${loaded.zoomed ? 'zoomed' : 'all'}`;
    chart.draw(series, loaded.range, loaded.zoomed, settings.ignoreOutliers ?? false);
  }, [series, loaded, settings.ignoreOutliers]);
  // A log axis cannot show values at or below 0: they are left out, and the chart says so.
  const hidden = useMemo(() => (log && loaded ? countNonPositive(loaded.lines) : 0), [log, loaded]);
  const total = loaded ? loaded.lines.reduce((a, l) => a + l.y.length, 0) : 0;

  const range = loaded?.range ?? null;
  const keys = useCallback(
    (e: KeyboardEvent<HTMLDivElement>) => {
      if (!range) return;
      let next: [number, number] | null | undefined;
      if (e.key === '+' || e.key === '=') next = zoomRange(range, 0.5);
      else if (e.key === '-' || e.key === '_') next = zoomRange(range, 2);
      else if (e.key === 'ArrowLeft') next = panRange(range, -0.2);
      else if (e.key === 'ArrowRight') next = panRange(range, 0.2);
      else if (e.key === '0' || e.key === 'Escape') next = null;
      else return;
      e.preventDefault();
      setZoom(next);
    },
    [range, setZoom],
  );

  const legend = runs.map((r, i) => {
    const line = loaded?.lines[i];
    let value = '';
    if (line && cursor !== null) {
      const k = nearest(line, cursor);
      if (k >= 0) value = formatNumber(line.y[k]!);
    } else if (line && line.y.length > 0) {
      value = formatNumber(line.y[line.y.length - 1]!);
    }
    return { label: r.label, color: seriesColor(palette, i), value };
  });
  const label = title ?? metric;
  const file = metric.replace(/[^\w.-]+/g, '_');
  const exportCsv = async (all: boolean) => {
    const lines = all
      ? await Promise.all(runs.map((r) => api.series(r.id, metric, settings.axis)))
      : (loaded?.lines ?? []);
    const rows = [['run', settings.axis, metric].map(csvCell).join(',')];
    lines.forEach((line, i) => {
      const run = csvCell(runs[i]?.label ?? '');
      const [a, b] = all || !range ? [-Infinity, Infinity] : range;
      for (let k = 0; k < line.x.length; k++) {
        const x = line.x[k]!;
        if (x >= a && x <= b) rows.push(`${run},${x},${line.y[k]}`);
      }
    });
    download(`${file}${all ? '' : '-shown'}.csv`, new Blob([`${rows.join('\n')}\n`], { type: 'text/csv' }));
  };
  const points = loaded?.points ?? 0;

  return (
    <figure
      ref={figure}
      className={`chart-card${full ? ' full' : ''}`}
      data-metric={metric}
      data-state={state}
      data-points={points}
      data-segments={drawn}
      data-zoomed={loaded?.zoomed ? 'true' : 'false'}
      data-drawn={drawnKey}
      data-line-points={loaded ? loaded.lines.reduce((a, l) => a + l.x.length, 0) : 0}
      data-range={range ? `${range[0]},${range[1]}` : ''}
      data-log={log ? 'true' : 'false'}
      data-x-ticks={ticks.x.join('|')}
      data-y-ticks={ticks.y.join('|')}
      style={{ margin: 0 }}
    >
      <header>
        <h3>{label}</h3>
        <span className="muted" aria-live="polite">
          {/* The empty chart draws before its data comes: until then it is loading, not "0 points". */}
          {!loaded
            ? state === 'error'
              ? 'not loaded'
              : 'loading…'
            : `${points.toLocaleString('en')} points${loaded.zoomed ? ' in view' : ''}`}
        </span>
        {hidden > 0 ? (
          <span className="muted" data-testid="log-hidden">
            {hidden === total ? 'no values above 0 to draw' : 'values ≤ 0 not drawn'} on a log scale
          </span>
        ) : null}
        <span className="zoom row">
          <details className="export">
            <summary>Export</summary>
            <div className="export-menu">
              <button
                type="button"
                onClick={() => {
                  const png = chartRef.current?.toPng();
                  if (png) download(`${file}.png`, png);
                }}
              >
                PNG
              </button>
              <button
                type="button"
                onClick={() => {
                  const svg = chartRef.current?.toSvg();
                  if (svg) download(`${file}.svg`, new Blob([svg], { type: 'image/svg+xml' }));
                }}
              >
                SVG
              </button>
              <button type="button" onClick={() => void exportCsv(false)}>
                CSV of the points shown
              </button>
              <button
                type="button"
                onClick={() => void exportCsv(true).catch((e: Error) => setError(e.message))}
              >
                CSV of every point
              </button>
            </div>
          </details>
          <button
            type="button"
            aria-pressed={full}
            aria-label={`Full screen: ${label}`}
            onClick={() =>
              void (document.fullscreenElement
                ? document.exitFullscreen()
                : figure.current?.requestFullscreen().catch((e: Error) => setError(e.message)))
            }
          >
            ⛶
          </button>
          <button
            type="button"
            aria-pressed={log}
            onClick={() => setOwnLog(!log)}
            aria-label={`Log scale for ${label}`}
            title="Log or linear y axis for this chart"
          >
            log
          </button>
          <button
            type="button"
            onClick={() => range && setZoom(zoomRange(range, 0.5))}
            aria-label={`Zoom in on ${label}`}
          >
            +
          </button>
          <button
            type="button"
            onClick={() => range && setZoom(zoomRange(range, 2))}
            aria-label={`Zoom out of ${label}`}
          >
            −
          </button>
          <button
            type="button"
            onClick={() => setZoom(null)}
            disabled={!loaded?.zoomed}
            aria-label={`Show all of ${label}`}
          >
            Reset
          </button>
        </span>
      </header>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <div
        className="plot"
        ref={holder}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the plot takes keys to zoom and pan
        tabIndex={0}
        role="img"
        aria-label={`Chart of ${label} by ${settings.axis}. Drag to zoom; keys: + and − zoom, arrows pan, 0 shows all.`}
        onKeyDown={keys}
      />
      <figcaption className="legend">
        {cursor !== null ? (
          <span>
            {settings.axis} {formatX(settings.axis, displayX('step', cursor))}
          </span>
        ) : null}
        {legend.slice(0, 40).map((l, i) => (
          <span key={runs[i]!.id}>
            <span className="swatch" style={{ background: l.color }} />
            {l.label} {l.value}
          </span>
        ))}
        {legend.length > 40 ? <span className="muted">and {legend.length - 40} more</span> : null}
      </figcaption>
    </figure>
  );
}
