import { type ComponentProps, type FormEvent, useCallback, useEffect, useMemo, useState } from 'react';
import type { Api } from '../api.js';
import { BulkActions } from '../components/bulk-actions.js';
import { ColumnPicker } from '../components/column-picker.js';
import {
  checkFilter,
  FilterBox,
  type FilterProblem,
  filterOfText,
  looksLikeFilter,
} from '../components/filter-box.js';
import { FolderTree } from '../components/folder-tree.js';
import { canWrite, LoadError } from '../components/load-state.js';
import {
  columnLabel,
  columnsParam,
  isDataColumn,
  loadColumns,
  loadWidths,
  parseColumnsParam,
  parseSortParam,
  placeColumn,
  storeColumns,
  storeWidths,
} from '../components/run-columns.js';
import { groupRows, type RunRows, type SortKey, sortRows } from '../components/run-rows.js';
import { RunsTable } from '../components/runs-table.js';
import { href, navigate, useLocation } from '../router.js';
import { useSession } from '../session.js';
import { allRunIds, useCriticalRuns, useLiveRuns, useRunTable } from './runs-data.js';

type FilterSources = ComponentProps<typeof FilterBox>['sources'];

/** A regular expression matching `text` literally. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The folder part of a filter: the folder alone, or with its subfolders. */
export function folderFilter(folder: string, subfolders: boolean): string {
  const exact = `folder == ${JSON.stringify(folder)}`;
  return subfolders ? `(${exact} or folder matches ${JSON.stringify(`^${literal(folder)}/`)})` : exact;
}

/** The filter sent to the server: the user's text (a filter, or a search of names), narrowed to the folder. */
function effectiveFilter(text: string, folder: string, subfolders = false): string {
  const parts: string[] = [];
  const { filter } = filterOfText(text);
  if (filter) parts.push(`(${filter})`);
  if (folder !== '/') parts.push(folderFilter(folder, subfolders));
  return parts.join(' and ');
}

/** The sort key in the address: run columns by name, data columns by id. */
function sortIdOf(key: SortKey): string {
  return key.startsWith('column:') ? key.slice(7) : key;
}

/** The runs list's settings kept in the address: columns, sort, grouping and subfolders. */
function useRunsAddress() {
  const location = useLocation();
  const [stored, setStored] = useState<string[]>(loadColumns);
  const q = location.query;
  const colsParam = q.get('cols');
  const columns = useMemo(
    () => (colsParam !== null ? parseColumnsParam(colsParam) : stored),
    [colsParam, stored],
  );
  const sortParam = q.get('sort');
  const sort = useMemo(() => {
    const s = parseSortParam(sortParam);
    const key = (
      s.key === 'name' || ['status', 'folder', 'tags', 'created', 'duration'].includes(s.key)
        ? s.key
        : `column:${s.key}`
    ) as SortKey;
    return { key, descending: s.descending };
  }, [sortParam]);
  const group = q.get('group') ?? '';
  const subfolders = q.get('sub') !== '0';

  /** Changes parameters of the address, keeping the others (no new history entry). */
  const setQuery = useCallback((patch: Record<string, string | null>) => {
    const params = new URLSearchParams(window.location.search);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) params.delete(k);
      else params.set(k, v);
    }
    const qs = params.toString();
    navigate(qs ? `/?${qs}` : '/', true);
  }, []);

  const setColumns = useCallback(
    (next: string[]) => {
      setStored(next);
      storeColumns(next);
      setQuery({ cols: columnsParam(next) });
    },
    [setQuery],
  );
  return { columns, sort, group, subfolders, setQuery, setColumns };
}

/** The workspace's metric names, asked for once `wanted` (the column picker opens or the filter box is used). */
function useMetricNames(api: Api, wanted: boolean): string[] | null {
  const [metricNames, setMetricNames] = useState<string[] | null>(null);
  useEffect(() => {
    if (!wanted || metricNames !== null) return;
    const abort = new AbortController();
    api.runTable({ limit: 1, metricNames: true }, abort.signal).then(
      (t) => setMetricNames(t.metricNames ?? []),
      () => {},
    );
    return () => abort.abort();
  }, [api, wanted, metricNames]);
  return metricNames;
}

/** The filter box's text and its problem, checked as it is typed and when it is applied. */
function useFilterText(filter: string) {
  const [text, setText] = useState(filter);
  const [problem, setProblem] = useState<FilterProblem | null>(() =>
    filter.trim() && looksLikeFilter(filter) ? checkFilter(filter) : null,
  );
  useEffect(() => setText(filter), [filter]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const trimmed = text.trim();
    const p = trimmed && looksLikeFilter(trimmed) ? checkFilter(trimmed) : null;
    setProblem(p);
    if (!p) {
      const params = new URLSearchParams(window.location.search);
      if (trimmed) params.set('filter', trimmed);
      else params.delete('filter');
      const qs = params.toString();
      navigate(qs ? `/?${qs}` : '/');
    }
  };

  const onChange = (value: string) => {
    setText(value);
    const trimmed = value.trim();
    setProblem(trimmed && looksLikeFilter(trimmed) ? checkFilter(trimmed) : null);
  };
  return { text, problem, setProblem, submit, onChange };
}

