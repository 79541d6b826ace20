import { type KeyboardEvent, type MouseEvent, type PointerEvent, useEffect, useRef, useState } from 'react';
import { formatDuration, formatTime, formatValue, runDuration } from '../format.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';
import { Link } from './link.js';
import { columnLabel, defaultWidth, isFixed, MIN_WIDTH, metricOf, NAME_WIDTH } from './run-columns.js';
import type { RowGroup, RunRows, SortKey } from './run-rows.js';
import './runs-table.css';

const ROW = 32;
const OVERSCAN = 12;
const CHECK = 36;

/** The sort key of a column id: run columns by name, data columns as `column:ID`. */
export function sortKeyOf(id: string): SortKey {
  return (id === 'name' || (isFixed(id) && id !== 'alerts') ? id : `column:${id}`) as SortKey;
}

export interface RunsTableProps {
  /** What to say when there are no rows; null while that is not known (loading, or failed). */
  empty: string | null;
  rows: RunRows;
  version: number;
  /** Rows in drawing order: indices into `rows`, and `-(g + 1)` for the header of group `g`. */
  display: Int32Array;
  groups: RowGroup[] | null;
  collapsed: ReadonlySet<string>;
  onToggleGroup(label: string): void;
  /** Shown columns after the pinned name, in order. */
  columns: readonly string[];
  widths: Record<string, number>;
  onResize(id: string, width: number): void;
  onPlace(id: string, before: string): void;
  sort: { key: SortKey; descending: boolean };
  onSort(key: SortKey): void;
  /** Names of the alerts critical on a run, by run id. */
  critical: ReadonlyMap<string, readonly string[]>;
  /** Header checkbox: every run of the filter is selected. */
  allSelected: boolean;
  onSelectAll(select: boolean): void;
}

/**
 * The runs table: every loaded run, drawn as the rows in view plus a few (a table of 100,000 runs holds about
 * 60 row elements). The name stays pinned while the table scrolls sideways; headers sort, can be dragged to
 * reorder and resized by their right edge; each row has a checkbox, and shift-click selects a range.
 */
