import type { RunView } from '@simscope/protocol';
import type { AggregateView, DashboardView } from '@simscope/protocol/api';
import { useEffect, useMemo, useRef, useState } from 'react';
import { ChartSettingsControls } from '../components/chart-settings-controls.js';
import { Link } from '../components/link.js';
import { type ChartRun, type ChartSettings, MetricChart } from '../components/metric-chart.js';
import { OverlayChart } from '../components/overlay-chart.js';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';
import { BandChart, type BandKind } from '../sweep/band-chart.js';
import { differingKeys, GroupControls, MetadataTable } from './compare-metadata.js';
import { DashboardBar } from './dashboard-bar.js';

/** Runs drawn one line each at first (more on request): past a few dozen lines a chart says little. */
const INDIVIDUAL_CAP = 20;

const FIRST_SETTINGS: ChartSettings = { axis: 'step', log: false, smoothing: 0, every: false };

/** Metric name prefixes of resource metrics, shown in a section of their own after the solver's metrics. */
const RESOURCE_PREFIXES = new Set([
  'system',
  'sys',
  'resources',
  'resource',
  'gpu',
  'cpu',
  'memory',
  'disk',
  'network',
]);

/** Metric names in sections by their prefix (before the first `/`), resource metrics apart and last. */
function metricSections(names: readonly string[]): { title: string; resource: boolean; names: string[] }[] {
  const by = new Map<string, string[]>();
  for (const name of [...names].sort()) {
    const slash = name.indexOf('/');
    const prefix = slash > 0 ? name.slice(0, slash) : '';
    const list = by.get(prefix) ?? [];
    by.set(prefix, list);
    list.push(name);
  }
  return [...by.entries()]
    .map(([prefix, list]) => ({
      title: prefix || 'metrics',
      resource: RESOURCE_PREFIXES.has(prefix.toLowerCase()),
      names: list,
    }))
    .sort(
      (a, b) =>
        Number(a.resource) - Number(b.resource) ||
        (a.title === 'metrics' ? -1 : b.title === 'metrics' ? 1 : a.title.localeCompare(b.title)),
    );
}

/** Mounts its children once it comes near the screen, so a grid of many charts loads the ones in view first. */
function WhenVisible({ children, height }: { children: React.ReactNode; height: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || seen) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setSeen(true);
      },
      { rootMargin: '300px' },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [seen]);
  return (
    <div ref={ref} style={seen ? undefined : { minHeight: height }}>
      {seen ? children : null}
    </div>
  );
}

/** The metric names of the first runs (all pages of each), for the grid; null while loading or without runs. */
function useGridMetrics(runs: RunView[] | null, onError: (message: string) => void): string[] | null {
  const { api } = useSession();
  const [runMetrics, setRunMetrics] = useState<string[] | null>(null);
  // The grid's metrics: those of the first runs drawn (each run's names, all pages).
  useEffect(() => {
    if (!runs) return;
    const abort = new AbortController();
    setRunMetrics(null);
    (async () => {
      const found = new Set<string>();
      for (const run of runs.slice(0, INDIVIDUAL_CAP)) {
        const pages = api.pages('listMetricNames', {
          params: { run: run.id },
          query: { limit: 1000 },
          signal: abort.signal,
        });
        for await (const items of pages) for (const item of items) found.add(item.name);
      }
      setRunMetrics([...found]);
    })().catch((e: Error) => !abort.signal.aborted && onError(e.message));
    return () => abort.abort();
  }, [api, runs]);

  return runMetrics;
}

/** The groups' bands of one metric, from `POST /metrics/aggregate`; nothing without a metric and a grouping. */
function useBands(
  ids: string[],
  metric: string | null,
  group: string | null,
  axis: ChartSettings['axis'],
): { bands: AggregateView | null; bandError: string | null } {
  const { api } = useSession();
  const [bands, setBands] = useState<AggregateView | null>(null);
  const [bandError, setBandError] = useState<string | null>(null);
  // Bands of the groups, computed on the server from each run's M4 buckets.
  useEffect(() => {
    if (!group || !metric || ids.length === 0) return;
    const abort = new AbortController();
    setBands(null);
    setBandError(null);
    api
      .call('aggregateMetric', {
        body: { runs: ids, name: metric, by: group, x: axis, buckets: 500 },
        signal: abort.signal,
      })
      .then(setBands)
      .catch((e: Error) => !abort.signal.aborted && setBandError(e.message));
    return () => abort.abort();
  }, [api, ids.join(','), metric, group, axis]);

  return { bands, bandError };
}

