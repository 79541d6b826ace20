import type { Json, RunView, SeriesView } from '@simscope/protocol';
import { type KeyboardEvent, type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { AlertsPanel } from '../components/alerts-panel.js';
import { ArtifactsPanel } from '../components/artifacts-panel.js';
import { ChartSettingsControls } from '../components/chart-settings-controls.js';
import { EventsPanel } from '../components/events-panel.js';
import { Link } from '../components/link.js';
import { type ChartSettings, MetricChart } from '../components/metric-chart.js';
import { formatDuration, formatTime, formatValue, runDuration } from '../format.js';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';

/** What a tab of the run page gets: the run as last seen, and counters bumped by live changes. */
export interface RunTabProps {
  run: RunView;
  metricsTick: number;
  eventsTick: number;
}

export interface RunTab {
  id: string;
  label: string;
  render(props: RunTabProps): ReactNode;
}

/** The run page's tabs, in order. A new view of a run is one more entry here. */
export const RUN_TABS: RunTab[] = [
  { id: 'overview', label: 'Overview', render: (p) => <Overview run={p.run} /> },
  { id: 'metrics', label: 'Metrics', render: (p) => <MetricsTab run={p.run} tick={p.metricsTick} /> },
  { id: 'events', label: 'Events', render: (p) => <EventsPanel run={p.run.id} tick={p.eventsTick} /> },
  {
    id: 'alerts',
    label: 'Alerts',
    render: (p) => <AlertsPanel run={p.run.id} tick={p.metricsTick + p.eventsTick} />,
  },
  { id: 'artifacts', label: 'Artifacts', render: (p) => <ArtifactsPanel run={p.run.id} /> },
];

/** One run: its header, and tabs for its overview, metrics and events; it follows live changes. */
export function RunPage({ runId, tab }: { runId: string; tab: string | null }) {
  const { api, selection } = useSession();
  const [run, setRun] = useState<RunView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [metricsTick, setMetricsTick] = useState(0);
  const [eventsTick, setEventsTick] = useState(0);
  const active = RUN_TABS.find((t) => t.id === tab) ?? RUN_TABS[0]!;
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);

  useEffect(() => {
    const abort = new AbortController();
    api.run(runId, abort.signal).then(
      (r) => {
        setRun(r);
        document.title = `${r.name} · Simscope`;
      },
      (e: Error) => {
        if (!abort.signal.aborted) setError(e.message);
      },
    );
    return () => {
      abort.abort();
      document.title = 'Simscope';
    };
  }, [api, runId]);

  useEffect(() => {
    if (!run) return;
    const abort = new AbortController();
    void api.live(
      [run.id],
      (m) => {
        if (m.type === 'run') setRun(m.run);
        else if (m.type === 'metrics') setMetricsTick((t) => t + 1);
        else if (m.type === 'events') setEventsTick((t) => t + 1);
      },
      () => {
        document.documentElement.dataset.liveReady = run.id;
      },
      abort.signal,
    );
    return () => abort.abort();
  }, [api, run?.id]);

  if (error) {
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  }
  if (!run) return <p className="muted">Loading run…</p>;

  const go = (id: string) =>
    navigate(href(`/runs/${encodeURIComponent(runId)}`, { tab: id === 'overview' ? null : id }), true);
  const onTabKey = (e: KeyboardEvent<HTMLButtonElement>, i: number) => {
    const n = RUN_TABS.length;
    const to =
      e.key === 'ArrowRight'
        ? (i + 1) % n
        : e.key === 'ArrowLeft'
          ? (i - 1 + n) % n
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? n - 1
              : -1;
    if (to < 0) return;
    e.preventDefault();
    go(RUN_TABS[to]!.id);
    tabRefs.current[to]?.focus();
  };

  return (
    <article aria-labelledby="run-name">
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <div>
          <h1 id="run-name">{run.name}</h1>
          <div className="row">
            <span className={`status status-${run.status}`} data-testid="run-status">
              {run.status}
            </span>
            <span className="muted">in</span>
            <Link to={href('/', { folder: run.folder === '/' ? null : run.folder })}>{run.folder}</Link>
            {run.tags.map((t) => (
              <span key={t} className="tag">
                {t}
              </span>
            ))}
          </div>
        </div>
        <label className="row">
          <input type="checkbox" checked={selection.has(run.id)} onChange={() => selection.toggle(run.id)} />
          Select for comparison
        </label>
      </div>
      <div role="tablist" aria-label="Run views">
        {RUN_TABS.map((t, i) => (
          <button
            key={t.id}
            ref={(el) => {
              tabRefs.current[i] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={t.id === active.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={t.id === active.id ? 0 : -1}
            onClick={() => go(t.id)}
            onKeyDown={(e) => onTabKey(e, i)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${active.id}`} aria-labelledby={`tab-${active.id}`}>
        {active.render({ run, metricsTick, eventsTick })}
      </div>
    </article>
  );
}

function JsonTable({ value, empty }: { value: Record<string, Json>; empty: string }) {
  const entries = Object.entries(value);
  if (entries.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="kv">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{typeof v === 'object' && v !== null ? JSON.stringify(v, null, 2) : formatValue(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Overview({ run }: { run: RunView }) {
  return (
    <div>
      <dl className="props">
        <dt>Status</dt>
        <dd>
          <span className={`status status-${run.status}`}>{run.status}</span>
          {run.abort.requested ? ` (abort requested${run.abort.reason ? `: ${run.abort.reason}` : ''})` : ''}
        </dd>
        <dt>Id</dt>
        <dd>
          <code>{run.id}</code>
        </dd>
        <dt>Created by</dt>
        <dd>{run.user ?? '—'}</dd>
        <dt>Created</dt>
        <dd>{formatTime(run.created)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(run.started)}</dd>
        <dt>Ended</dt>
        <dd>{formatTime(run.ended)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(runDuration(run.started, run.ended))}</dd>
        <dt>Last heartbeat</dt>
        <dd>
          {formatTime(run.heartbeat)}
          {run.heartbeatTimeout !== null ? ` (lost after ${run.heartbeatTimeout} s of silence)` : ''}
        </dd>
      </dl>
      <h2>Description</h2>
      {run.description ? (
        <p className="description">{run.description}</p>
      ) : (
        <p className="muted">No description.</p>
      )}
      <h2>Metadata</h2>
      <JsonTable value={run.metadata} empty="No metadata." />
      <h2>System</h2>
      <JsonTable value={run.system} empty="No system information." />
    </div>
  );
}

function MetricsTab({ run, tick }: { run: RunView; tick: number }) {
  const { api } = useSession();
  const [metrics, setMetrics] = useState<SeriesView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [search, setSearch] = useState('');
  const [settings, setSettings] = useState<ChartSettings>({
    axis: 'step',
    log: false,
    smoothing: 0,
    every: false,
  });

  useEffect(() => {
    const abort = new AbortController();
    api.metrics(run.id, abort.signal).then(
      (m) => setMetrics(m.items),
      (e: Error) => !abort.signal.aborted && setError(e.message),
    );
    return () => abort.abort();
  }, [api, run.id, tick]);

  const runs = useMemo(() => [{ id: run.id, label: run.name }], [run.id, run.name]);
  const shown = (metrics ?? []).filter((m) => m.name.toLowerCase().includes(search.toLowerCase()));
  const set = (patch: Partial<ChartSettings>) => setSettings((s) => ({ ...s, ...patch }));

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
      </div>
      {error ? <p className="error">{error}</p> : null}
      {metrics === null ? <p className="muted">Loading metrics…</p> : null}
      {metrics?.length === 0 ? <p className="muted">This run has no metrics yet.</p> : null}
      <div className="charts">
        {shown.map((m) => (
          <LazyChart key={m.name} metric={m.name} runs={runs} settings={settings} tick={tick} />
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
}: {
  metric: string;
  runs: { id: string; label: string }[];
  settings: ChartSettings;
  tick: number;
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
        <MetricChart metric={metric} runs={runs} settings={settings} liveTick={tick} />
      ) : (
        <div className="chart-card" />
      )}
    </div>
  );
}
