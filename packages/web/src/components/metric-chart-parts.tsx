import { useEffect, useRef, useState } from 'react';
import type { Api, Downsampled } from '../api.js';
import { type Line, lineFromBuckets } from '../chart/columns.js';
import { type AxisTicks, LineChart, type XAxis, zoomRange } from '../chart/line-chart.js';
import { chartColors, useSession } from '../session.js';
import type { ChartRun, ChartSettings } from './metric-chart.js';

/** What one load of a chart's data gives: a line per run, the x range, and how many points it stands for. */
export interface LoadedLines {
  lines: Line[];
  range: [number, number];
  zoomed: boolean;
  points: number;
  every: boolean;
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
  return (
    a.x.join('|') === b.x.join('|') &&
    a.y.join('|') === b.y.join('|') &&
    (a.y2 ?? []).join('|') === (b.y2 ?? []).join('|')
  );
}

/**
 * The lines of `runs` for each of `metrics` (metric by metric, a line a run) for the range in view: as many M4
 * buckets as the plot has pixel columns (over `zoom`, or over all of the lines' range, on one grid), or every
 * point when `settings.every` (kept in `everyCache` by run, metric and axis).
 */
export async function loadLines(
  api: Api,
  chart: LineChart,
  runs: ChartRun[],
  metrics: readonly string[],
  settings: ChartSettings,
  zoom: [number, number] | null,
  everyCache: Map<string, Line>,
  signal: AbortSignal,
): Promise<LoadedLines> {
  const { axis } = settings;
  const ids = runs.map((r) => r.id);
  // One request for all the runs; a run without this metric draws nothing rather than failing the chart.
  const get = (
    metric: string,
    part: string[],
    q: { from: number; to: number; buckets: number } | { buckets: number },
  ) => api.downsampleRuns(part, metric, axis, q, signal);
  let buckets: (Downsampled | null)[][];
  let range: [number, number];
  const zoomed = zoom !== null;
  if (zoom) {
    const grid = chart.gridFor(zoom, true);
    buckets = await Promise.all(
      metrics.map((m) => get(m, ids, { from: grid.from, to: grid.to, buckets: grid.n })),
    );
    range = zoom;
  } else {
    buckets = await Promise.all(metrics.map((m) => get(m, ids, { buckets: chart.plotWidth })));
    const found = buckets.flat().filter((b): b is Downsampled => b !== null);
    range =
      found.length > 0
        ? [Math.min(...found.map((b) => b.from)), Math.max(...found.map((b) => b.to))]
        : [0, 1];
    const grid = chart.gridFor(range, false);
    const q = { from: grid.from, to: grid.to, buckets: grid.n };
    await Promise.all(
      metrics.map(async (m, k) => {
        const of = buckets[k] ?? [];
        const off = of.flatMap((b, i) => (b && (b.from !== grid.from || b.to !== grid.to) ? [i] : []));
        if (off.length === 0) return;
        // Lines answered in more than one request may sit on different grids: ask again on the common one.
        const again = await get(
          m,
          off.map((i) => ids[i] ?? ''),
          q,
        );
        off.forEach((i, n) => {
          of[i] = again[n] ?? null;
        });
      }),
    );
  }
  const flat = buckets.flat();
  let lines = flat.map((b) => (b ? lineFromBuckets(b) : { x: new Float64Array(0), y: new Float64Array(0) }));
  let points = 0;
  for (const b of flat) if (b) for (let i = 0; i < b.count.length; i++) points += b.count[i] ?? 0;
  if (settings.every) {
    const pairs = metrics.flatMap((metric) => runs.map((r) => ({ metric, run: r.id })));
    lines = await Promise.all(
      pairs.map(async ({ metric, run }, i) => {
        const drawn = lines[i] ?? { x: new Float64Array(0), y: new Float64Array(0) };
        if (flat[i] === null) return drawn;
        const key = `${run}\n${metric}\n${axis}`;
        let line = everyCache.get(key);
        if (!line) {
          line = await api.series(run, metric, axis, signal);
          everyCache.set(key, line);
        }
        return line;
      }),
    );
  }
  return { lines, range, zoomed, points, every: settings.every };
}

/**
 * A chart's lines as CSV: `run,<axis>,<metric>` for one metric, `run,metric,<axis>,value` for several; every
 * point (`all`) or those in `range`.
 */
export async function exportCsv(
  api: Api,
  runs: ChartRun[],
  metrics: readonly string[],
  axis: XAxis,
  shown: { lines: Line[]; range: [number, number] | null; all: boolean },
): Promise<void> {
  const { all, range } = shown;
  const pairs = metrics.flatMap((metric) => runs.map((r) => ({ metric, run: r })));
  const lines = all ? await Promise.all(pairs.map((p) => api.series(p.run.id, p.metric, axis))) : shown.lines;
  const one = metrics.length === 1;
  const header = one ? ['run', axis, metrics[0] ?? ''] : ['run', 'metric', axis, 'value'];
  const rows = [header.map(csvCell).join(',')];
  lines.forEach((line, i) => {
    const pair = pairs[i];
    const run = csvCell(pair?.run.label ?? '');
    const lead = one ? run : `${run},${csvCell(pair?.metric ?? '')}`;
    const [a, b] = all || !range ? [-Infinity, Infinity] : range;
    for (let k = 0; k < line.x.length; k++) {
      const x = line.x[k] ?? Number.NaN;
      if (x >= a && x <= b) rows.push(`${lead},${x},${line.y[k]}`);
    }
  });
  const file = (metrics[0] ?? 'chart').replace(/[^\w.-]+/g, '_');
  download(`${file}${all ? '' : '-shown'}.csv`, new Blob([`${rows.join('\n')}\n`], { type: 'text/csv' }));
}

