import {
  type Dispatch,
  type KeyboardEvent,
  type RefObject,
  type SetStateAction,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { countNonPositive, type Line, type SmoothingKind, smoothLine } from '../chart/columns.js';
import { type ChartSeries, type LineChart, panRange, type XAxis, zoomRange } from '../chart/line-chart.js';
import { chartColors, seriesColor, useSession } from '../session.js';
import {
  ChartButtons,
  ChartLegend,
  exportCsv,
  type LoadedLines,
  loadLines,
  useLineChart,
} from './metric-chart-parts.js';

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

interface Loaded extends LoadedLines {
  seq: number;
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
  const { zoom, setZoom, setOwnZoom } = useZoom(sharedZoom, onZoomChange);
  const [state, setState] = useState<'loading' | 'drawn' | 'error'>('loading');
  const [error, setError] = useState<string | null>(null);
  // This chart's own log or linear choice, over the page's setting until the page's changes.
  const [ownLog, setOwnLog] = useState<boolean | null>(null);
  const log = ownLog ?? settings.log;
  useEffect(() => setOwnLog(null), [settings.log]);
  // Data depends on the runs' ids only: labels may change (names arriving after ids) without a new fetch.
  const runIds = runs.map((r) => r.id).join('\n');
  const runIdsRef = useRef(runIds);
  runIdsRef.current = runIds;
  const palette = useMemo(() => chartColors().series, [theme]);

  const { holder, figure, chartRef, pending, width, full, cursor, drawn, ticks, drawnKey } = useLineChart({
    axis: settings.axis,
    log,
    metric,
    cursorSync: runIdsRef,
    setZoom,
    onDrawn: () => setState('drawn'),
  });

  const loaded = useChartData({
    chartRef,
    runs,
    metric,
    settings,
    zoom,
    width,
    liveTick,
    log,
    setOwnZoom,
    setState,
    setError,
  });

  const series: ChartSeries[] = useMemo(
    () => (loaded ? seriesOf(loaded.lines, runs, palette, settings) : []),
    [loaded, palette, runs, settings.smoothing, settings.smoothingKind],
  );

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
      const next = range ? zoomOfKey(e.key, range) : undefined;
      if (next === undefined) return;
      e.preventDefault();
      setZoom(next);
    },
    [range, setZoom],
  );

  const label = title ?? metric;
  const file = metric.replace(/[^\w.-]+/g, '_');
  const csv = (all: boolean) =>
    exportCsv(api, runs, metric, settings.axis, { lines: loaded?.lines ?? [], range, all });
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
        <ChartStatus loaded={loaded} failed={state === 'error'} hidden={hidden} total={total} />
        <ChartButtons
          label={label}
          file={file}
          chart={() => chartRef.current}
          onCsv={(all) => void (all ? csv(true).catch((e: Error) => setError(e.message)) : csv(false))}
          full={full}
          onFull={() =>
            void (document.fullscreenElement
              ? document.exitFullscreen()
              : figure.current?.requestFullscreen().catch((e: Error) => setError(e.message)))
          }
          log={log}
          onLog={() => setOwnLog(!log)}
          range={range}
          zoomed={loaded?.zoomed ?? false}
          setZoom={setZoom}
        />
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
      <ChartLegend
        runs={runs}
        lines={loaded?.lines}
        colors={runs.map((_, i) => seriesColor(palette, i))}
        axis={settings.axis}
        cursor={cursor}
      />
    </figure>
  );
}

/** The zoom a key asks for: + and − zoom, arrows pan, 0 and Escape show all; undefined for any other key. */
function zoomOfKey(key: string, range: [number, number]): [number, number] | null | undefined {
  if (key === '+' || key === '=') return zoomRange(range, 0.5);
  if (key === '-' || key === '_') return zoomRange(range, 2);
  if (key === 'ArrowLeft') return panRange(range, -0.2);
  if (key === 'ArrowRight') return panRange(range, 0.2);
  if (key === '0' || key === 'Escape') return null;
  return undefined;
}

/** A line a run, and with smoothing the raw line faded under the smoothed one. */
function seriesOf(
  lines: Line[],
  runs: ChartRun[],
  palette: string[],
  settings: ChartSettings,
): ChartSeries[] {
  const out: ChartSeries[] = [];
  lines.forEach((line, i) => {
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
}

/** The chart's zoom: shared with other charts (`zoom` with `onZoomChange`), or its own. */
function useZoom(
  sharedZoom?: [number, number] | null,
  onZoomChange?: (range: [number, number] | null) => void,
) {
  const [ownZoom, setOwnZoom] = useState<[number, number] | null>(null);
  const zoom = onZoomChange ? (sharedZoom ?? null) : ownZoom;
  const zoomSetter = useRef(onZoomChange ?? setOwnZoom);
  zoomSetter.current = onZoomChange ?? setOwnZoom;
  const setZoom = useCallback((z: [number, number] | null) => zoomSetter.current(z), []);
  return { zoom, setZoom, setOwnZoom };
}

/** How many points the chart stands for, and what a log scale leaves out. */
function ChartStatus(props: { loaded: LoadedLines | null; failed: boolean; hidden: number; total: number }) {
  const { loaded, hidden } = props;
  const points = loaded?.points ?? 0;
  return (
    <>
      <span className="muted" aria-live="polite">
        {/* The empty chart draws before its data comes: until then it is loading, not "0 points". */}
        {!loaded
          ? props.failed
            ? 'not loaded'
            : 'loading…'
          : `${points.toLocaleString('en')} points${loaded.zoomed ? ' in view' : ''}`}
      </span>
      {hidden > 0 ? (
        <span className="muted" data-testid="log-hidden">
          {hidden === props.total ? 'no values above 0 to draw' : 'values ≤ 0 not drawn'} on a log scale
        </span>
      ) : null}
    </>
  );
}

/**
 * The chart's lines for the range in view, loaded again when the runs, metric, axis, zoom, plot width, scale or
 * theme change or a live tick comes; every-point lines are kept until the runs, metric or axis change.
 */
function useChartData(args: {
  chartRef: RefObject<LineChart | null>;
  runs: ChartRun[];
  metric: string;
  settings: ChartSettings;
  zoom: [number, number] | null;
  width: number;
  liveTick: number;
  log: boolean;
  setOwnZoom: (zoom: [number, number] | null) => void;
  setState: Dispatch<SetStateAction<'loading' | 'drawn' | 'error'>>;
  setError: (message: string) => void;
}): Loaded | null {
  const { chartRef, runs, metric, settings, zoom, width, liveTick, log, setOwnZoom, setState, setError } =
    args;
  const { api, theme } = useSession();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const seq = useRef(0);
  const everyCache = useRef(new Map<string, Line>());
  // Data depends on the runs' ids only: labels may change (names arriving after ids) without a new fetch.
  const runIds = runs.map((r) => r.id).join('\n');
  const runsRef = useRef(runs);
  runsRef.current = runs;

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
    setState((s) => (s === 'drawn' ? s : 'loading'));
    loadLines(api, chart, runs, metric, settings, zoom, everyCache.current, abort.signal)
      .then((got) => {
        if (!abort.signal.aborted) setLoaded({ ...got, seq: ++seq.current });
      })
      .catch((e: Error) => {
        if (abort.signal.aborted) return;
        setError(e.message);
        setState('error');
      });
    return () => abort.abort();
  }, [api, metric, runIds, settings.axis, settings.every, log, zoom, width, liveTick, theme]);
  return loaded;
}
