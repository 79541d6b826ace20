import type { AlertListItem, RunAlertView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import { describeAlert } from '../components/alerts-panel.js';
import { Link } from '../components/link.js';
import { LoadError, Loading } from '../components/load-state.js';
import { useTicks } from '../components/use-ticks.js';
import { formatNumber, formatTime } from '../format.js';
import { href } from '../router.js';
import { useSession } from '../session.js';

/** How many critical runs an alert lists before a "more" line. */
const SHOWN_RUNS = 50;

/** Every alert of the workspace: what it watches, on how many runs, and the runs where it is critical now. */
export function AlertsPage() {
  const { api } = useSession();
  const [alerts, setAlerts] = useState<AlertListItem[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const poll = useTicks(10_000);

  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    (async () => {
      const all: AlertListItem[] = [];
      for await (const items of api.pages('listAlerts', { query: { limit: 1000 }, signal: abort.signal })) {
        all.push(...items);
        if (all.length >= 10_000) break;
      }
      // Critical ones first, then by name (the order the server lists them in).
      all.sort((a, b) => Number(b.critical > 0) - Number(a.critical > 0));
      setAlerts(all);
    })().catch((e: unknown) => {
      if (!abort.signal.aborted) setError(e);
    });
    return () => abort.abort();
  }, [api, attempt, poll]);

  const critical = alerts?.filter((a) => a.critical > 0).length ?? 0;
  return (
    <section aria-labelledby="alerts-heading" className="alerts-page">
      <h1 id="alerts-heading">Alerts</h1>
      {error ? (
        <LoadError error={error} what="Loading the alerts" onRetry={() => setAttempt((a) => a + 1)} />
      ) : alerts === null ? (
        <Loading what="alerts" />
      ) : alerts.length === 0 ? (
        <p className="muted">
          No alerts in this workspace. Add one to a run with the client, the CLI or the API.
        </p>
      ) : (
        <>
          <p>
            {alerts.length} {alerts.length === 1 ? 'alert' : 'alerts'},{' '}
            <strong className={critical > 0 ? 'alert-critical' : ''}>{critical} critical on some run</strong>
          </p>
          <ul className="alert-list">
            {alerts.map((a) => (
              <AlertItem key={a.id} alert={a} poll={poll} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function AlertItem({ alert, poll }: { alert: AlertListItem; poll: number }) {
  const { api } = useSession();
  const [runs, setRuns] = useState<RunAlertView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (alert.critical === 0) {
      setRuns([]);
      return;
    }
    const abort = new AbortController();
    setError(null);
    api.criticalRuns(alert.id, null, abort.signal).then(
      (page) => setRuns(page.items),
      (e: unknown) => {
        if (!abort.signal.aborted) setError(e);
      },
    );
    return () => abort.abort();
  }, [api, alert.id, alert.critical, poll, attempt]);

  const shown = runs?.slice(0, SHOWN_RUNS) ?? [];
  const hidden = runs === null ? 0 : alert.critical - shown.length;
  return (
    <li className="alert-item" data-alert={alert.name}>
      <div className="alert-head">
        <span className={`alert-state ${alert.critical > 0 ? 'alert-critical' : 'alert-ok'}`}>
          {alert.critical > 0 ? 'Critical' : 'OK'}
        </span>
        <h2>{alert.name}</h2>
        <span className="muted">
          critical on {alert.critical} of {alert.runs} {alert.runs === 1 ? 'run' : 'runs'}
        </span>
      </div>
      <p className="muted alert-watches">
        {describeAlert(alert)}
        {alert.description ? ` — ${alert.description}` : ''}
        {alert.enabled ? '' : ` (disabled: ${alert.error ?? 'not valid on this server'})`}
      </p>
      {error ? (
        <LoadError error={error} what="Loading its runs" onRetry={() => setAttempt((n) => n + 1)} />
      ) : alert.critical > 0 && runs === null ? (
        <Loading what="critical runs" />
      ) : shown.length > 0 ? (
        <table className="alerts-table" aria-label={`Runs where ${alert.name} is critical`}>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Since</th>
              <th scope="col" className="num">
                Last value
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.run.id}>
                <td>
                  <Link to={href(`/runs/${encodeURIComponent(r.run.id)}`, { tab: 'alerts' })}>
                    {r.run.name}
                  </Link>
                </td>
                <td>{formatTime(r.since)}</td>
                <td className="num">{r.value === null ? '—' : formatNumber(r.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {hidden > 0 ? <p className="muted">and {hidden.toLocaleString('en')} more</p> : null}
    </li>
  );
}
