import type { DashboardView } from '@simscope/protocol/api';
import { useEffect, useState } from 'react';
import { Link } from '../components/link.js';
import { canWrite } from '../components/load-state.js';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';

/** Saved layouts of the workspace: open one, save the page as a new one or over the open one, and its link. */
export function DashboardBar({
  current,
  layout,
  onSaved,
}: {
  current: DashboardView | null;
  /** The page's layout now; null when there is nothing to save. */
  layout: (() => DashboardView['layout']) | null;
  onSaved(d: DashboardView, created: boolean): void;
}) {
  const { api, me } = useSession();
  const [saved, setSaved] = useState<DashboardView[]>([]);
  const [saveName, setSaveName] = useState('');
  const [saveNote, setSaveNote] = useState<string | null>(null);
  const writable = canWrite(me.token.scopes);
  useEffect(() => {
    const abort = new AbortController();
    api
      .call('listDashboards', { signal: abort.signal })
      .then((page) => setSaved(page.items))
      .catch(() => {});
    return () => abort.abort();
  }, [api, current]);
  const saveAs = async () => {
    if (!layout) return;
    try {
      const d = await api.call('createDashboard', { body: { name: saveName, layout: layout() } });
      setSaveName('');
      setSaveNote(`Saved as “${d.name}”.`);
      onSaved(d, true);
    } catch (e) {
      setSaveNote((e as Error).message);
    }
  };
  const saveCurrent = async () => {
    if (!current || !layout) return;
    try {
      const d = await api.call('updateDashboard', {
        params: { dashboard: current.id },
        body: { layout: layout() },
      });
      onSaved(d, false);
      setSaveNote(`Saved “${d.name}”.`);
    } catch (e) {
      setSaveNote((e as Error).message);
    }
  };
  return (
    <div className="chart-controls dashboards">
      <label>
        Dashboard{' '}
        <select
          value={current?.id ?? ''}
          onChange={(e) => e.target.value && navigate(href('/compare', { dashboard: e.target.value }))}
        >
          <option value="">{current ? '' : 'none'}</option>
          {saved.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
      </label>
      {current ? (
        <Link
          to={href('/compare', { dashboard: current.id })}
          className="share-link"
          data-dashboard={current.id}
        >
          Link to “{current.name}”
        </Link>
      ) : null}
      {writable && current ? (
        <button type="button" onClick={() => void saveCurrent()}>
          Save “{current.name}”
        </button>
      ) : null}
      {writable && layout ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (saveName.trim()) void saveAs();
          }}
        >
          <label>
            <span className="visually-hidden">Name of the new dashboard</span>
            <input
              value={saveName}
              onChange={(e) => setSaveName(e.target.value)}
              placeholder="Dashboard name"
              size={16}
            />
          </label>{' '}
          <button type="submit" disabled={!saveName.trim()}>
            Save as new
          </button>
        </form>
      ) : null}
      {saveNote ? (
        <span role="status" className="muted">
          {saveNote}
        </span>
      ) : null}
    </div>
  );
}
