import type { TelemetryRecordView, TelemetryServiceView, TelemetryUsageView } from '@simscope/protocol';
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatTime, formatValue } from '../format.js';
import { href, navigate } from '../router.js';
import { chartColors, seriesColor, useSession } from '../session.js';

const WEEK = { id: '7d', label: 'last 7 days', seconds: 7 * 86_400 };
const RANGES: { id: string; label: string; seconds: number }[] = [
  { id: '1d', label: 'last day', seconds: 86_400 },
  WEEK,
  { id: '30d', label: 'last 30 days', seconds: 30 * 86_400 },
];

/** Usage telemetry: the workspace's services, and for one of them calls per function over time and records. */
export function TelemetryPage({ service, range }: { service: string | null; range: string | null }) {
  const { api } = useSession();
  const [services, setServices] = useState<TelemetryServiceView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const chosen = services?.find((s) => s.path === service) ?? services?.[0] ?? null;
  const span = RANGES.find((r) => r.id === range) ?? WEEK;

  useEffect(() => {
    const abort = new AbortController();
    api.telemetryServices(abort.signal).then(
      (r) => setServices(r.items),
      (e: Error) => !abort.signal.aborted && setError(e.message),
    );
    return () => abort.abort();
  }, [api]);

  return (
    <article aria-labelledby="telemetry-title">
      <h1 id="telemetry-title">Telemetry</h1>
      {error ? <p className="error">{error}</p> : null}
      {services === null && !error ? <p className="muted">Loading services…</p> : null}
      {services?.length === 0 ? (
        <p className="muted">No services yet: an admin creates one with its first ingest key.</p>
      ) : null}
      {services && services.length > 0 && chosen ? (
        <>
          <div className="chart-controls">
            <label>
              Service{' '}
              <select
                value={chosen.path}
                onChange={(e) => navigate(href('/telemetry', { service: e.target.value, range }), true)}
              >
                {services.map((s) => (
                  <option key={s.path} value={s.path}>
                    {s.path} ({s.records} records)
                  </option>
                ))}
              </select>
            </label>
            <label>
              Period{' '}
              <select
                value={span.id}
                onChange={(e) =>
                  navigate(href('/telemetry', { service: chosen.path, range: e.target.value }), true)
                }
              >
                {RANGES.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.label}
                  </option>
                ))}
              </select>
            </label>
            <span className="muted">
              first record {formatTime(chosen.first)}, last {formatTime(chosen.last)}
            </span>
          </div>
          <ServiceUsage key={`${chosen.path}:${span.id}`} service={chosen.path} seconds={span.seconds} />
          <RecentRecords key={chosen.path} service={chosen.path} />
        </>
      ) : null}
    </article>
  );
}

function ServiceUsage({ service, seconds }: { service: string; seconds: number }) {
  const { api, theme } = useSession();
  const [usage, setUsage] = useState<TelemetryUsageView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const plot = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    const to = Date.now() * 1000;
    api
      .telemetryUsage({ service, from: to - seconds * 1e6, to }, abort.signal)
      .then(setUsage, (e: Error) => !abort.signal.aborted && setError(e.message));
    return () => abort.abort();
  }, [api, service, seconds]);

  useEffect(() => {
    const el = plot.current;
    if (!el || !usage || usage.functions.length === 0) return;
    const colors = chartColors();
    const axis = {
      stroke: colors.text,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid, width: 1 },
    };
    const data: uPlot.AlignedData = [
      usage.times.map((t) => t / 1e6),
      ...usage.functions.map((f) => f.counts),
    ];
    const u = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 280,
        legend: { show: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [axis, { ...axis, label: 'calls' }],
        series: [
          {},
          ...usage.functions.map((f, i) => ({
            label: f.function,
            stroke: seriesColor(colors.series, i),
            width: 2,
            paths: uPlot.paths.stepped?.({ align: 1 }),
            points: { show: false },
          })),
        ],
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(300, el.clientWidth), height: 280 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
    };
  }, [usage, theme]);

  if (error) return <p className="error">{error}</p>;
  if (!usage) return <p className="muted">Loading usage…</p>;
  const palette = chartColors().series;
  const bucket = usage.bucket % 3600 === 0 ? `${usage.bucket / 3600} h` : `${usage.bucket / 60} min`;
  return (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">Calls per function</h2>
      {usage.functions.length === 0 ? (
        <p className="muted">No calls in this period.</p>
      ) : (
        <div className="chart-card">
          <div
            ref={plot}
            className="plot"
            role="img"
            aria-label={`Calls per function of ${service} in buckets of ${bucket}`}
            data-testid="usage-chart"
          />
          <ul className="legend" aria-label="Functions">
            {usage.functions.map((f, i) => (
              <li key={f.function}>
                <span className="swatch" style={{ background: seriesColor(palette, i) }} />
                {f.function}
              </li>
            ))}
          </ul>
        </div>
      )}
      <table className="alerts-table usage-totals" aria-label="Calls per function">
        <thead>
          <tr>
            <th scope="col">Function</th>
            <th scope="col">Calls</th>
          </tr>
        </thead>
        <tbody>
          {usage.functions.map((f) => (
            <tr key={f.function}>
              <td>
                <code>{f.function}</code>
              </td>
              <td className="num">{f.total}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function RecentRecords({ service }: { service: string }) {
  const { api } = useSession();
  const [records, setRecords] = useState<TelemetryRecordView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    api.telemetryRecords({ service, order: 'desc', limit: 50 }, abort.signal).then(
      (r) => setRecords(r.items),
      (e: Error) => !abort.signal.aborted && setError(e.message),
    );
    return () => abort.abort();
  }, [api, service]);
  return (
    <section aria-labelledby="records-title">
      <h2 id="records-title">Recent records</h2>
      {error ? <p className="error">{error}</p> : null}
      {records === null && !error ? <p className="muted">Loading records…</p> : null}
      {records && records.length > 0 ? (
        <div className="table-scroll">
          <table className="alerts-table" aria-label="Recent records">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Function</th>
                <th scope="col">Arguments</th>
                <th scope="col">Session</th>
                <th scope="col">Other fields</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r) => {
                const { id, timestamp, function: fn, args, kwargs, session_id, ...extra } = r;
                return (
                  <tr key={id}>
                    <td>{formatTime(timestamp)}</td>
                    <td>
                      <code>{fn}</code>
                    </td>
                    <td>
                      <code>
                        {[
                          ...args.map((a) => JSON.stringify(a)),
                          ...Object.entries(kwargs).map(([k, v]) => `${k}=${JSON.stringify(v)}`),
                        ].join(', ')}
                      </code>
                    </td>
                    <td>{session_id ?? '—'}</td>
                    <td>
                      {Object.entries(extra)
                        .map(([k, v]) => `${k}: ${formatValue(v)}`)
                        .join('; ')}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {records?.length === 0 ? <p className="muted">No records.</p> : null}
    </section>
  );
}