/** The grid of all metrics: a section per name prefix (open or closed), a chart per metric. */
function MetricGrid({
  sections,
  runs,
  settings,
  collapsed,
  setCollapsed,
  onOpen,
}: {
  sections: ReturnType<typeof metricSections>;
  runs: ChartRun[];
  settings: ChartSettings;
  collapsed: ReadonlySet<string>;
  setCollapsed: React.Dispatch<React.SetStateAction<ReadonlySet<string>>>;
  onOpen(name: string): void;
}) {
  return (
    <>
      {sections.map((section) => (
        <details
          key={section.title}
          open={!collapsed.has(section.title)}
          onToggle={(e) => {
            const open = (e.currentTarget as HTMLDetailsElement).open;
            setCollapsed((c) => {
              if (open === !c.has(section.title)) return c;
              const next = new Set(c);
              if (open) next.delete(section.title);
              else next.add(section.title);
              return next;
            });
          }}
          className="metric-section"
          data-section={section.title}
        >
          <summary>
            <h2>
              {section.resource ? 'Resources: ' : ''}
              {section.title} <span className="muted">({section.names.length})</span>
            </h2>
          </summary>
          <div className="chart-grid">
            {section.names.map((name) => (
              <WhenVisible key={name} height={320}>
                <MetricChart metric={name} runs={runs} settings={settings} />
                <button type="button" className="link-button" onClick={() => onOpen(name)}>
                  Open {name} alone (group, bands)
                </button>
              </WhenVisible>
            ))}
          </div>
        </details>
      ))}
    </>
  );
}

/**
 * The selected runs side by side: a grid of all their metrics in sections (or one metric, `metric`), optionally
 * grouped by a metadata key, tag or folder into bands computed on the server, and the metadata that tells them apart.
 */