export function RunsTable({
  rows,
  version,
  display,
  groups,
  collapsed,
  onToggleGroup,
  columns,
  widths,
  onResize,
  onPlace,
  sort,
  onSort,
  critical,
  allSelected,
  onSelectAll,
  empty,
}: RunsTableProps) {
  const { selection } = useSession();
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const [resizing, setResizing] = useState<{ id: string; width: number } | null>(null);
  const dragged = useRef<string | null>(null);
  const anchor = useRef<number | null>(null);

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

  const widthOf = (id: string) =>
    resizing?.id === id ? resizing.width : (widths[id] ?? (id === 'name' ? NAME_WIDTH : defaultWidth(id)));
  const n = display.length;
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

  // Shift-click sets every run between the last clicked row and this one to this row's new state.
  const clickCheck = (e: MouseEvent<HTMLInputElement>, at: number, id: string) => {
    const from = anchor.current;
    anchor.current = at;
    if (!e.shiftKey || from === null || from === at) {
      selection.toggle(id);
      return;
    }
    const select = !selection.has(id);
    const chosen = new Set(selection.ids);
    for (let r = Math.min(from, at); r <= Math.max(from, at); r++) {
      const i = display[r];
      if (i === undefined || i < 0) continue;
      if (select) chosen.add(rows.id[i]!);
      else chosen.delete(rows.id[i]!);
    }
    selection.set([...chosen]);
  };

  const startResize = (e: PointerEvent<HTMLSpanElement>, id: string) => {
    e.preventDefault();
    e.stopPropagation();
    const startX = e.clientX;
    const start = widthOf(id);
    const handle = e.currentTarget;
    handle.setPointerCapture(e.pointerId);
    let width = start;
    const move = (ev: globalThis.PointerEvent) => {
      width = Math.max(MIN_WIDTH, Math.round(start + ev.clientX - startX));
      setResizing({ id, width });
    };
    const up = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      setResizing(null);
      onResize(id, width);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
  };

  const cell = (c: string, i: number, id: string) => {
    if (c === 'status') {
      const status = rows.status[i]!;
      return (
        <td key={c}>
          <span className={`status status-${status}`}>{status}</span>
        </td>
      );
    }
    if (c === 'folder') {
      const folder = rows.folder[i]!;
      return (
        <td key={c} title={folder}>
          <a
            href={`/?folder=${encodeURIComponent(folder)}`}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/?folder=${encodeURIComponent(folder)}`);
            }}
          >
            {folder}
          </a>
        </td>
      );
    }
    if (c === 'tags') {
      return (
        <td key={c} title={rows.tags[i]!.join(', ')}>
          {rows.tags[i]!.map((t) => (
            <span key={t} className="tag">
              {t}
            </span>
          ))}
        </td>
      );
    }
    if (c === 'created') return <td key={c}>{formatTime(rows.created[i]!)}</td>;
    if (c === 'duration') {
      return (
        <td key={c} className="num">
          {formatDuration(runDuration(rows.started[i]!, rows.ended[i]!, now))}
        </td>
      );
    }
    if (c === 'alerts') {
      const names = critical.get(id);
      return (
        <td key={c} title={names?.join(', ')}>
          {names ? (
            <span className="badge badge-critical">
              {names.length === 1 ? 'critical' : `${names.length} critical`}
            </span>
          ) : null}
        </td>
      );
    }
    const text = formatValue(rows.columns[c]?.[i]);
    return (
      <td key={c} className={metricOf(c) ? 'num' : undefined} title={text}>
        {text}
      </td>
    );
  };

  const body: React.ReactNode[] = [];
  for (let r = first; r < last; r++) {
    const i = display[r]!;
    if (i < 0) {
      const group = groups![-i - 1]!;
      const open = !collapsed.has(group.label);
      body.push(
        <tr key={`group:${group.label}`} className="group-row" data-row={r}>
          <td colSpan={columns.length + 2}>
            <button type="button" aria-expanded={open} onClick={() => onToggleGroup(group.label)}>
              <span aria-hidden="true">{open ? '▾ ' : '▸ '}</span>
              {group.label || '(none)'}
            </button>{' '}
            <span className="muted">
              {group.count.toLocaleString('en')} {group.count === 1 ? 'run' : 'runs'}
            </span>
          </td>
        </tr>,
      );
      continue;
    }
    const id = rows.id[i]!;
    const name = rows.name[i]!;
    const selected = selection.has(id);
    body.push(
      <tr key={id} data-row={r} aria-rowindex={r + 2} aria-selected={selected}>
        <td className="pin">
          <input
            type="checkbox"
            checked={selected}
            onClick={(e) => clickCheck(e, r, id)}
            onChange={() => {}}
            aria-label={`Select ${name} for comparison`}
          />
        </td>
        <td className="pin pin-name" title={name}>
          <Link to={`/runs/${encodeURIComponent(id)}`}>{name}</Link>
        </td>
        {columns.map((c) => cell(c, i, id))}
      </tr>,
    );
  }

  const header = (id: string) => {
    const key = sortKeyOf(id);
    const sortable = id !== 'alerts';
    const label = id === 'name' ? 'Name' : columnLabel(id);
    return (
      <th
        key={id}
        scope="col"
        className={id === 'name' ? 'pin pin-name' : undefined}
        data-column={id}
        aria-sort={sort.key === key ? (sort.descending ? 'descending' : 'ascending') : 'none'}
        draggable={id !== 'name'}
        onDragStart={(e) => {
          dragged.current = id;
          e.dataTransfer.effectAllowed = 'move';
          e.dataTransfer.setData('text/plain', id);
        }}
        onDragOver={(e) => {
          if (dragged.current && id !== 'name') e.preventDefault();
        }}
        onDrop={(e) => {
          e.preventDefault();
          const from = dragged.current ?? e.dataTransfer.getData('text/plain');
          dragged.current = null;
          if (from && from !== id) onPlace(from, id);
        }}
      >
        {sortable ? (
          <button type="button" onClick={() => onSort(key)}>
            {label}
            {sort.key === key ? <span aria-hidden="true">{sort.descending ? ' ▼' : ' ▲'}</span> : null}
          </button>
        ) : (
          <span className="th-text">{label}</span>
        )}
        <span
          className="col-resize"
          aria-hidden="true"
          data-resize={id}
          onPointerDown={(e) => startResize(e, id)}
        />
      </th>
    );
  };

  return (
    <div className="table-scroll" ref={scroller} data-testid="runs-table">
      <table className="runs" aria-label="Runs" aria-rowcount={n + 1}>
        <colgroup>
          <col style={{ width: CHECK }} />
          <col style={{ width: widthOf('name') }} />
          {columns.map((c) => (
            <col key={c} style={{ width: widthOf(c) }} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col" className="pin">
              <input
                type="checkbox"
                checked={allSelected}
                disabled={rows.count === 0}
                onChange={(e) => onSelectAll(e.target.checked)}
                aria-label="Select every run of the filter"
              />
            </th>
            {header('name')}
            {columns.map(header)}
          </tr>
        </thead>
        <tbody onKeyDown={moveFocus}>
          {first > 0 ? (
            <tr className="spacer">
              <td style={{ height: first * ROW }} colSpan={columns.length + 2} />
            </tr>
          ) : null}
          {body}
          {last < n ? (
            <tr className="spacer">
              <td style={{ height: (n - last) * ROW }} colSpan={columns.length + 2} />
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
