import type { Json, RunView } from '@simscope/protocol';
import { useMemo, useState } from 'react';
import { Link } from '../components/link.js';
import { flatten, formatValue } from '../format.js';
import type { BandKind } from '../sweep/band-chart.js';

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

/** The runs' metadata side by side: the keys that differ (all of them on request), and each run's status. */
export function MetadataTable({ runs }: { runs: RunView[] }) {
  const [all, setAll] = useState(false);
  const diff = useMemo(() => differingKeys(runs, all), [runs, all]);
  return (
    <>
      <label>
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> show keys that are
        the same in every run
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
                  <td key={runs[i]?.id ?? i}>{v === undefined ? '—' : formatValue(v)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {diff.length === 0 ? <p className="muted">The metadata is the same in every run.</p> : null}
      </div>
    </>
  );
}

/** How the runs are grouped (none, tag, folder or a metadata key) and which band each group draws. */
export function GroupControls({
  group,
  band,
  keys,
  go,
}: {
  group: string | null;
  band: BandKind;
  keys: string[];
  go(patch: Record<string, string | null>): void;
}) {
  return (
    <>
      <label>
        Group by{' '}
        <select value={group ?? ''} onChange={(e) => go({ group: e.target.value || null })}>
          <option value="">none</option>
          <option value="tags">tag</option>
          <option value="folder">folder</option>
          {group?.startsWith('metadata.') && !keys.includes(group.slice(9)) ? (
            <option value={group}>{group.slice(9)}</option>
          ) : null}
          {keys.map((k) => (
            <option key={k} value={`metadata.${k}`}>
              {k}
            </option>
          ))}
        </select>
      </label>
      {group ? (
        <label>
          Band{' '}
          <select
            value={band}
            onChange={(e) => go({ band: e.target.value === 'std' ? null : e.target.value })}
          >
            <option value="std">mean ± 1 std</option>
            <option value="range">min to max</option>
          </select>
        </label>
      ) : null}
    </>
  );
}
