import type { FolderView, JsonObject } from '@simscope/protocol';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { ApiError } from '../api.js';
import { ChartSettingsControls } from '../components/chart-settings-controls.js';
import { DetailsFields } from '../components/details-fields.js';
import { Link } from '../components/link.js';
import { LoadError, Loading } from '../components/load-state.js';
import { type ChartSettings, MetricChart } from '../components/metric-chart.js';
import { formatTime } from '../format.js';
import { href, navigate, useLocation } from '../router.js';
import { useSession } from '../session.js';
import { folderFilter } from './runs-page.js';

const STATUSES = ['running', 'completed', 'failed', 'terminated', 'lost', 'created'] as const;
/** Runs of the folder drawn on its chart at most: the newest (as the compare page draws 100 comfortably). */
const CHART_RUNS = 100;
const RECENT = 10;
/** Runs counted for the summary at most. */
const SUMMARY_RUNS = 200_000;

interface FolderRuns {
  count: number;
  byStatus: Record<string, number>;
  recent: { id: string; name: string; status: string; created: number }[];
  chartRuns: { id: string; label: string }[];
}

/** What a folder holds: runs by status, the newest runs, and a chosen metric of its runs on one chart. */
function FolderSummary({ path }: { path: string }) {
  const { api } = useSession();
  const location = useLocation();
  const subfolders = location.query.get('sub') !== '0';
  const metric = location.query.get('metric');
  const [runs, setRuns] = useState<FolderRuns | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [names, setNames] = useState<string[]>([]);
  const [settings, setSettings] = useState<ChartSettings>({
    axis: 'step',
    log: false,
    smoothing: 0,
    every: false,
  });
  const setParam = (key: string, value: string | null) => {
    const params = new URLSearchParams(window.location.search);
    if (value === null) params.delete(key);
    else params.set(key, value);
    const qs = params.toString();
    navigate(`${window.location.pathname}${qs ? `?${qs}` : ''}`, true);
  };

  useEffect(() => {
    const abort = new AbortController();
    setRuns(null);
    setError(null);
    (async () => {
      const summary: FolderRuns = { count: 0, byStatus: {}, recent: [], chartRuns: [] };
      const table = { filter: folderFilter(path, subfolders), limit: 50_000 };
      for await (const page of api.runTablePages(table, abort.signal)) {
        for (let i = 0; i < page.count; i++) {
          const [id, name, status] = [page.id[i], page.name[i], page.status[i]];
          if (id === undefined || name === undefined || status === undefined) continue;
          summary.byStatus[status] = (summary.byStatus[status] ?? 0) + 1;
          if (summary.recent.length < RECENT) {
            summary.recent.push({ id, name, status, created: page.created[i] ?? 0 });
          }
          if (summary.chartRuns.length < CHART_RUNS) summary.chartRuns.push({ id, label: name });
        }
        summary.count += page.count;
        if (summary.count >= SUMMARY_RUNS) break;
      }
      if (!abort.signal.aborted) setRuns(summary);
    })().catch((e: unknown) => {
      if (!abort.signal.aborted) setError(e);
    });
    return () => abort.abort();
  }, [api, path, subfolders, attempt]);

  useEffect(() => {
    const abort = new AbortController();
    api.runTable({ limit: 1, metricNames: true }, abort.signal).then(
      (t) => setNames(t.metricNames ?? []),
      () => {},
    );
    return () => abort.abort();
  }, [api]);

  const chosen = metric ?? names[0] ?? null;
  const chartRuns = useMemo(() => runs?.chartRuns ?? [], [runs]);

  if (error)
    return (
      <LoadError error={error} what="Loading the folder's runs" onRetry={() => setAttempt((a) => a + 1)} />
    );
  if (!runs) return <Loading what="the folder's runs" />;
  return (
    <section aria-labelledby="folder-runs-heading">
      <h2 id="folder-runs-heading">Runs</h2>
      <label>
        <input
          type="checkbox"
          checked={subfolders}
          onChange={(e) => setParam('sub', e.target.checked ? null : '0')}
        />{' '}
        include subfolders
      </label>
      <ul className="folder-summary" aria-label="Runs by status">
        <li className="stat">
          <strong>{runs.count.toLocaleString('en')}</strong> {runs.count === 1 ? 'run' : 'runs'}
        </li>
        {STATUSES.filter((s) => runs.byStatus[s]).map((s) => (
          <li key={s} className="stat" data-status={s}>
            <strong>{(runs.byStatus[s] ?? 0).toLocaleString('en')}</strong>{' '}
            <span className={`status status-${s}`}>{s}</span>
          </li>
        ))}
      </ul>
      {runs.count === 0 ? <p className="muted">No runs in this folder yet.</p> : null}
      {runs.recent.length > 0 ? (
        <>
          <h3>Recent runs</h3>
          <div className="table-wrap">
            <table className="kv" aria-label="Recent runs">
              <thead>
                <tr>
                  <th scope="col">name</th>
                  <th scope="col">status</th>
                  <th scope="col">created</th>
                </tr>
              </thead>
              <tbody>
                {runs.recent.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <Link to={`/runs/${encodeURIComponent(r.id)}`}>{r.name}</Link>
                    </td>
                    <td>
                      <span className={`status status-${r.status}`}>{r.status}</span>
                    </td>
                    <td>{formatTime(r.created)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
      {chartRuns.length > 0 && names.length > 0 && chosen ? (
        <>
          <h3>
            {chosen} across {chartRuns.length === runs.count ? 'its' : `the newest ${chartRuns.length}`} runs
          </h3>
          <div className="chart-controls">
            <label>
              Metric{' '}
              <select aria-label="Metric" value={chosen} onChange={(e) => setParam('metric', e.target.value)}>
                {names.includes(chosen) ? null : <option value={chosen}>{chosen}</option>}
                {names.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            <ChartSettingsControls settings={settings} set={(p) => setSettings((s) => ({ ...s, ...p }))} />
            <Link to={href('/compare', { runs: chartRuns.map((r) => r.id).join(','), metric: chosen })}>
              Open in compare
            </Link>
          </div>
          <MetricChart metric={chosen} runs={chartRuns} settings={settings} />
        </>
      ) : null}
    </section>
  );
}

/** A folder's description, tags and metadata, editable. */
export function FolderPage({ path }: { path: string }) {
  const { api } = useSession();
  const [folder, setFolder] = useState<FolderView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const [metadata, setMetadata] = useState('{}');
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const show = (f: FolderView) => {
    setFolder(f);
    setDescription(f.description ?? '');
    setTags(f.tags.join(', '));
    setMetadata(JSON.stringify(f.metadata, null, 2));
  };

  useEffect(() => {
    api.folder(path).then(show, (e: Error) => setError(e.message));
  }, [api, path]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!folder) return;
    setSaved(null);
    let parsed: JsonObject;
    try {
      const value = JSON.parse(metadata) as unknown;
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new Error('metadata must be a JSON object');
      parsed = value as JsonObject;
    } catch (err) {
      setProblem(`Metadata: ${(err as Error).message}`);
      return;
    }
    // Keys removed in the editor are sent as null: the API merges metadata.
    const patch: JsonObject = { ...parsed };
    for (const key of Object.keys(folder.metadata)) if (!(key in parsed)) patch[key] = null;
    setBusy(true);
    try {
      const updated = await api.patchFolder(folder.id, {
        description: description.trim() ? description : null,
        tags: tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        metadata: patch,
      });
      show(updated);
      setProblem(null);
      setSaved('Saved.');
    } catch (err) {
      setProblem(err instanceof ApiError ? err.message : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (error)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  if (!folder) return <p className="muted">Loading folder…</p>;
  return (
    <section aria-labelledby="folder-heading">
      <h1 id="folder-heading">Folder {folder.path}</h1>
      <p>
        <Link to={href('/', { folder: folder.path === '/' ? null : folder.path })}>Runs in this folder</Link>
      </p>
      <FolderSummary path={folder.path} />
      <h2>Description, tags and metadata</h2>
      <form onSubmit={save} className="form-grid">
        <DetailsFields
          idPrefix="folder"
          rows={{ description: 4, metadata: 10 }}
          description={description}
          onDescription={setDescription}
          tags={tags}
          onTags={setTags}
          metadata={metadata}
          onMetadata={setMetadata}
          problem={problem}
        />
        <span />
        <div className="row">
          <button className="primary" type="submit" disabled={busy}>
            Save
          </button>
          {problem ? (
            <span className="error" role="alert">
              {problem}
            </span>
          ) : null}
          {saved ? (
            <span role="status" className="muted">
              {saved}
            </span>
          ) : null}
        </div>
      </form>
    </section>
  );
}
