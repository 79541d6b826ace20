import {
  type KeyboardEvent,
  type MutableRefObject,
  type PointerEvent,
  type RefObject,
  useEffect,
  useState,
} from 'react';
import { formatDuration, formatTime, formatValue, runDuration } from '../format.js';
import { navigate } from '../router.js';
import { columnLabel, defaultWidth, isFixed, MIN_WIDTH, metricOf, NAME_WIDTH } from './run-columns.js';
import type { RowGroup, RunRows, SortKey } from './run-rows.js';

/** The height of a row of the runs table, in pixels. */
export const ROW = 32;

/** The sort key of a column id: run columns by name, data columns as `column:ID`. */
function sortKeyOf(id: string): SortKey {
  return (id === 'name' || (isFixed(id) && id !== 'alerts') ? id : `column:${id}`) as SortKey;
}

/** The cell of column `c` in row `i`: status, folder link, tags, dates, critical alerts, or a data value. */
export function runCell(
  c: string,
  i: number,
  rows: RunRows,
  critical: ReadonlyMap<string, readonly string[]>,
  now: number,
) {
  const id = rows.id[i] ?? '';
  if (c === 'status') {
    const status = rows.status[i] ?? '';
    return (
      <td key={c}>
        <span className={`status status-${status}`}>{status}</span>
      </td>
    );
  }
  if (c === 'folder') {
    const folder = rows.folder[i] ?? '';
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
      <td key={c} title={(rows.tags[i] ?? []).join(', ')}>
        {(rows.tags[i] ?? []).map((t) => (
          <span key={t} className="tag">
            {t}
          </span>
        ))}
      </td>
    );
  }
  if (c === 'created') return <td key={c}>{formatTime(rows.created[i] ?? 0)}</td>;
  if (c === 'duration') {
    return (
      <td key={c} className="num">
        {formatDuration(runDuration(rows.started[i] ?? null, rows.ended[i] ?? null, now))}
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
}

/** A column's header: sorts on click, is dragged to a new place, and is resized by its right edge. */
export function ColumnHeader({
  id,
  sort,
  onSort,
  dragged,
  onPlace,
  onResizeStart,
}: {
  id: string;
  sort: { key: SortKey; descending: boolean };
  onSort(key: SortKey): void;
  /** The column being dragged to a new place. */
  dragged: MutableRefObject<string | null>;
  onPlace(id: string, before: string): void;
  onResizeStart(e: PointerEvent<HTMLSpanElement>, id: string): void;
}) {
  const key = sortKeyOf(id);
  const sortable = id !== 'alerts';
  const label = id === 'name' ? 'Name' : columnLabel(id);
  return (
    <th
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
        onPointerDown={(e) => onResizeStart(e, id)}
      />
    </th>
  );
}

/** The rows in view of a scrolling table: its scroll offset and height, followed as it scrolls and resizes. */
export function useScrollView(scroller: RefObject<HTMLDivElement | null>) {
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
  return view;
}

/** Column widths while a column's right edge is dragged; `onResize` is told the new width when it is let go. */
export function useColumnResize(
  widths: Record<string, number>,
  onResize: (id: string, width: number) => void,
) {
  const [resizing, setResizing] = useState<{ id: string; width: number } | null>(null);
  const widthOf = (id: string) =>
    resizing?.id === id ? resizing.width : (widths[id] ?? (id === 'name' ? NAME_WIDTH : defaultWidth(id)));

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
  return { widthOf, startResize };
}

/** Up and down arrows move the focus to the link of the next or previous row, scrolling it into view. */
export function moveFocus(e: KeyboardEvent<HTMLTableSectionElement>, n: number, el: HTMLDivElement) {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  const target = e.target as HTMLElement;
  const row = target.closest('tr[data-row]') as HTMLElement | null;
  if (!row) return;
  e.preventDefault();
  const at = Number(row.dataset.row) + (e.key === 'ArrowDown' ? 1 : -1);
  if (at < 0 || at >= n) return;
  const want = at * ROW;
  if (want < el.scrollTop) el.scrollTop = want;
  else if (want + 2 * ROW > el.scrollTop + el.clientHeight) el.scrollTop = want + 2 * ROW - el.clientHeight;
  requestAnimationFrame(() => {
    const next = el.querySelector<HTMLElement>(`tr[data-row="${at}"] a`);
    next?.focus();
  });
}

/** The header row of a group: its label folds and unfolds it, with its count of runs. */
export function GroupRow(props: {
  group: RowGroup;
  row: number;
  span: number;
  open: boolean;
  onToggle(label: string): void;
}) {
  const { group, open } = props;
  return (
    <tr className="group-row" data-row={props.row}>
      <td colSpan={props.span}>
        <button type="button" aria-expanded={open} onClick={() => props.onToggle(group.label)}>
          <span aria-hidden="true">{open ? '▾ ' : '▸ '}</span>
          {group.label || '(none)'}
        </button>{' '}
        <span className="muted">
          {group.count.toLocaleString('en')} {group.count === 1 ? 'run' : 'runs'}
        </span>
      </td>
    </tr>
  );
}
