import type { Json, JsonObject, RunView, SeriesView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import { num } from '../api.js';
import { formatDuration, formatNumber, formatTime, formatValue, runDuration, runEnd } from '../format.js';
import { href } from '../router.js';
import { useSession } from '../session.js';
import { Link } from './link.js';
import { LoadError, Loading } from './load-state.js';

/** What `simscope run -- cmd` records of the program it runs, in `system.command`. */
export interface SidecarCommand {
  argv: string[];
  cwd: string | null;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  seconds: number | null;
}

/** The program a sidecar ran, when the run was made by `simscope run`; null otherwise. */
function sidecarCommand(system: JsonObject): SidecarCommand | null {
  const c = system.command;
  if (c === null || typeof c !== 'object' || Array.isArray(c)) return null;
  const argv = c.argv;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) return null;
  const n = (v: Json | undefined) => (typeof v === 'number' ? v : null);
  return {
    argv: argv as string[],
    cwd: typeof c.cwd === 'string' ? c.cwd : null,
    pid: n(c.pid),
    exitCode: n(c.exitCode),
    signal: typeof c.signal === 'string' ? c.signal : null,
    seconds: n(c.seconds),
  };
}

/** An argument as a shell would need it typed: bare when safe, in single quotes otherwise. */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

function JsonTable({ value, empty, label }: { value: Record<string, Json>; empty: string; label: string }) {
  const entries = Object.entries(value);
  if (entries.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="table-wrap">
      <table className="kv" aria-label={label}>
        <tbody>
          {entries.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td>{typeof v === 'object' && v !== null ? JSON.stringify(v, null, 2) : formatValue(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A run's overview: status and times, the program a sidecar ran, a summary of each metric, and its fields. */
export function RunOverview({ run, metricsTick }: { run: RunView; metricsTick: number }) {
  const command = sidecarCommand(run.system);
  // The run's system info describes the sidecar process (node and its pid); what matters is the program it ran.
  const { command: _command, pid: _pid, runtime: _runtime, ...system } = run.system;
  const shownSystem = command ? system : run.system;
  return (
    <div className="overview">
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
        <dd>{formatDuration(runDuration(run.started, runEnd(run)))}</dd>
        <dt>Last heartbeat</dt>
        <dd>
          {formatTime(run.heartbeat)}
          {run.heartbeatTimeout !== null ? ` (lost after ${run.heartbeatTimeout} s of silence)` : ''}
        </dd>
      </dl>
      {command ? <CommandSection command={command} /> : null}
      <h2>Metrics</h2>
      <MetricSummary run={run} tick={metricsTick} />
      <h2>Description</h2>
      {run.description ? (
        <p className="description">{run.description}</p>
      ) : (
        <p className="muted">No description.</p>
      )}
      <h2>Metadata</h2>
      <JsonTable value={run.metadata} empty="No metadata." label="Metadata" />
      <h2>System</h2>
      <JsonTable value={shownSystem} empty="No system information." label="System" />
    </div>
  );
}

function CommandSection({ command }: { command: SidecarCommand }) {
  const ended = command.exitCode !== null || command.signal !== null;
  return (
    <section aria-labelledby="command-heading">
      <h2 id="command-heading">Command</h2>
      <dl className="props" data-testid="command">
        <dt>Command line</dt>
        <dd>
          <code className="command-line">{command.argv.map(shellWord).join(' ')}</code>
        </dd>
        {command.cwd ? (
          <>
            <dt>Directory</dt>
            <dd>
              <code>{command.cwd}</code>
            </dd>
          </>
        ) : null}
        <dt>Exit</dt>
        <dd>
          {!ended
            ? 'still running'
            : command.signal
              ? `killed by ${command.signal}`
              : `exit code ${command.exitCode}`}
        </dd>
        <dt>Ran for</dt>
        <dd>{command.seconds === null ? '—' : formatDuration(command.seconds)}</dd>
        {command.pid !== null ? (
          <>
            <dt>Process id</dt>
            <dd>{command.pid}</dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

function MetricSummary({ run, tick }: { run: RunView; tick: number }) {
  const { api } = useSession();
  const [items, setItems] = useState<SeriesView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    api.metrics(run.id, abort.signal).then(
      (m) => setItems(m.items),
      (e: unknown) => {
        if (!abort.signal.aborted) setError(e);
      },
    );
    return () => abort.abort();
  }, [api, run.id, tick, attempt]);

  if (error)
    return <LoadError error={error} what="Loading the metrics" onRetry={() => setAttempt((a) => a + 1)} />;
  if (items === null) return <Loading what="metrics" />;
  if (items.length === 0) return <p className="muted">This run has no metrics yet.</p>;
  const cell = (v: number | string | null) => (v === null ? '—' : formatNumber(num(v)));
  return (
    <div className="table-wrap">
      <table className="metric-summary" aria-label="Metric summary">
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col" className="num">
              Last
            </th>
            <th scope="col" className="num">
              Min
            </th>
            <th scope="col" className="num">
              Max
            </th>
            <th scope="col" className="num">
              Points
            </th>
            <th scope="col" className="num">
              Last step
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((m) => (
            <tr key={m.name} data-metric={m.name}>
              <th scope="row">
                <Link to={href(`/runs/${encodeURIComponent(run.id)}`, { tab: 'metrics' })}>{m.name}</Link>
              </th>
              <td className="num">{cell(m.last.value)}</td>
              <td className="num">{cell(m.min)}</td>
              <td className="num">{cell(m.max)}</td>
              <td className="num">{m.count.toLocaleString('en')}</td>
              <td className="num">{m.last.step === null ? '—' : m.last.step.toLocaleString('en')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
