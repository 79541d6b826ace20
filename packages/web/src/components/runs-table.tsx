import { type MouseEvent, useRef } from 'react';
import { useSession } from '../session.js';
import { Link } from './link.js';
import type { RowGroup, RunRows, SortKey } from './run-rows.js';
import {
  ColumnHeader,
  GroupRow,
  moveFocus,
  ROW,
  runCell,
  useColumnResize,
  useScrollView,
} from './runs-table-cells.js';
import './runs-table.css';

const OVERSCAN = 12;
const CHECK = 36;

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
  const dragged = useRef<string | null>(null);
  const anchor = useRef<number | null>(null);

  const view = useScrollView(scroller);
  const { widthOf, startResize } = useColumnResize(widths, onResize);
  const n = display.length;
  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN);
  const last = Math.min(n, Math.ceil((view.top + view.height) / ROW) + OVERSCAN);
  const now = Date.now() * 1000;
  void version;

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
    for (const i of display.subarray(Math.min(from, at), Math.max(from, at) + 1)) {
      const rowId = i < 0 ? undefined : rows.id[i];
      if (rowId === undefined) continue;
      if (select) chosen.add(rowId);
      else chosen.delete(rowId);
    }
    selection.set([...chosen]);
  };

  const body: React.ReactNode[] = [];
  for (const [k, i] of display.subarray(first, last).entries()) {
    const r = first + k;
    if (i < 0) {
      const group = groups?.[-i - 1];
      if (!group) continue;
      body.push(
        <GroupRow
          key={`group:${group.label}`}
          group={group}
          row={r}
          span={columns.length + 2}
          open={!collapsed.has(group.label)}
          onToggle={onToggleGroup}
        />,
      );
      continue;
    }
    const id = rows.id[i] ?? '';
    const name = rows.name[i] ?? '';
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
        {columns.map((c) => runCell(c, i, rows, critical, now))}
      </tr>,
    );
  }

  const header = (id: string) => (
    <ColumnHeader
      key={id}
      id={id}
      sort={sort}
      onSort={onSort}
      dragged={dragged}
      onPlace={onPlace}
      onResizeStart={startResize}
    />
  );

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
        <tbody onKeyDown={(e) => scroller.current && moveFocus(e, n, scroller.current)}>
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
