import { useState } from 'react';
import {
  addColumn,
  columnLabel,
  DEFAULT_COLUMNS,
  FIXED_COLUMNS,
  METRIC_STATS,
  metricColumn,
  moveColumn,
} from './run-columns.js';

const SHOWN_AT_MOST = 200;

/**
 * The runs table's columns: which are shown and in what order, metadata paths (nested keys flattened as
 * `mesh.nx`) and metric summaries to add, all narrowed by a search box.
 */
export function ColumnPicker({
  columns,
  metadataPaths,
  metricNames,
  onChange,
}: {
  columns: readonly string[];
  metadataPaths: readonly string[];
  metricNames: readonly string[];
  onChange(columns: string[]): void;
}) {
  const [search, setSearch] = useState('');
  const needle = search.trim().toLowerCase();
  const paths = metadataPaths.filter((p) => p.toLowerCase().includes(needle));
  const metrics = metricNames.filter((m) => m.toLowerCase().includes(needle));
  const toggle = (id: string) =>
    onChange(columns.includes(id) ? columns.filter((c) => c !== id) : addColumn(columns, id));
  const hiddenFixed = FIXED_COLUMNS.filter((c) => !columns.includes(c));

  return (
    <div id="columns-panel" className="columns-panel">
      <fieldset>
        <legend>Shown, in order</legend>
        <ol className="shown" aria-label="Shown columns">
          {columns.map((c, i) => {
            const label = columnLabel(c);
            return (
              <li key={c}>
                <span>{label}</span>
                <button
                  type="button"
                  disabled={i === 0}
                  aria-label={`Move ${label} left`}
                  onClick={() => onChange(moveColumn(columns, c, -1))}
                >
                  ←
                </button>
                <button
                  type="button"
                  disabled={i === columns.length - 1}
                  aria-label={`Move ${label} right`}
                  onClick={() => onChange(moveColumn(columns, c, 1))}
                >
                  →
                </button>
                <button
                  type="button"
                  aria-label={`Hide ${label}`}
                  onClick={() => onChange(columns.filter((x) => x !== c))}
                >
                  ×
                </button>
              </li>
            );
          })}
        </ol>
        {hiddenFixed.map((c) => (
          <button key={c} type="button" onClick={() => onChange(addColumn(columns, c))}>
            Show {columnLabel(c)}
          </button>
        ))}
        <button type="button" onClick={() => onChange([...DEFAULT_COLUMNS])}>
          Reset to defaults
        </button>
      </fieldset>
      <label htmlFor="column-search" className="visually-hidden">
        Search columns
      </label>
      <input
        id="column-search"
        className="column-search"
        type="search"
        placeholder="Search metadata keys and metrics"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
        autoComplete="off"
      />
      <fieldset>
        <legend>Metadata</legend>
        {metadataPaths.length === 0 ? <span className="muted">No metadata keys in these runs.</span> : null}
        {metadataPaths.length > 0 && paths.length === 0 ? (
          <span className="muted">No metadata key matches “{search}”.</span>
        ) : null}
        {paths.slice(0, SHOWN_AT_MOST).map((k) => (
          <label key={k}>
            <input
              type="checkbox"
              checked={columns.includes(`metadata.${k}`)}
              onChange={() => toggle(`metadata.${k}`)}
            />{' '}
            {k}
          </label>
        ))}
        {paths.length > SHOWN_AT_MOST ? (
          <span className="muted">and {paths.length - SHOWN_AT_MOST} more: search to narrow.</span>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>Metrics: last, min, max, mean</legend>
        {metricNames.length === 0 ? <span className="muted">No metrics yet.</span> : null}
        {metricNames.length > 0 && metrics.length === 0 ? (
          <span className="muted">No metric matches “{search}”.</span>
        ) : null}
        {metrics.slice(0, SHOWN_AT_MOST).map((m) => (
          <div key={m} className="metric-row">
            <span>
              <label>
                <input
                  type="checkbox"
                  checked={columns.includes(metricColumn(m, 'last'))}
                  onChange={() => toggle(metricColumn(m, 'last'))}
                />{' '}
                {m}
              </label>
            </span>
            {METRIC_STATS.filter((s) => s !== 'last').map((s) => (
              <label key={s}>
                <input
                  type="checkbox"
                  aria-label={`${m} ${s}`}
                  checked={columns.includes(metricColumn(m, s))}
                  onChange={() => toggle(metricColumn(m, s))}
                />{' '}
                {s}
              </label>
            ))}
          </div>
        ))}
      </fieldset>
    </div>
  );
}