/** The export menu of a chart: PNG, SVG, and CSV of the points shown or of every point. */
function ChartExportMenu(props: {
  chart: () => LineChart | null;
  file: string;
  onCsv: (all: boolean) => void;
}) {
  const { file } = props;
  return (
    <details className="export">
      <summary>Export</summary>
      <div className="export-menu">
        <button
          type="button"
          onClick={() => {
            const png = props.chart()?.toPng();
            if (png) download(`${file}.png`, png);
          }}
        >
          PNG
        </button>
        <button
          type="button"
          onClick={() => {
            const svg = props.chart()?.toSvg();
            if (svg) download(`${file}.svg`, new Blob([svg], { type: 'image/svg+xml' }));
          }}
        >
          SVG
        </button>
        <button type="button" onClick={() => props.onCsv(false)}>
          CSV of the points shown
        </button>
        <button type="button" onClick={() => props.onCsv(true)}>
          CSV of every point
        </button>
      </div>
    </details>
  );
}

/** A chart's buttons: export, full screen, log scale, zoom in and out, and show all. */
export function ChartButtons(props: {
  label: string;
  file: string;
  chart: () => LineChart | null;
  onCsv: (all: boolean) => void;
  full: boolean;
  onFull: () => void;
  log: boolean;
  onLog: () => void;
  range: [number, number] | null;
  zoomed: boolean;
  setZoom: (range: [number, number] | null) => void;
}) {
  const { label, range, setZoom } = props;
  return (
    <span className="zoom row">
      <ChartExportMenu chart={props.chart} file={props.file} onCsv={props.onCsv} />
      <button
        type="button"
        aria-pressed={props.full}
        aria-label={`Full screen: ${label}`}
        onClick={props.onFull}
      >
        ⛶
      </button>
      <button
        type="button"
        aria-pressed={props.log}
        onClick={props.onLog}
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
        disabled={!props.zoomed}
        aria-label={`Show all of ${label}`}
      >
        Reset
      </button>
    </span>
  );
}

const AXIS_TITLES: Record<XAxis, string> = {
  step: 'step',
  time: 'time since start',
  timestamp: 'date and time',
};

const HEIGHT = 260;

/**
 * The line chart in `holder`: made again when the axis, scale, theme or axis titles change (a right axis when
 * `y2Title` is given), sized to the holder and
 * to full screen when `figure` is. It says its plot width, cursor, drawn segments and ticks, and sets
 * `drawnKey` to `pending` (what the last drawing showed: `seq:source:view`, for tests and benchmarks to wait on).
 */
export function useLineChart(options: {
  axis: XAxis;
  log: boolean;
  yTitle: string;
  y2Title: string | null;
  cursorSync: { current: string };
  setZoom: (range: [number, number] | null) => void;
  onDrawn: () => void;
}) {
  const { axis, log, yTitle, y2Title, cursorSync: runIdsRef, setZoom, onDrawn } = options;
  const { theme } = useSession();
  const holder = useRef<HTMLDivElement>(null);
  const figure = useRef<HTMLElement>(null);
  const chartRef = useRef<LineChart | null>(null);
  const pending = useRef('');
  const [full, setFull] = useState(false);
  const [width, setWidth] = useState(0);
  const [cursor, setCursor] = useState<number | null>(null);
  const [drawn, setDrawn] = useState(0);
  const [ticks, setTicks] = useState<AxisTicks>({ x: [], y: [] });
  const [drawnKey, setDrawnKey] = useState('');
  // The chart itself: made again when the axis, scale or theme changes.
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const colors = chartColors();
    const chart = new LineChart(el, Math.max(200, el.clientWidth), {
      axis: axis,
      log,
      height: HEIGHT,
      colors,
      xTitle: AXIS_TITLES[axis],
      yTitle,
      ...(y2Title !== null ? { rightAxis: true, y2Title } : {}),
      cursorSync: runIdsRef.current,
      onZoom: (range) => setZoom(range),
      onCursor: setCursor,
      onDraw: (segments, shown) => {
        // Wider tick labels narrow the plot: fetch again for its new number of columns.
        const plot = chartRef.current?.plotWidth;
        if (plot !== undefined) setWidth(plot);
        setDrawn(segments);
        setTicks((old) =>
          sameTicks(old, shown) ? old : { x: [...shown.x], y: [...shown.y], y2: [...(shown.y2 ?? [])] },
        );
        setDrawnKey(pending.current);
        onDrawn();
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
  }, [axis, log, theme, yTitle, y2Title]);
  return { holder, figure, chartRef, pending, width, full, cursor, drawn, ticks, drawnKey };
}
