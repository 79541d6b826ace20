import type { RunView } from '@simscope/protocol';
import type { RunTablePage } from '../api.js';
import { formatValue, runDuration, runEnd } from '../format.js';
import { naturalCompare } from './run-columns.js';

/** Runs as columns, as loaded page by page for the runs table: the pages' columns, joined. */
export type RunRows = Omit<RunTablePage, 'metadataKeys' | 'metricNames' | 'next'>;

export function emptyRows(columns: readonly string[]): RunRows {
  return {
    count: 0,
    id: [],
    name: [],
    status: [],
    folder: [],
    user: [],
    tags: [],
    created: [],
    started: [],
    ended: [],
    columns: Object.fromEntries(columns.map((c) => [c, []])),
  };
}

/** Appends a page (in place: the table re-renders from a new version number, not a new object). */
export function appendPage(rows: RunRows, page: RunTablePage, columns: readonly string[]): void {
  const push = <T>(into: T[], from: T[]) => {
    for (const x of from) into.push(x);
  };
  push(rows.id, page.id);
  push(rows.name, page.name);
  push(rows.status, page.status);
  push(rows.folder, page.folder);
  push(rows.user, page.user);
  push(rows.tags, page.tags);
  push(rows.created, page.created);
  push(rows.started, page.started);
  push(rows.ended, page.ended);
  for (const c of columns) {
    rows.columns[c] ??= [];
    push(rows.columns[c], page.columns[c] ?? new Array(page.count).fill(null));
  }
  rows.count += page.count;
}

/** Puts a run's new state into its row; returns false when the run is not in the table. */
export function updateRow(rows: RunRows, index: Map<string, number>, run: RunView): boolean {
  const i = index.get(run.id);
  if (i === undefined) return false;
  rows.name[i] = run.name;
  rows.status[i] = run.status;
  rows.folder[i] = run.folder;
  rows.user[i] = run.user;
  rows.tags[i] = run.tags;
  rows.started[i] = run.started;
  rows.ended[i] = runEnd(run);
  for (const c of Object.keys(rows.columns)) {
    if (c.startsWith('metadata.')) {
      const key = c.slice(9);
      const column = rows.columns[c];
      if (column) column[i] = Object.hasOwn(run.metadata, key) ? (run.metadata[key] ?? null) : null;
    }
  }
  return true;
}

/** Takes row `i` out (in place). */
export function removeRow(rows: RunRows, i: number): void {
  for (const list of [
    rows.id,
    rows.name,
    rows.status,
    rows.folder,
    rows.user,
    rows.tags,
    rows.created,
    rows.started,
    rows.ended,
  ]) {
    list.splice(i, 1);
  }
  for (const column of Object.values(rows.columns)) column.splice(i, 1);
  rows.count--;
}

export type SortKey = 'name' | 'status' | 'folder' | 'tags' | 'created' | 'duration' | `column:${string}`;

/** Row order for a sort: indices into the rows, nulls last either way. */
export function sortRows(rows: RunRows, key: SortKey, descending: boolean): Int32Array {
  const n = rows.count;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (key === 'created' && descending) return order; // the order the server sends
  const now = Date.now() * 1000;
  let numbers: Float64Array | null = null;
  let texts: string[] | null = null;
  const nulls = new Uint8Array(n);
  if (key === 'created' || key === 'duration') {
    numbers = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v =
        key === 'created'
          ? (rows.created[i] ?? null)
          : runDuration(rows.started[i] ?? null, rows.ended[i] ?? null, now);
      if (v === null) nulls[i] = 1;
      else numbers[i] = v;
    }
  } else if (key === 'name' || key === 'status' || key === 'folder' || key === 'tags') {
    texts = new Array(n);
    for (let i = 0; i < n; i++) {
      texts[i] = (key === 'tags' ? (rows.tags[i] ?? []).join(',') : (rows[key][i] ?? '')).toLowerCase();
    }
  } else {
    const values = rows.columns[key.slice(7)] ?? [];
    let numeric = true;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (
        v !== null &&
        v !== undefined &&
        typeof v !== 'number' &&
        v !== 'Infinity' &&
        v !== '-Infinity' &&
        v !== 'NaN'
      ) {
        numeric = false;
        break;
      }
    }
    if (numeric) {
      numbers = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const x = typeof v === 'number' ? v : v === null || v === undefined ? Number.NaN : Number(v);
        if (Number.isNaN(x)) nulls[i] = 1;
        else numbers[i] = x;
      }
    } else {
      texts = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null || v === undefined) nulls[i] = 1;
        texts[i] = typeof v === 'string' ? v : JSON.stringify(v ?? null);
      }
    }
  }
  const dir = descending ? -1 : 1;
  const sorted = Array.from(order).sort((a, b) => {
    const na = nulls[a] ?? 0;
    const nb = nulls[b] ?? 0;
    if (na !== nb) return na - nb;
    if (numbers) return ((numbers[a] ?? 0) - (numbers[b] ?? 0)) * dir || a - b;
    const ta = texts?.[a] ?? '';
    const tb = texts?.[b] ?? '';
    return (ta < tb ? -dir : ta > tb ? dir : 0) || a - b;
  });
  return Int32Array.from(sorted);
}

/** A group of rows that share a value of the grouping key. */
export interface RowGroup {
  label: string;
  count: number;
}

/** The text a run is grouped under for a key: a run column (`status`, `folder`, `user`, `tags`) or a data column. */
function groupValue(rows: RunRows, key: string, i: number): string {
  if (key === 'status' || key === 'folder') return rows[key][i] ?? '';
  if (key === 'user') return rows.user[i] ?? '';
  if (key === 'tags') return [...(rows.tags[i] ?? [])].sort().join(', ');
  return formatValue(rows.columns[key]?.[i]);
}

/**
 * What the table draws when rows are grouped: for each group (values in natural order, runs without one last) a
 * header, entered as `-(group + 1)`, then its rows in `order`, left out when the group is collapsed.
 */
export function groupRows(
  rows: RunRows,
  order: Int32Array,
  key: string,
  collapsed: ReadonlySet<string>,
): { display: Int32Array; groups: RowGroup[] } {
  const byLabel = new Map<string, number[]>();
  for (const i of order) {
    const label = groupValue(rows, key, i);
    const list = byLabel.get(label);
    if (list) list.push(i);
    else byLabel.set(label, [i]);
  }
  const labels = [...byLabel.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : naturalCompare(a, b)));
  const groups: RowGroup[] = [];
  let size = labels.length;
  for (const label of labels) if (!collapsed.has(label)) size += byLabel.get(label)?.length ?? 0;
  const display = new Int32Array(size);
  let at = 0;
  labels.forEach((label, g) => {
    const list = byLabel.get(label) ?? [];
    groups.push({ label, count: list.length });
    display[at++] = -(g + 1);
    if (collapsed.has(label)) return;
    for (const i of list) display[at++] = i;
  });
  return { display, groups };
}