export function ComparePage({
  runs: ids,
  metric,
  group = null,
  band = 'std',
  dashboard = null,
}: {
  runs: string[];
  metric: string | null;
  group?: string | null;
  band?: BandKind;
  /** A saved layout's id: the page opens it (runs, metric, grouping, settings). */
  dashboard?: string | null;
}) {
  const { selection } = useSession();
  const [current, setCurrent] = useState<DashboardView | null>(null);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [cap, setCap] = useState(INDIVIDUAL_CAP);
  const [settings, setSettings] = useState<ChartSettings>(FIRST_SETTINGS);
  const key = ids.join(',');
  const go = (patch: Record<string, string | null>) =>
    navigate(
      href('/compare', {
        runs: key,
        metric,
        group,
        band: band === 'std' ? null : band,
        dashboard: current?.id ?? dashboard,
        ...patch,
      }),
      true,
    );

  useOpenDashboard(dashboard, current, {
    onOpen: (d) => {
      setCurrent(d);
      const l = d.layout;
      setSettings((s) => ({ ...s, axis: l.x ?? s.axis, log: l.log ?? s.log }));
      setCollapsed(new Set(l.collapsed ?? []));
    },
    onClosed: () => setCurrent(null),
    onError: setError,
  });

  const runs = useCompareRuns(ids, setError);
  const names = useWorkspaceMetricNames(runs);

  const runMetrics = useGridMetrics(metric ? null : runs, setError);
  const { bands, bandError } = useBands(ids, metric, group, settings.axis);

  // The chart starts on the ids from the address; names replace them as the runs arrive.
  const chartRuns = useMemo(() => {
    const names = new Map((runs ?? []).map((r) => [r.id, r.name]));
    return ids.map((id) => ({ id, label: names.get(id) ?? id }));
  }, [runs, key]);
  const groupKeys = useMemo(() => (runs ? differingKeys(runs, true).map((d) => d.key) : []), [runs]);
  const sections = useMemo(() => metricSections(runMetrics ?? []), [runMetrics]);

  const layout = (): DashboardView['layout'] => ({
    runs: ids,
    metric,
    group,
    band,
    x: settings.axis,
    log: settings.log,
    collapsed: [...collapsed],
  });
  const dashboards = (
    <DashboardBar
      current={current}
      layout={ids.length > 0 ? layout : null}
      onSaved={(d, created) => {
        setCurrent(d);
        if (created) go({ dashboard: d.id });
      }}
    />
  );
  if (ids.length === 0) {
    return (
      <section>
        <h1>Compare runs</h1>
        {dashboards}
        <p>
          Select runs in the <Link to="/">runs table</Link> (the checkbox of each row), then compare them
          here.
        </p>
      </section>
    );
  }
  if (error)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  const set = (patch: Partial<ChartSettings>) => setSettings((s) => ({ ...s, ...patch }));
  // Grouped, runs are drawn one by one only up to the cap; ungrouped, a single metric draws all of them.
  const capped = group || !metric ? chartRuns.slice(0, cap) : chartRuns;
  const more = chartRuns.length - capped.length;

  return (
    <section aria-labelledby="compare-heading">
      <h1 id="compare-heading">
        Compare {ids.length} runs{current ? ` — ${current.name}` : ''}
      </h1>
      {dashboards}
      <CompareControls
        metric={metric}
        names={names}
        controls={metric ? <GroupControls group={group} band={band} keys={groupKeys} go={go} /> : null}
        settings={settings}
        set={set}
        go={go}
        onKeep={() => selection.set(ids)}
      />
      <CompareCharts
        metric={metric}
        group={group}
        band={band}
        bands={bands}
        bandError={bandError}
        runs={capped}
        settings={settings}
        runMetrics={runMetrics}
        sections={sections}
        collapsed={collapsed}
        setCollapsed={setCollapsed}
        onOpen={(name) => go({ metric: name })}
        names={names}
      />
      {more > 0 ? (
        <p className="runs-cap" data-more={more}>
          {capped.length} of {chartRuns.length} runs drawn one by one.{' '}
          <button type="button" onClick={() => setCap((c) => c + INDIVIDUAL_CAP)}>
            {Math.min(more, INDIVIDUAL_CAP)} more
          </button>{' '}
          <button type="button" onClick={() => setCap(chartRuns.length)}>
            All {more} more
          </button>
        </p>
      ) : null}
      <h2>Metadata</h2>
      {runs ? <MetadataTable runs={runs} /> : <p className="muted">Loading {ids.length} runs…</p>}
    </section>
  );
}

/** Opens the saved layout the address names (`onOpen`), and puts its runs, metric and grouping in the address. */
function useOpenDashboard(
  dashboard: string | null,
  current: DashboardView | null,
  on: { onOpen(d: DashboardView): void; onClosed(): void; onError(message: string): void },
): void {
  const { api } = useSession();
  useEffect(() => {
    if (!dashboard) {
      on.onClosed();
      return;
    }
    if (current?.id === dashboard) return;
    const abort = new AbortController();
    api
      .call('getDashboard', { params: { dashboard }, signal: abort.signal })
      .then((d) => {
        on.onOpen(d);
        const l = d.layout;
        navigate(
          href('/compare', {
            runs: (l.runs ?? []).join(','),
            metric: l.metric ?? null,
            group: l.group ?? null,
            band: l.band === 'range' ? 'range' : null,
            dashboard: d.id,
          }),
          true,
        );
      })
      .catch((e: Error) => !abort.signal.aborted && on.onError(`Dashboard: ${e.message}`));
    return () => abort.abort();
  }, [api, dashboard]);
}

