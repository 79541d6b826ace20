import type { AlertTransitionView, AlertView, RunAlertView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import { formatNumber, formatTime } from '../format.js';
import { useSession } from '../session.js';
import { useTicks } from './use-ticks.js';

function seconds(s: number | null): string {
  if (s === null) return '';
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

/** What an alert watches, in words: `metric loss is above 10 (average over 5 min)`. */
export function describeAlert(a: AlertView): string {
  if (a.source === 'user') return 'state set by the run';
  const window = a.window !== null ? ` over ${seconds(a.window)}` : '';
  if (a.source === 'events') {
    return `events ${a.match === 'regex' ? 'matching /' : 'containing "'}${a.pattern ?? ''}${
      a.match === 'regex' ? '/' : '"'
    }${window}`;
  }
  const limit =
    a.rule === 'is above' || a.rule === 'is below'
      ? formatNumber(a.threshold ?? Number.NaN)
      : `${formatNumber(a.rangeLow ?? Number.NaN)} … ${formatNumber(a.rangeHigh ?? Number.NaN)}`;
  return `metric ${a.metric ?? ''} ${a.rule ?? ''} ${limit} (${a.aggregation ?? ''}${window})`;
}

/** A run's alerts: state, since when, last value, what each watches, and each one's transitions. */
export function AlertsPanel({ run, tick }: { run: string; tick: number }) {
  const { api } = useSession();
  const [items, setItems] = useState<RunAlertView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // States change on the server's schedule, which the live stream does not tell: look again every 5 s too.
  const poll = useTicks(5000);

  useEffect(() => {
    const abort = new AbortController();
    api.runAlerts(run, abort.signal).then(
      (r) => setItems(r.items),
      (e: Error) => !abort.signal.aborted && setError(e.message),
    );
    return () => abort.abort();
  }, [api, run, tick, poll]);

  if (error) return <p className="error">{error}</p>;
  if (items === null) return <p className="muted">Loading alerts…</p>;
  if (items.length === 0) return <p className="muted">No alerts are attached to this run.</p>;
  const critical = items.filter((i) => i.state === 'critical').length;
  return (
    <div className="alerts">
      <p>
        {items.length} {items.length === 1 ? 'alert' : 'alerts'},{' '}
        <strong className={critical > 0 ? 'alert-critical' : ''}>{critical} critical</strong>
      </p>
      <div className="table-wrap">
        <table className="alerts-table" aria-label="Alerts">
          <thead>
            <tr>
              <th scope="col">Alert</th>
              <th scope="col">State</th>
              <th scope="col">Since</th>
              <th scope="col">Last value</th>
              <th scope="col">Watches</th>
              <th scope="col">History</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <AlertRow key={a.alert.id} run={run} item={a} tick={tick} />
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function AlertState({ state }: { state: string }) {
  return <span className={`alert-state alert-${state}`}>{state === 'critical' ? 'Critical' : 'OK'}</span>;
}

function AlertRow({ run, item, tick }: { run: string; item: RunAlertView; tick: number }) {
  const { api } = useSession();
  const [open, setOpen] = useState(false);
  const [history, setHistory] = useState<AlertTransitionView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const historyId = `alert-history-${item.alert.id}`;

  useEffect(() => {
    if (!open) return;
    const abort = new AbortController();
    api.alertHistory(run, item.alert.id, abort.signal).then(
      (r) => setHistory(r.items),
      (e: Error) => !abort.signal.aborted && setError(e.message),
    );
    return () => abort.abort();
  }, [api, run, item.alert.id, open, tick, item.since]);

  return (
    <>
      <tr data-alert={item.alert.name}>
        <th scope="row">
          {item.alert.name}
          {item.alert.description ? <div className="muted">{item.alert.description}</div> : null}
        </th>
        <td>
          <AlertState state={item.state} />
        </td>
        <td>{formatTime(item.since)}</td>
        <td className="num">{item.value === null ? '—' : formatNumber(item.value)}</td>
        <td>{describeAlert(item.alert)}</td>
        <td>
          <button type="button" aria-expanded={open} aria-controls={historyId} onClick={() => setOpen(!open)}>
            {open ? 'Hide' : 'Show'}
            <span className="visually-hidden"> history of {item.alert.name}</span>
          </button>
        </td>
      </tr>
      {open ? (
        <tr className="history-row">
          <td colSpan={6} id={historyId}>
            {error ? <p className="error">{error}</p> : null}
            {history === null && !error ? <p className="muted">Loading history…</p> : null}
            {history?.length === 0 ? <p className="muted">No transitions yet.</p> : null}
            {history && history.length > 0 ? (
              <table className="alert-history" aria-label={`History of ${item.alert.name}`}>
                <thead>
                  <tr>
                    <th scope="col">At</th>
                    <th scope="col">From</th>
                    <th scope="col">To</th>
                    <th scope="col">Value</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  {history.map((h, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: transitions have no id
                    <tr key={i}>
                      <td>{formatTime(h.at)}</td>
                      <td>
                        <AlertState state={h.from} />
                      </td>
                      <td>
                        <AlertState state={h.to} />
                      </td>
                      <td className="num">{h.value === null ? '—' : formatNumber(h.value)}</td>
                      <td>{h.message}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </td>
        </tr>
      ) : null}
    </>
  );
}
