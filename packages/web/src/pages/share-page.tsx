import type { SeriesView } from '@simscope/protocol';
import type { RouteResponse } from '@simscope/protocol/api';
import { useEffect, useState } from 'react';
import { Api } from '../api.js';
import { LoadError, Loading } from '../components/load-state.js';
import { formatTime, formatValue } from '../format.js';

type Shared = RouteResponse<'sharedItems'>;

/**
 * A share link (`/share#shr_…`) as a page: the shared run, or the runs of the shared folder, read with the link
 * alone; no controls and nothing else of the workspace. Needs no sign-in.
 */
export function SharePage() {
  const [shared, setShared] = useState<Shared | null>(null);
  const [series, setSeries] = useState<Record<string, SeriesView[]>>({});
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const api = new Api(window.location.hash.slice(1));
    void (async () => {
      try {
        const found = await api.call('sharedItems');
        setShared(found);
        const lists = await Promise.all(
          found.runs.slice(0, 20).map(async (r) => {
            const page = await api.call('listMetricNames', { params: { run: r.id }, query: { limit: 100 } });
            return [r.id, page.items] as const;
          }),
        );
        setSeries(Object.fromEntries(lists));
      } catch (err) {
        setError(err);
      }
    })();
  }, []);

  if (error) return <LoadError error={error} what="the shared runs" />;
  if (!shared) return <Loading what="the shared runs" />;
  return (
    <main id="main" className="shared">
      <h1>{shared.share.run ? 'A shared run' : `Shared folder ${shared.share.folder}`}</h1>
      <p className="muted">Read-only, shared from workspace {shared.workspace}.</p>
      {shared.runs.map((r) => (
        <section key={r.id} aria-label={`Run ${r.name}`}>
          <h2>{r.name}</h2>
          <p>
            {r.status} · {r.folder} · created {formatTime(r.created)}
          </p>
          {r.description ? <p>{r.description}</p> : null}
          {Object.keys(r.metadata).length > 0 ? (
            <div className="table-wrap">
              <table aria-label={`Metadata of ${r.name}`}>
                <tbody>
                  {Object.entries(r.metadata).map(([k, v]) => (
                    <tr key={k}>
                      <th>{k}</th>
                      <td>{formatValue(v)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          {series[r.id]?.length ? (
            <div className="table-wrap">
              <table aria-label={`Metrics of ${r.name}`}>
                <thead>
                  <tr>
                    <th>Metric</th>
                    <th>Points</th>
                    <th>Last</th>
                  </tr>
                </thead>
                <tbody>
                  {(series[r.id] ?? []).map((m) => (
                    <tr key={m.name}>
                      <td>{m.name}</td>
                      <td>{m.count}</td>
                      <td>{formatValue(m.last.value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </section>
      ))}
    </main>
  );
}
