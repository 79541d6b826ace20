import type { RunView, SeriesView } from '@simscope/protocol';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { SmoothingKind } from '../chart/columns.js';
import type { XAxis } from '../chart/line-chart.js';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';
import type { ChartEvents } from './chart-markers.js';
import type { ChartOverlay } from './chart-metric-picker.js';
import { ChartSettingsControls } from './chart-settings-controls.js';
import { type ChartSettings, MetricChart } from './metric-chart.js';
import {
  type Overlays,
  overlaysFromQuery,
  overlaysToQuery,
  useHasEvents,
  useSettled,
} from './run-chart-state.js';

const AXES: XAxis[] = ['step', 'time', 'timestamp'];
const KINDS: SmoothingKind[] = ['ema', 'time-ema', 'mean', 'gauss'];

/** The chart settings and zoom an address carries (`?axis=time&log=1&smooth=0.6&kind=gauss&outliers=1&zoom=a,b`). */
function chartStateFromQuery(q: URLSearchParams): {
  settings: ChartSettings;
  zoom: [number, number] | null;
} {
  const axis = q.get('axis') as XAxis | null;
  const kind = q.get('kind') as SmoothingKind | null;
  const smooth = Number(q.get('smooth'));
  const [from, to, ...rest] = (q.get('zoom') ?? '').split(',').map(Number);
  return {
    settings: {
      axis: axis && AXES.includes(axis) ? axis : 'step',
      log: q.get('log') === '1',
      smoothing: smooth > 0 && smooth < 1 ? smooth : 0,
      every: q.get('every') === '1',
      smoothingKind: kind && KINDS.includes(kind) ? kind : 'ema',
      ignoreOutliers: q.get('outliers') === '1',
    },
    zoom:
      from !== undefined &&
      to !== undefined &&
      rest.length === 0 &&
      Number.isFinite(from) &&
      to > from &&
      Number.isFinite(to)
        ? [from, to]
        : null,
  };
}

/** What the metrics tab keeps in the address besides the chart settings and zoom. */
interface TabState {
  search: string;
  overlays: Overlays;
  markers: boolean;
  eventFilter: string;
}

function chartQuery(
  settings: ChartSettings,
  zoom: [number, number] | null,
  tab: TabState,
): Record<string, string | null> {
  return {
    axis: settings.axis === 'step' ? null : settings.axis,
    log: settings.log ? '1' : null,
    smooth: settings.smoothing > 0 ? String(settings.smoothing) : null,
    kind:
      settings.smoothing > 0 && settings.smoothingKind !== 'ema' ? (settings.smoothingKind ?? null) : null,
    outliers: settings.ignoreOutliers ? '1' : null,
    every: settings.every ? '1' : null,
    zoom: zoom ? `${zoom[0]},${zoom[1]}` : null,
    metrics: tab.search || null,
    with: overlaysToQuery(tab.overlays),
    events: tab.markers ? null : '0',
    eventq: tab.eventFilter || null,
  };
}

const NONE: readonly ChartOverlay[] = [];

/**
 * A run's metrics, one chart each: one set of settings and one zoom for all of them (the hover cursor follows
 * across them too), metrics added to a chart, and the run's events as markers (`events=0` hides them, `eventq`
 * filters them), kept in the address so that a view can be shared by its link.
 */