/** The runs of `ids`, in that order (100 ids a request). */
function useCompareRuns(ids: string[], onError: (message: string) => void): RunView[] | null {
  const { api } = useSession();
  const [runs, setRuns] = useState<RunView[] | null>(null);
  const key = ids.join(',');
  useEffect(() => {
    if (ids.length === 0) return;
    const abort = new AbortController();
    (async () => {
      const found: RunView[] = [];
      for (let i = 0; i < ids.length; i += 100) {
        const part = ids.slice(i, i + 100);
        const filter = part.map((id) => `id == ${JSON.stringify(id)}`).join(' or ');
        const page = await api.call('listRuns', { query: { filter, limit: 1000 }, signal: abort.signal });
        found.push(...page.items);
      }
      const byId = new Map(found.map((r) => [r.id, r]));
      setRuns(ids.map((id) => byId.get(id)).filter((r): r is RunView => r !== undefined));
    })().catch((e: Error) => !abort.signal.aborted && onError(e.message));
    return () => abort.abort();
  }, [api, key]);

  return runs;
}

/** Metric names for the picker: those of the workspace, in one request rather than one per run. */
function useWorkspaceMetricNames(runs: RunView[] | null): string[] {
  const { api } = useSession();
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    if (!runs || runs.length === 0) return;
    const abort = new AbortController();
    api
      .runTable({ limit: 1, metricNames: true }, abort.signal)
      .then((table) => setNames(table.metricNames ?? []))
      .catch(() => {});
    return () => abort.abort();
  }, [api, runs]);
  return names;
}

/**
 * The charts of the compare page: with a metric and a grouping, the groups' bands and then the runs one by one;
 * with a metric alone, one chart of it; without, the grid of every metric of the runs.
 */
function CompareCharts({
  metric,
  group,
  band,
  bands,
  bandError,
  runs,
  settings,
  runMetrics,
  sections,
  collapsed,
  setCollapsed,
  onOpen,
  names,
}: {
  /** The workspace's metric names, to add to a chart of one metric. */
  names: readonly string[];
  metric: string | null;
  group: string | null;
  band: BandKind;
  bands: AggregateView | null;
  bandError: string | null;
  runs: ChartRun[];
  settings: ChartSettings;
  runMetrics: string[] | null;
  sections: ReturnType<typeof metricSections>;
  collapsed: ReadonlySet<string>;
  setCollapsed: React.Dispatch<React.SetStateAction<ReadonlySet<string>>>;
  onOpen(metric: string): void;
}) {
  return (
    <>
      {metric && group ? (
        bandError ? (
          <p className="error" role="alert">
            {bandError}
          </p>
        ) : bands ? (
          <BandChart data={bands} kind={band} />
        ) : (
          <p className="muted">Loading the groups of {metric}…</p>
        )
      ) : null}
      {metric && group ? <h2>Runs one by one</h2> : null}
      {metric && group && !bands && !bandError ? null : metric ? (
        // Grouped, the single lines wait for the bands, so that both do not contend for the server at once.
        <OverlayChart metric={metric} runs={runs} settings={settings} available={names} />
      ) : runMetrics === null ? (
        <p className="muted">Loading the metrics of these runs…</p>
      ) : runMetrics.length === 0 ? (
        <p className="muted">These runs have no metrics.</p>
      ) : (
        <MetricGrid
          sections={sections}
          runs={runs}
          settings={settings}
          collapsed={collapsed}
          setCollapsed={setCollapsed}
          onOpen={onOpen}
        />
      )}
    </>
  );
}

/** The metric picker, the grouping controls (`controls`), the chart settings, and keeping the runs selected. */
function CompareControls({
  metric,
  names,
  controls,
  settings,
  set,
  go,
  onKeep,
}: {
  metric: string | null;
  names: string[];
  controls: React.ReactNode;
  settings: ChartSettings;
  set(patch: Partial<ChartSettings>): void;
  go(patch: Record<string, string | null>): void;
  onKeep(): void;
}) {
  return (
    <div className="chart-controls">
      <label>
        Metric{' '}
        <select value={metric ?? ''} onChange={(e) => go({ metric: e.target.value || null })}>
          <option value="">All metrics (grid)</option>
          {metric && !names.includes(metric) ? <option value={metric}>{metric}</option> : null}
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      {controls}
      <ChartSettingsControls settings={settings} set={set} />
      <button type="button" onClick={onKeep}>
        Keep these selected
      </button>
    </div>
  );
}
