import type { Json, RunView } from '@simscope/protocol';
import { useEffect, useMemo, useState } from 'react';
import { ChartSettingsControls } from '../components/chart-settings-controls.js';
import { Link } from '../components/link.js';
import { type ChartSettings, MetricChart } from '../components/metric-chart.js';
import { flatten, formatValue } from '../format.js';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';

/** The metadata keys whose values are not the same in every run (all keys with `all`). */
export function differingKeys(
  runs: RunView[],
  all: boolean,
): { key: string; values: (Json | undefined)[] }[] {
  const flat = runs.map((r) => flatten(r.metadata));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const out: { key: string; values: (Json | undefined)[] }[] = [];
  for (const key of keys) {
    const values = flat.map((f) => f[key]);
    const texts = new Set(values.map((v) => JSON.stringify(v ?? null)));
    if (all || texts.size > 1 || values.some((v) => v === undefined)) out.push({ key, values });
  }
  return out;
}

/** One metric of the selected runs on one chart, and the metadata that tells them apart. */
export function ComparePage({ runs: ids, metric }: { runs: string[]; metric: string | null }) {
  const { api, selection } = useSession();
  const [runs, setRuns] = useState<RunView[] | null>(null);
  const [names, setNames] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [all, setAll] = useState(false);
  const [settings, setSettings] = useState<ChartSettings>({
    axis: 'step',
    log: false,
    smoothing: 0,
    every: false,
  });
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
    })().catch((e: Error) => !abort.signal.aborted && setError(e.message));
    return () => abort.abort();
  }, [api, key]);

  // Metric names for the picker: those of the workspace, in one request rather than one per run.
  useEffect(() => {
    if (!runs || runs.length === 0) return;
    const abort = new AbortController();
    (async () => {
      if (!metric) {
        const first = await api.metrics(runs[0]!.id, abort.signal);
        if (first.items[0]) navigate(href('/compare', { runs: key, metric: first.items[0].name }), true);
      }
      const table = await api.runTable({ limit: 1, metricNames: true }, abort.signal);
      setNames(table.metricNames ?? []);
    })().catch(() => {});
    return () => abort.abort();
  }, [api, runs]);

  // The chart starts on the ids from the address; names replace them as the runs arrive.
  const chartRuns = useMemo(() => {
    const names = new Map((runs ?? []).map((r) => [r.id, r.name]));
    return ids.map((id) => ({ id, label: names.get(id) ?? id }));
  }, [runs, key]);
  const diff = useMemo(() => (runs ? differingKeys(runs, all) : []), [runs, all]);

  if (ids.length === 0) {
    return (
      <section>
        <h1>Compare runs</h1>
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

  return (
    <section aria-labelledby="compare-heading">
      <h1 id="compare-heading">Compare {ids.length} runs</h1>
      <div className="chart-controls">
        <label>
          Metric{' '}
          <select
            value={metric ?? ''}
            onChange={(e) => navigate(href('/compare', { runs: key, metric: e.target.value }), true)}
          >
            {metric && !names.includes(metric) ? <option value={metric}>{metric}</option> : null}
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <ChartSettingsControls settings={settings} set={set} />
        <button type="button" onClick={() => selection.set(ids)}>
          Keep these selected
        </button>
      </div>
      {metric ? (
        <MetricChart metric={metric} runs={chartRuns} settings={settings} />
      ) : (
        <p className="muted">These runs have no metrics.</p>
      )}
      <h2>Metadata</h2>
      {runs ? (
        <>
          <label>
            <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> show keys that
            are the same in every run
          </label>
          <div style={{ overflow: 'auto', maxHeight: '50vh', marginTop: 8 }}>
            <table className="kv" aria-label="Metadata by run">
              <thead>
                <tr>
                  <th scope="col">key</th>
                  {runs.map((r) => (
                    <th key={r.id} scope="col">
                      <Link to={`/runs/${encodeURIComponent(r.id)}`}>{r.name}</Link>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                <tr>
                  <th scope="row">status</th>
                  {runs.map((r) => (
                    <td key={r.id}>
                      <span className={`status status-${r.status}`}>{r.status}</span>
                    </td>
                  ))}
                </tr>
                {diff.map((d) => (
                  <tr
                    key={d.key}
                    className={
                      all && new Set(d.values.map((v) => JSON.stringify(v ?? null))).size > 1
                        ? 'differs'
                        : undefined
                    }
                  >
                    <th scope="row">{d.key}</th>
                    {d.values.map((v, i) => (
                      <td key={runs[i]!.id}>{v === undefined ? '—' : formatValue(v)}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
            {diff.length === 0 ? <p className="muted">The metadata is the same in every run.</p> : null}
          </div>
        </>
      ) : (
        <p className="muted">Loading {ids.length} runs…</p>
      )}
    </section>
  );
}
