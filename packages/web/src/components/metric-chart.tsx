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
import { countNonPositive, type Line, type SmoothingKind } from '../chart/columns.js';
import { type Marker, markerNear } from '../chart/event-markers.js';
import { type LineChart, panRange, type XAxis, zoomRange } from '../chart/line-chart.js';
import { chartColors, useSession } from '../session.js';
import { ChartLegend, useLegendSeries } from './chart-legend.js';
import { type ChartEvents, useChartMarkers } from './chart-markers.js';
import { ChartMetricPicker, type ChartOverlay, EventTip, MarkerNote } from './chart-metric-picker.js';
import { ChartButtons, exportCsv, type LoadedLines, loadLines, useLineChart } from './metric-chart-parts.js';

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

const NO_OVERLAYS: readonly ChartOverlay[] = [];

interface MetricChartProps {
  metric: string;
  runs: ChartRun[];
  settings: ChartSettings;
  liveTick?: number;
  title?: string;
  /** A zoom shared with other charts (with `onZoomChange`); without, the chart keeps its own. */
  zoom?: [number, number] | null;
  onZoomChange?(range: [number, number] | null): void;
  /** More metrics drawn on this chart, each on the left y axis or a right one. */
  extra?: readonly ChartOverlay[];
  /** With it, the chart offers the `available` metrics to add. */
  onExtraChange?(extra: ChartOverlay[]): void;
  available?: readonly string[];
  /** The run's events to draw as markers on the x axis (null: none). */
  events?: ChartEvents | null;
}

