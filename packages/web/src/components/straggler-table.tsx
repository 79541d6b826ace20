import type { StragglerView } from '@simscope/protocol/api';
import { useEffect, useState } from 'react';
import { formatNumber } from '../format.js';
import { useSession } from '../session.js';
import { LoadError } from './load-state.js';

const FACTORS = [1.2, 1.5, 2, 3] as const;

/** Seconds per step in words: `12.5 ms`, `1.2 s`. */
function pace(seconds: number | null): string {
  if (seconds === null) return '—';
  return seconds < 1 ? `${formatNumber(seconds * 1000)} ms` : `${formatNumber(seconds)} s`;
}

/** Per rank, the wall time per step of one metric, with a bar each; ranks slower than the median × factor stand out. */
export function StragglerTable({ run, name, tick }: { run: string; name: string; tick: number }) {
  const { api } = useSession();
  const [factor, setFactor] = useState<number>(1.5);
  const [view, setView] = useState<StragglerView | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const abort = new AbortController();
    api.call('readStragglers', { params: { run }, query: { name, factor }, signal: abort.signal }).then(
      (v) => setView(v),
      (e: unknown) => !abort.signal.aborted && setError(e),
    );
    return () => abort.abort();
  }, [api, run, name, factor, tick]);

  if (error) return <LoadError error={error} what="Stragglers" />;
  if (!view) return null;
  const slowest = Math.max(...view.ranks.map((r) => r.secondsPerStep ?? 0), Number.MIN_VALUE);
  const stragglers = view.ranks.filter((r) => r.straggler).map((r) => r.rank);
  return (
    <figure className="straggler-view chart-card" data-stragglers={stragglers.join(',')}>
      <figcaption>
        <strong>Wall time per step</strong>{' '}
        <span className="muted">
          median {pace(view.median)};{' '}
          {stragglers.length === 0
            ? 'no straggler'
            : `straggler${stragglers.length === 1 ? '' : 's'}: rank ${stragglers.join(', ')}`}
        </span>{' '}
        <label>
          slower than the median ×{' '}
          <select value={factor} onChange={(e) => setFactor(Number(e.target.value))}>
            {FACTORS.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
      </figcaption>
      <table className="straggler-table">
        <thead>
          <tr>
            <th scope="col">Rank</th>
            <th scope="col">Steps</th>
            <th scope="col">Per step</th>
            <th scope="col">× median</th>
            <th scope="col" aria-label="bar" />
          </tr>
        </thead>
        <tbody>
          {view.ranks.map((r) => (
            <tr key={r.rank} className={r.straggler ? 'straggler' : undefined} data-rank={r.rank}>
              <td>{r.rank}</td>
              <td>{r.steps}</td>
              <td>{pace(r.secondsPerStep)}</td>
              <td>{r.ratio === null ? '—' : formatNumber(r.ratio)}</td>
              <td className="bar-cell">
                <span
                  className="bar"
                  style={{ width: `${(100 * (r.secondsPerStep ?? 0)) / slowest}%` }}
                  title={r.straggler ? 'straggler' : undefined}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
