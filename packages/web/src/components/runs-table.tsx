import { type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { formatDuration, formatTime, formatValue, runDuration } from '../format.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';
import { Link } from './link.js';
import type { RunRows, SortKey } from './run-rows.js';

const ROW = 32;
const OVERSCAN = 12;

interface Column {
  key: SortKey;
  label: string;
  width: number;
  numeric?: boolean;
}

const FIXED: Column[] = [
  { key: 'name', label: 'Name', width: 220 },
  { key: 'status', label: 'Status', width: 110 },
  { key: 'folder', label: 'Folder', width: 160 },
  { key: 'tags', label: 'Tags', width: 160 },
  { key: 'created', label: 'Created', width: 160 },
  { key: 'duration', label: 'Duration', width: 100, numeric: true },
];

/**
 * The runs table: every loaded run, drawn as the rows in view plus a few (a table of 100,000 runs holds about
 * 60 row elements). Headers sort; each row has a checkbox to select it for comparison.
 */
export function RunsTable({
  rows,
  version,
  order,
  columns,
  sort,
  onSort,
  empty,
}: {
  /** What to say when there are no rows; null while that is not known (loading, or failed). */
  empty: string | null;
  rows: RunRows;
  version: number;
  order: Int32Array;
  columns: string[];
  sort: { key: SortKey; descending: boolean };
  onSort(key: SortKey): void;
}) {
  const { selection } = useSession();
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const update = () => setView({ top: el.scrollTop, height: el.clientHeight });
    update();
    el.addEventListener('scroll', update, { passive: true });
    const resize = new ResizeObserver(update);
    resize.observe(el);
    return () => {
      el.removeEventListener('scroll', update);
      resize.disconnect();
    };
  }, []);

  const all: Column[] = [
    ...FIXED,
    ...columns.map((c) => ({
      key: `column:${c}` as SortKey,
      label: c.startsWith('metadata.') ? c.slice(9) : c.slice(8),
      width: 130,
      numeric: c.startsWith('metrics.'),
    })),
  ];
  const n = order.length;
  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN);
  const last = Math.min(n, Math.ceil((view.top + view.height) / ROW) + OVERSCAN);
  const now = Date.now() * 1000;
  void version;

  const moveFocus = (e: KeyboardEvent<HTMLTableSectionElement>) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const target = e.target as HTMLElement;
    const row = target.closest('tr[data-row]') as HTMLElement | null;
    if (!row) return;
    e.preventDefault();
    const at = Number(row.dataset.row) + (e.key === 'ArrowDown' ? 1 : -1);
    if (at < 0 || at >= n) return;
    const el = scroller.current!;
    const want = at * ROW;
    if (want < el.scrollTop) el.scrollTop = want;
    else if (want + 2 * ROW > el.scrollTop + el.clientHeight) el.scrollTop = want + 2 * ROW - el.clientHeight;
    requestAnimationFrame(() => {
      const next = el.querySelector<HTMLElement>(`tr[data-row="${at}"] a`);
      next?.focus();
    });
  };

  const cells: React.ReactNode[] = [];
  for (let r = first; r < last; r++) {
    const i = order[r]!;
    const id = rows.id[i]!;
    const name = rows.name[i]!;
    const status = rows.status[i]!;
    const selected = selection.has(id);
    cells.push(
      <tr key={id} data-row={r} aria-rowindex={r + 2} aria-selected={selected}>
        <td>
          <input
            type="checkbox"
            checked={selected}
            onChange={() => selection.toggle(id)}
            aria-label={`Select ${name} for comparison`}
          />
        </td>
        <td title={name}>
          <Link to={`/runs/${encodeURIComponent(id)}`}>{name}</Link>
        </td>
        <td>
          <span className={`status status-${status}`}>{status}</span>
        </td>
        <td title={rows.folder[i]!}>
          <a
            href={`/?folder=${encodeURIComponent(rows.folder[i]!)}`}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/?folder=${encodeURIComponent(rows.folder[i]!)}`);
            }}
          >
            {rows.folder[i]}
          </a>
        </td>
        <td title={rows.tags[i]!.join(', ')}>
          {rows.tags[i]!.map((t) => (
            <span key={t} className="tag">
              {t}
            </span>
          ))}
        </td>
        <td>{formatTime(rows.created[i]!)}</td>
        <td className="num">{formatDuration(runDuration(rows.started[i]!, rows.ended[i]!, now))}</td>
        {columns.map((c) => {
          const text = formatValue(rows.columns[c]?.[i]);
          return (
            <td key={c} className={c.startsWith('metrics.') ? 'num' : undefined} title={text}>
              {text}
            </td>
          );
        })}
      </tr>,
    );
  }

  return (
    <div className="table-scroll" ref={scroller} data-testid="runs-table">
      <table className="runs" aria-label="Runs" aria-rowcount={n + 1}>
        <colgroup>
          <col style={{ width: 36 }} />
          {all.map((c) => (
            <col key={c.key} style={{ width: c.width }} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col">
              <span className="visually-hidden">Select</span>
            </th>
            {all.map((c) => (
              <th
                key={c.key}
                scope="col"
                aria-sort={sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'}
              >
                <button type="button" onClick={() => onSort(c.key)}>
                  {c.label}
                  {sort.key === c.key ? (
                    <span aria-hidden="true">{sort.descending ? ' ▼' : ' ▲'}</span>
                  ) : null}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody onKeyDown={moveFocus}>
          {first > 0 ? (
            <tr className="spacer">
              <td style={{ height: first * ROW }} colSpan={all.length + 1} />
            </tr>
          ) : null}
          {cells}
          {last < n ? (
            <tr className="spacer">
              <td style={{ height: (n - last) * ROW }} colSpan={all.length + 1} />
            </tr>
          ) : null}
        </tbody>
      </table>
      {n === 0 && empty ? (
        <p className="muted" style={{ padding: 12 }} data-testid="runs-empty">
          {empty}
        </p>
      ) : null}
    </div>
  );
}