/** The tags offered as completions, gathered once the filter box is used. */
function tagsOf(rows: RunRows, wanted: boolean): string[] {
  if (!wanted) return [];
  const seen = new Set<string>();
  for (let i = 0; i < rows.count && seen.size < 500; i++) for (const t of rows.tags[i] ?? []) seen.add(t);
  return [...seen].sort();
}

/** Selecting every run of the filter, not just those drawn: asked of the server while the table still loads. */
function useSelectAll(api: Api, query: string, table: ReturnType<typeof useRunTable>) {
  const { selection } = useSession();
  const { rows, version, loading } = table;
  const [selecting, setSelecting] = useState(false);
  const selected = useMemo(() => new Set(selection.ids), [selection.ids]);
  const allSelected = useMemo(() => {
    void version;
    if (rows.count === 0 || loading || selected.size < rows.count) return false;
    for (let i = 0; i < rows.count; i++) if (!selected.has(rows.id[i] ?? '')) return false;
    return true;
  }, [rows, version, selected, loading]);

  const selectAll = async (select: boolean) => {
    if (!select) {
      const drop = new Set(rows.id);
      selection.set(selection.ids.filter((id) => !drop.has(id)));
      return;
    }
    setSelecting(true);
    try {
      const ids = loading ? await allRunIds(api, query) : rows.id;
      selection.set([...new Set([...selection.ids, ...ids])]);
    } catch (error) {
      table.setLoadError(error);
    } finally {
      setSelecting(false);
    }
  };
  return { selecting, allSelected, selectAll };
}

/** Runs: the folder tree, the filter box, and the table of every matching run. */
export function RunsPage({ folder, filter }: { folder: string; filter: string }) {
  const { api, me } = useSession();
  const { columns, sort, group, subfolders, setQuery, setColumns } = useRunsAddress();
  const box = useFilterText(filter);
  const [widths, setWidths] = useState<Record<string, number>>(loadWidths);
  const [showColumns, setShowColumns] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const [wantMetricNames, setWantMetricNames] = useState(false);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [folderVersion, setFolderVersion] = useState(0);

  const { nameSearch } = filterOfText(filter);
  const query = effectiveFilter(filter, folder, subfolders);
  // The server fills data columns; the order and the run's own columns change nothing it sends.
  const dataColumns = useMemo(() => {
    const wanted = columns.filter(isDataColumn);
    if (group && isDataColumn(group) && !wanted.includes(group) && group !== 'user') wanted.push(group);
    return [...new Set(wanted)].sort();
  }, [columns, group]);
  const dataKey = JSON.stringify(dataColumns);

  const metricNames = useMetricNames(api, showColumns || wantMetricNames);
  const table = useRunTable(api, query, dataKey, attempt, box.setProblem);
  const { rows, version, loading, loadError, metadataPaths } = table;
  const critical = useCriticalRuns(api, loading);
  useLiveRuns(api, query, dataKey, table, () => setFolderVersion((v) => v + 1));
  const { selecting, allSelected, selectAll } = useSelectAll(api, query, table);

  const order = useMemo(() => {
    void version;
    return sortRows(rows, sort.key, sort.descending);
  }, [rows, version, sort]);
  const grouped = useMemo(() => {
    void version;
    return group ? groupRows(rows, order, group, collapsed) : null;
  }, [rows, version, order, group, collapsed]);
  const tags = useMemo(() => {
    void version;
    return tagsOf(rows, wantMetricNames);
  }, [rows, version, wantMetricNames]);
  const sources = useMemo(
    () => ({ metadataPaths, metricNames: metricNames ?? [], tags }),
    [metadataPaths, metricNames, tags],
  );

  return (
    <div className="runs-layout">
      <FolderTree
        current={folder}
        filter={filter}
        version={folderVersion}
        subfolders={subfolders}
        countLater={loading}
      />
      <section aria-labelledby="runs-heading">
        <h1 id="runs-heading" className="visually-hidden">
          Runs
        </h1>
        <RunsFilterBar
          box={box}
          nameSearch={box.text.trim() === filter.trim() ? nameSearch : null}
          sources={sources}
          onFocus={() => setWantMetricNames(true)}
          showColumns={showColumns}
          onToggleColumns={() => setShowColumns((s) => !s)}
        />
        {canWrite(me.token.scopes) ? <BulkActions /> : null}
        {showColumns ? (
          <ColumnPicker
            columns={columns}
            metadataPaths={metadataPaths}
            metricNames={metricNames ?? []}
            onChange={setColumns}
          />
        ) : null}
        <RunsToolbar
          folder={folder}
          count={rows.count}
          loading={loading}
          loadError={loadError}
          onRetry={() => setAttempt((a) => a + 1)}
          canSelectAll={!(rows.count === 0 || selecting || allSelected)}
          selecting={selecting}
          onSelectAll={() => void selectAll(true)}
          group={group}
          groupChoices={groupChoicesOf(columns, group)}
          onGroup={(value) => {
            setCollapsed(new Set());
            setQuery({ group: value || null });
          }}
          subfolders={subfolders}
          onSubfolders={(on) => setQuery({ sub: on ? null : '0' })}
        />
        <RunsTable
          empty={
            loading || loadError || box.problem
              ? null
              : query
                ? 'No runs match this filter and folder.'
                : 'No runs yet. Start one with `simscope run -- ./solver` or the client.'
          }
          rows={rows}
          version={version}
          display={grouped ? grouped.display : order}
          groups={grouped ? grouped.groups : null}
          collapsed={collapsed}
          onToggleGroup={(label) => setCollapsed((c) => toggled(c, label))}
          columns={columns}
          widths={widths}
          onResize={(id, width) =>
            setWidths((w) => {
              const next = { ...w, [id]: width };
              storeWidths(next);
              return next;
            })
          }
          onPlace={(id, before) => setColumns(placeColumn(columns, id, before))}
          sort={sort}
          onSort={(key) => {
            const descending = sort.key === key ? !sort.descending : key === 'created';
            const id = sortIdOf(key);
            setQuery({ sort: id === 'created' && descending ? null : `${descending ? '-' : ''}${id}` });
          }}
          critical={critical}
          allSelected={allSelected}
          onSelectAll={(select) => void selectAll(select)}
        />
      </section>
    </div>
  );
}

