import type { RunView } from '@simscope/protocol';
import { type KeyboardEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import { AlertsPanel } from '../components/alerts-panel.js';
import { ArtifactsPanel } from '../components/artifacts-panel.js';
import { EventsPanel } from '../components/events-panel.js';
import { FieldsPanel } from '../components/fields-panel.js';
import { Link } from '../components/link.js';
import { canWrite, LoadError, Loading, problemOf } from '../components/load-state.js';
import { RanksPanel } from '../components/ranks-panel.js';
import { RunActions } from '../components/run-actions.js';
import { RunMetrics } from '../components/run-metrics.js';
import { RunOverview } from '../components/run-overview.js';
import { useTicks } from '../components/use-ticks.js';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';

/** What a tab of the run page gets: the run as last seen, and counters bumped by live changes. */
interface RunTabProps {
  run: RunView;
  metricsTick: number;
  eventsTick: number;
}

interface RunTab {
  id: string;
  label: string;
  render(props: RunTabProps): ReactNode;
}

const OVERVIEW: RunTab = {
  id: 'overview',
  label: 'Overview',
  render: (p) => <RunOverview run={p.run} metricsTick={p.metricsTick} />,
};

/** The run page's tabs, in order. A new view of a run is one more entry here. */
const RUN_TABS: RunTab[] = [
  OVERVIEW,
  { id: 'metrics', label: 'Metrics', render: (p) => <RunMetrics run={p.run} tick={p.metricsTick} /> },
  { id: 'events', label: 'Events', render: (p) => <EventsPanel run={p.run.id} tick={p.eventsTick} /> },
  {
    id: 'alerts',
    label: 'Alerts',
    render: (p) => <AlertsPanel run={p.run.id} tick={p.metricsTick + p.eventsTick} />,
  },
  { id: 'artifacts', label: 'Artifacts', render: (p) => <ArtifactsPanel run={p.run.id} /> },
  { id: 'fields', label: 'Fields', render: (p) => <FieldsPanel run={p.run.id} /> },
  { id: 'ranks', label: 'Ranks', render: (p) => <RanksPanel run={p.run.id} tick={p.metricsTick} /> },
];

/** One run: its header, and tabs for its overview, metrics and events; it follows live changes. */
export function RunPage({ runId, tab }: { runId: string; tab: string | null }) {
  const { api } = useSession();
  const [run, setRun] = useState<RunView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [metricsTick, setMetricsTick] = useState(0);
  const [eventsTick, setEventsTick] = useState(0);
  const active = RUN_TABS.find((t) => t.id === tab) ?? OVERVIEW;
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);

  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    api.run(runId, abort.signal).then(
      (r) => {
        setRun(r);
        document.title = `${r.name} · Simscope`;
      },
      (e: unknown) => {
        if (!abort.signal.aborted) setError(e);
      },
    );
    return () => {
      abort.abort();
      document.title = 'Simscope';
    };
  }, [api, runId, attempt]);

  const critical = useCriticalCount(run, metricsTick + eventsTick);

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
      <section aria-labelledby="run-error">
        <h1 id="run-error">{problemOf(error).kind === 'not-found' ? 'Run not found' : 'Run'}</h1>
        <LoadError error={error} what={`Loading run ${runId}`} onRetry={() => setAttempt((a) => a + 1)} />
        <p>
          <Link to="/">All runs</Link>
        </p>
      </section>
    );
  }
  if (!run) return <Loading what="run" />;

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
    const target = RUN_TABS[to];
    if (!target) return;
    e.preventDefault();
    go(target.id);
    tabRefs.current[to]?.focus();
  };

  return (
    <article aria-labelledby="run-name">
      <RunHeading run={run} critical={critical} onChanged={setRun} />
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

/**
 * How many alerts are critical on the run, for the header's badge; looked up again when the run or its data
 * change (`changes`), and every 10 s since states change on the server's schedule.
 */
function useCriticalCount(run: RunView | null, changes: number): number {
  const { api } = useSession();
  const [critical, setCritical] = useState(0);
  // The header's critical badge; states change on the server's schedule, so look again every 10 s too.
  const alertPoll = useTicks(10_000);
  useEffect(() => {
    if (!run) return;
    const abort = new AbortController();
    api.runAlerts(run.id, abort.signal, { critical: true }).then(
      (r) => setCritical(r.items.length),
      () => {},
    );
    return () => abort.abort();
  }, [api, run?.id, run?.status, changes, alertPoll]);
  return critical;
}

/** The run's name, status, folder, tags, critical badge and abort request, with selection and actions. */
function RunHeading({
  run,
  critical,
  onChanged,
}: {
  run: RunView;
  critical: number;
  onChanged(run: RunView): void;
}) {
  const { me, selection } = useSession();
  return (
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
          {critical > 0 ? (
            <Link
              className="badge badge-critical"
              to={href(`/runs/${encodeURIComponent(run.id)}`, { tab: 'alerts' })}
              data-testid="critical-badge"
            >
              {critical} critical {critical === 1 ? 'alert' : 'alerts'}
            </Link>
          ) : null}
          {run.abort.requested && (run.status === 'running' || run.status === 'created') ? (
            <span className="badge">abort requested</span>
          ) : null}
        </div>
      </div>
      <div className="run-tools">
        <label className="row">
          <input type="checkbox" checked={selection.has(run.id)} onChange={() => selection.toggle(run.id)} />
          Select for comparison
        </label>
        {canWrite(me.token.scopes) ? <RunActions run={run} onChanged={onChanged} /> : null}
      </div>
    </div>
  );
}