/**
 * One metric (and any `extra` ones) of one or more runs on one chart, with the run's events as markers when
 * `events` is given. It asks the server for as many M4 buckets as the plot has pixel
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
  extra = NO_OVERLAYS,
  onExtraChange,
  available = [],
  events = null,
}: MetricChartProps) {
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
  const { metrics, names, yTitle, y2Title } = useChartMetrics(metric, extra);

  const { holder, figure, chartRef, pending, width, full, cursor, drawn, ticks, drawnKey } = useLineChart({
    axis: settings.axis,
    log,
    yTitle,
    y2Title,
    cursorSync: runIdsRef,
    setZoom,
    onDrawn: () => setState('drawn'),
  });

  const loaded = useChartData({
    chartRef,
    runs,
    metrics: names,
    settings,
    zoom,
    width,
    liveTick,
    log,
    setOwnZoom,
    setState,
    setError,
  });

  const legend = useLegendSeries(loaded?.lines ?? null, runs, metrics, palette, settings);
  const { series } = legend;

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart || !loaded) return;
    pending.current = `${loaded.seq}:${loaded.every ? 'every' : 'buckets'}:${loaded.zoomed ? 'zoomed' : 'all'}`;
    chart.draw(series, loaded.range, loaded.zoomed, settings.ignoreOutliers ?? false);
  }, [series, loaded, settings.ignoreOutliers]);

  const placed = useChartMarkers({ api, events, metric, axis: settings.axis, loaded, liveTick, chartRef });
  // A log axis cannot show values at or below 0: they are left out, and the chart says so.
  const nonPositive = useMemo(() => (log && loaded ? countNonPositive(loaded.lines) : 0), [log, loaded]);
  const count = (of: 'x' | 'y') => (loaded ? loaded.lines.reduce((a, l) => a + l[of].length, 0) : 0);
  const range = loaded?.range ?? null;

  const label = title ?? metric;
  const file = metric.replace(/[^\w.-]+/g, '_');
  const csv = (all: boolean) =>
    exportCsv(api, runs, names, settings.axis, { lines: loaded?.lines ?? [], range, all });
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
      data-line-points={count('x')}
      data-range={range ? `${range[0]},${range[1]}` : ''}
      data-log={log ? 'true' : 'false'}
      data-x-ticks={ticks.x.join('|')}
      data-y-ticks={ticks.y.join('|')}
      data-y2-ticks={(ticks.y2 ?? []).join('|')}
      data-markers={placed ? placed.markers.length : 0}
      style={{ margin: 0 }}
    >
      <header>
        <h3>{label}</h3>
        <ChartStatus loaded={loaded} failed={state === 'error'} hidden={nonPositive} total={count('y')} />
        {events ? <MarkerNote placed={placed} metric={metric} /> : null}
        <ChartButtons
          label={label}
          file={file}
          chart={() => chartRef.current}
          onCsv={(all) => void (all ? csv(true).catch((e: Error) => setError(e.message)) : csv(false))}
          full={full}
          onFull={() => toggleFullScreen(figure.current, setError)}
          log={log}
          onLog={() => setOwnLog(!log)}
          range={range}
          zoomed={loaded?.zoomed ?? false}
          setZoom={setZoom}
        />
      </header>
      {onExtraChange ? (
        <ChartMetricPicker
          label={label}
          metric={metric}
          extra={extra}
          available={available}
          onChange={onExtraChange}
        />
      ) : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <ChartPlot
        holder={holder}
        chart={chartRef.current}
        label={`Chart of ${label} by ${settings.axis}`}
        range={range}
        setZoom={setZoom}
        markers={placed?.markers ?? null}
        cursor={cursor}
      />
      <ChartLegend
        entries={legend.entries}
        lines={loaded?.lines}
        axis={settings.axis}
        cursor={cursor}
        hidden={legend.hidden}
        onHover={legend.setHover}
        onToggle={legend.toggle}
      />
    </figure>
  );
}

function toggleFullScreen(el: HTMLElement | null, onError: (message: string) => void): void {
  if (document.fullscreenElement) void document.exitFullscreen();
  else el?.requestFullscreen().catch((e: Error) => onError(e.message));
}

/** The plot (keys zoom and pan it) and the event under the pointer. */
function ChartPlot(props: {
  holder: RefObject<HTMLDivElement | null>;
  chart: LineChart | null;
  label: string;
  range: [number, number] | null;
  setZoom(range: [number, number] | null): void;
  markers: readonly Marker[] | null;
  cursor: number | null;
}) {
  const { chart, range, setZoom, markers, cursor } = props;
  const keys = useCallback(
    (e: KeyboardEvent<HTMLDivElement>) => {
      const next = range ? zoomOfKey(e.key, range) : undefined;
      if (next === undefined) return;
      e.preventDefault();
      setZoom(next);
    },
    [range, setZoom],
  );
  const near =
    markers && cursor !== null && chart ? markerNear(markers, cursor, 4 * chart.unitsPerPixel) : null;
  return (
    <div style={{ position: 'relative' }}>
      <div
        className="plot"
        ref={props.holder}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the plot takes keys to zoom and pan
        tabIndex={0}
        role="img"
        aria-label={`${props.label}. Drag to zoom; keys: + and − zoom, arrows pan, 0 shows all.`}
        onKeyDown={keys}
      />
      {near && chart ? <EventTip at={chart.cssLeft(near.x) + 8} event={near.event} /> : null}
    </div>
  );
}

/** The chart's metrics (its own first), their names, and the titles of the left and right y axes. */
function useChartMetrics(metric: string, extra: readonly ChartOverlay[]) {
  const extraKey = extra.map((e) => `${e.metric}\t${e.right}`).join('\n');
  const metrics = useMemo(() => [{ metric, right: false }, ...extra], [metric, extraKey]);
  const names = useMemo(() => metrics.map((m) => m.metric), [metrics]);
  const title = (right: boolean) =>
    metrics
      .filter((m) => m.right === right)
      .map((m) => m.metric)
      .join(', ');
  return { metrics, names, yTitle: title(false), y2Title: title(true) || null };
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
  metrics: readonly string[];
  settings: ChartSettings;
  zoom: [number, number] | null;
  width: number;
  liveTick: number;
  log: boolean;
  setOwnZoom: (zoom: [number, number] | null) => void;
  setState: Dispatch<SetStateAction<'loading' | 'drawn' | 'error'>>;
  setError: (message: string) => void;
}): Loaded | null {
  const { chartRef, runs, metrics, settings, zoom, width, liveTick, log, setOwnZoom, setState, setError } =
    args;
  // Data depends on the metrics' names only (not the axis they are drawn against).
  const metric = metrics.join('\n');
  const metricsRef = useRef(metrics);
  metricsRef.current = metrics;
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
    loadLines(api, chart, runs, metricsRef.current, settings, zoom, everyCache.current, abort.signal)
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