/** `set` with `item` added, or taken out where it was in. */
function toggled(set: ReadonlySet<string>, item: string): ReadonlySet<string> {
  const next = new Set(set);
  if (next.has(item)) next.delete(item);
  else next.add(item);
  return next;
}

function groupChoicesOf(columns: string[], group: string): string[] {
  const choices = ['status', 'folder', 'user', 'tags', ...columns.filter(isDataColumn)];
  if (group && !choices.includes(group)) choices.push(group);
  return choices;
}

/** The filter form: the filter box, Apply, the columns toggle, and comparing or clearing the selection. */
function RunsFilterBar(props: {
  box: ReturnType<typeof useFilterText>;
  nameSearch: string | null;
  sources: FilterSources;
  onFocus: () => void;
  showColumns: boolean;
  onToggleColumns: () => void;
}) {
  const { selection } = useSession();
  const { box } = props;
  return (
    <form className="filter-bar" onSubmit={box.submit} aria-label="Filter runs">
      <FilterBox
        value={box.text}
        problem={box.problem}
        nameSearch={props.nameSearch}
        onChange={box.onChange}
        sources={props.sources}
        onFocus={props.onFocus}
      />
      <button type="submit" className="primary">
        Apply
      </button>
      <button
        type="button"
        aria-expanded={props.showColumns}
        aria-controls="columns-panel"
        onClick={props.onToggleColumns}
      >
        Columns
      </button>
      <button
        type="button"
        disabled={selection.ids.length === 0}
        onClick={() => navigate(href('/compare', { runs: selection.ids.join(',') }))}
      >
        Compare {selection.ids.length} selected
      </button>
      {selection.ids.length > 0 ? (
        <button type="button" onClick={() => selection.set([])}>
          Clear selection
        </button>
      ) : null}
    </form>
  );
}

/** Above the table: the count of runs (or the load error), select all, group by, and subfolders. */
function RunsToolbar(props: {
  folder: string;
  count: number;
  loading: boolean;
  loadError: unknown;
  onRetry: () => void;
  canSelectAll: boolean;
  selecting: boolean;
  onSelectAll: () => void;
  group: string;
  groupChoices: string[];
  onGroup: (group: string) => void;
  subfolders: boolean;
  onSubfolders: (on: boolean) => void;
}) {
  const { count, loading } = props;
  return (
    <div className="runs-toolbar">
      {props.loadError ? (
        <LoadError error={props.loadError} what="Loading the runs" onRetry={props.onRetry} />
      ) : (
        <p className="muted" aria-live="polite" id="runs-count" data-state={loading ? 'loading' : 'done'}>
          {loading && count === 0
            ? 'Loading runs…'
            : `${count.toLocaleString('en')} ${count === 1 ? 'run' : 'runs'}${loading ? ' (loading more…)' : ''}`}
        </p>
      )}
      <button type="button" disabled={!props.canSelectAll} onClick={props.onSelectAll}>
        {props.selecting ? 'Selecting…' : 'Select all matching'}
      </button>
      <label>
        Group by{' '}
        <select aria-label="Group by" value={props.group} onChange={(e) => props.onGroup(e.target.value)}>
          <option value="">nothing</option>
          {props.groupChoices.map((g) => (
            <option key={g} value={g}>
              {g === 'user' ? 'User' : columnLabel(g)}
            </option>
          ))}
        </select>
      </label>
      {props.folder !== '/' ? (
        <label>
          <input
            type="checkbox"
            checked={props.subfolders}
            onChange={(e) => props.onSubfolders(e.target.checked)}
          />{' '}
          include subfolders
        </label>
      ) : null}
    </div>
  );
}