export function RunMetrics({ run, tick }: { run: RunView; tick: number }) {
  const { api } = useSession();
  const initial = useMemo(() => new URLSearchParams(window.location.search), []);
  const [metrics, setMetrics] = useState<SeriesView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [search, setSearch] = useState(initial.get('metrics') ?? '');
  const [settings, setSettings] = useState<ChartSettings>(() => chartStateFromQuery(initial).settings);
  const [zoom, setZoom] = useState<[number, number] | null>(() => chartStateFromQuery(initial).zoom);
  const [overlays, setOverlays] = useState<Overlays>(() => overlaysFromQuery(initial.get('with')));
  const [markers, setMarkers] = useState(initial.get('events') !== '0');
  const [eventFilter, setEventFilter] = useState(initial.get('eventq') ?? '');
  const settledFilter = useSettled(eventFilter, 250);
  const hasEvents = useHasEvents(api, run.id, tick);
  const firstAxis = useRef(settings.axis);

  useEffect(() => {
    const abort = new AbortController();
    api.metrics(run.id, abort.signal).then(
      (m) => setMetrics(m.items),
      (e: Error) => !abort.signal.aborted && setError(e.message),
    );
    return () => abort.abort();
  }, [api, run.id, tick]);

  // A zoom means nothing on another x axis.
  useEffect(() => {
    if (settings.axis !== firstAxis.current) setZoom(null);
    firstAxis.current = settings.axis;
  }, [settings.axis]);

  useEffect(() => {
    const q = new URLSearchParams(window.location.search);
    const tab = { search, overlays, markers, eventFilter: settledFilter };
    const next = { ...Object.fromEntries(q), ...chartQuery(settings, zoom, tab) };
    const to = href(window.location.pathname, next);
    if (to !== `${window.location.pathname}${window.location.search}`) navigate(to, true);
  }, [settings, zoom, search, overlays, markers, settledFilter]);

  const runs = useMemo(() => [{ id: run.id, label: run.name }], [run.id, run.name]);
  const shown = (metrics ?? []).filter((m) => m.name.toLowerCase().includes(search.toLowerCase()));
  const set = (patch: Partial<ChartSettings>) => setSettings((s) => ({ ...s, ...patch }));
  const names = useMemo(() => (metrics ?? []).map((m) => m.name), [metrics]);
  const events: ChartEvents | null = useMemo(
    () => (markers && hasEvents ? { run: run.id, filter: settledFilter } : null),
    [markers, hasEvents, run.id, settledFilter],
  );
  const setOverlay = useCallback(
    (metric: string, extra: ChartOverlay[]) =>
      setOverlays((o) => {
        const { [metric]: _, ...rest } = o;
        return extra.length > 0 ? { ...rest, [metric]: extra } : rest;
      }),
    [],
  );

  return (
    <div>
      <div className="chart-controls">
        <label>
          Find metric <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <ChartSettingsControls settings={settings} set={set} />
        <label title="Fetch and draw every point instead of the downsampled buckets (they draw the same)">
          <input
            type="checkbox"
            checked={settings.every}
            onChange={(e) => set({ every: e.target.checked })}
          />{' '}
          every point
        </label>
        <span className="event-controls">
          <label title="The run's events as thin lines across the charts; hover one for its text">
            <input type="checkbox" checked={markers} onChange={(e) => setMarkers(e.target.checked)} /> event
            markers
          </label>{' '}
          <label>
            events containing{' '}
            <input
              type="search"
              value={eventFilter}
              disabled={!markers}
              onChange={(e) => setEventFilter(e.target.value)}
            />
          </label>
        </span>
      </div>
      {error ? <p className="error">{error}</p> : null}
      {metrics === null ? <p className="muted">Loading metrics…</p> : null}
      {metrics?.length === 0 ? <p className="muted">This run has no metrics yet.</p> : null}
      <div className="charts">
        {shown.map((m) => (
          <LazyChart
            key={m.name}
            metric={m.name}
            runs={runs}
            settings={settings}
            tick={tick}
            zoom={zoom}
            onZoom={setZoom}
            extra={overlays[m.name] ?? NONE}
            onExtra={setOverlay}
            available={names}
            events={events}
          />
        ))}
      </div>
    </div>
  );
}

/** A chart made once it scrolls into view, so a run with hundreds of metrics loads only what shows. */
function LazyChart({
  metric,
  runs,
  settings,
  tick,
  zoom,
  onZoom,
  extra,
  onExtra,
  available,
  events,
}: {
  metric: string;
  runs: { id: string; label: string }[];
  settings: ChartSettings;
  tick: number;
  zoom: [number, number] | null;
  onZoom(range: [number, number] | null): void;
  extra: readonly ChartOverlay[];
  onExtra(metric: string, extra: ChartOverlay[]): void;
  available: readonly string[];
  events: ChartEvents | null;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || visible) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setVisible(true);
      },
      { rootMargin: '200px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [visible]);
  return (
    <div ref={ref}>
      {visible ? (
        <MetricChart
          metric={metric}
          runs={runs}
          settings={settings}
          liveTick={tick}
          zoom={zoom}
          onZoomChange={onZoom}
          extra={extra}
          onExtraChange={(next) => onExtra(metric, next)}
          available={available}
          events={events}
        />
      ) : (
        <div className="chart-card" />
      )}
    </div>
  );
}
