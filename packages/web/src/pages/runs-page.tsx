import { type FormEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, type RunTablePage } from '../api.js';
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
import {
  appendPage,
  emptyRows,
  groupRows,
  type RunRows,
  removeRow,
  type SortKey,
  sortRows,
  updateRow,
} from '../components/run-rows.js';
import { RunsTable } from '../components/runs-table.js';
import { href, navigate, useLocation } from '../router.js';
import { useSession } from '../session.js';

export type { FilterProblem };

const FIRST_PAGE = 5_000;
const PAGE = 50_000;
/** Critical alerts are looked up again this often (their states change on the server's schedule). */
const ALERTS_EVERY_MS = 10_000;

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
export function effectiveFilter(text: string, folder: string, subfolders = false): string {
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

/** Runs: the folder tree, the filter box, and the table of every matching run. */
export function RunsPage({ folder, filter }: { folder: string; filter: string }) {
  const { api, me, selection } = useSession();
  const location = useLocation();
  const [text, setText] = useState(filter);
  const [problem, setProblem] = useState<FilterProblem | null>(() =>
    filter.trim() && looksLikeFilter(filter) ? checkFilter(filter) : null,
  );
  const [stored, setStored] = useState<string[]>(loadColumns);
  const [widths, setWidths] = useState<Record<string, number>>(loadWidths);
  const [showColumns, setShowColumns] = useState(false);
  const [rows, setRows] = useState<RunRows>(() => emptyRows([]));
  const [version, setVersion] = useState(0);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [metadataPaths, setMetadataPaths] = useState<string[]>([]);
  const [metricNames, setMetricNames] = useState<string[] | null>(null);
  const [wantMetricNames, setWantMetricNames] = useState(false);
  const [critical, setCritical] = useState<ReadonlyMap<string, readonly string[]>>(new Map());
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [selecting, setSelecting] = useState(false);
  const [folderVersion, setFolderVersion] = useState(0);
  const indexRef = useRef(new Map<string, number>());
  const rowsRef = useRef(rows);
  rowsRef.current = rows;

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

  useEffect(() => setText(filter), [filter]);

  const { nameSearch } = filterOfText(filter);
  const query = effectiveFilter(filter, folder, subfolders);
  // The server fills data columns; the order and the run's own columns change nothing it sends.
  const dataColumns = useMemo(() => {
    const wanted = columns.filter(isDataColumn);
    if (group && isDataColumn(group) && !wanted.includes(group) && group !== 'user') wanted.push(group);
    return [...new Set(wanted)].sort();
  }, [columns, group]);
  const dataKey = JSON.stringify(dataColumns);

  // The workspace's metric names, asked for when the column picker opens or the filter box is used.
  useEffect(() => {
    if (!(showColumns || wantMetricNames) || metricNames !== null) return;
    const abort = new AbortController();
    api.runTable({ limit: 1, metricNames: true }, abort.signal).then(
      (t) => setMetricNames(t.metricNames ?? []),
      () => {},
    );
    return () => abort.abort();
  }, [api, showColumns, wantMetricNames, metricNames]);

  // Which runs have critical alerts: each alert critical anywhere, then its critical runs. Asked once the table
  // is in, so that these requests do not compete with its pages.
  useEffect(() => {
    if (loading) return;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const look = async () => {
      try {
        const found = new Map<string, string[]>();
        let next: string | null = null;
        do {
          const page: Awaited<ReturnType<typeof api.alerts>> = await api.alerts(next, abort.signal);
          for (const alert of page.items) {
            if (alert.critical === 0) continue;
            let runsNext: string | null = null;
            do {
              const runs: Awaited<ReturnType<typeof api.criticalRuns>> = await api.criticalRuns(
                alert.name,
                runsNext,
                abort.signal,
              );
              for (const r of runs.items) {
                const list = found.get(r.run.id) ?? [];
                list.push(alert.name);
                found.set(r.run.id, list);
              }
              runsNext = runs.next;
            } while (runsNext && !abort.signal.aborted);
          }
          next = page.next;
        } while (next && !abort.signal.aborted);
        if (!abort.signal.aborted) setCritical(found);
      } catch {
        // shown again at the next look
      }
      if (!abort.signal.aborted) timer = setTimeout(look, ALERTS_EVERY_MS);
    };
    void look();
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [api, loading]);

  // Load every page of the table; the first small so that rows show at once.
  useEffect(() => {
    const abort = new AbortController();
    const wanted = JSON.parse(dataKey) as string[];
    const fresh = emptyRows(wanted);
    const index = new Map<string, number>();
    indexRef.current = index;
    setRows(fresh);
    setLoading(true);
    setLoadError(null);
    const started = performance.now();
    (async () => {
      const fetchPage = (limit: number, next: string | null) =>
        api.runTable({ filter: query, columns: wanted, limit, next }, abort.signal);
      let pending: Promise<RunTablePage> | null = fetchPage(FIRST_PAGE, null);
      while (pending && !abort.signal.aborted) {
        const page: RunTablePage = await pending;
        // The server makes the next page while this one is added to the table.
        pending = page.next ? fetchPage(PAGE, page.next) : null;
        pending?.catch(() => {});
        for (let i = 0; i < page.count; i++) index.set(page.id[i]!, fresh.count + i);
        appendPage(fresh, page, wanted);
        if (page.metadataPaths && page.metadataPaths.length > 0) setMetadataPaths(page.metadataPaths);
        setVersion((v) => v + 1);
      }
      setLoading(false);
      document.documentElement.dataset.runsLoadedMs = String(Math.round(performance.now() - started));
    })().catch((error: unknown) => {
      if (abort.signal.aborted) return;
      setLoading(false);
      // Only the filter's own mistakes belong beside the filter box; a server down or failing is shown as such.
      if (error instanceof ApiError && error.code === 'invalid_filter') {
        setProblem({
          message: error.message,
          position: (error.details?.position as number | undefined) ?? null,
        });
      } else {
        setLoadError(error);
      }
    });
    return () => abort.abort();
  }, [api, query, dataKey, attempt]);

  // Live: rows change in place; runs created since are fetched and put on top.
  useEffect(() => {
    const abort = new AbortController();
    const wanted = JSON.parse(dataKey) as string[];
    let pendingNew: ReturnType<typeof setTimeout> | undefined;
    const fetchNew = async () => {
      pendingNew = undefined;
      const current = rowsRef.current;
      const newest = current.count > 0 ? current.created[0]! : 0;
      const since = new Date(Math.floor(newest / 1000)).toISOString();
      const narrowed = [query ? `(${query})` : '', `created >= ${since}`].filter(Boolean).join(' and ');
      try {
        const page = await api.runTable({ filter: narrowed, columns: wanted, limit: 1000 }, abort.signal);
        const fresh = emptyRows(wanted);
        const index = new Map<string, number>();
        const keep = page.id.map((id) => !indexRef.current.has(id));
        const added = keep.filter(Boolean).length;
        if (added === 0) return;
        const pick = <T,>(a: T[]) => a.filter((_, i) => keep[i]);
        appendPage(
          fresh,
          {
            ...page,
            count: added,
            id: pick(page.id),
            name: pick(page.name),
            status: pick(page.status),
            folder: pick(page.folder),
            user: pick(page.user),
            tags: pick(page.tags),
            created: pick(page.created),
            started: pick(page.started),
            ended: pick(page.ended),
            columns: Object.fromEntries(Object.entries(page.columns).map(([k, v]) => [k, pick(v)])),
          },
          wanted,
        );
        appendPage(fresh, { ...tableOf(current), metadataKeys: [], next: null }, wanted);
        for (let i = 0; i < fresh.count; i++) index.set(fresh.id[i]!, i);
        indexRef.current = index;
        setRows(fresh);
        setVersion((v) => v + 1);
      } catch {
        // the next change tries again
      }
    };
    const metricColumns = wanted.filter((c) => !c.startsWith('metadata.'));
    void api.live(
      null,
      (m) => {
        if (m.type === 'run') {
          if (updateRow(rowsRef.current, indexRef.current, m.run)) setVersion((v) => v + 1);
          else pendingNew ??= setTimeout(fetchNew, 300);
        } else if (m.type === 'deleted') {
          const current = rowsRef.current;
          const i = indexRef.current.get(m.run) ?? current.name.indexOf(m.run);
          if (i === undefined || i < 0) return;
          removeRow(current, i);
          const index = new Map<string, number>();
          for (let k = 0; k < current.count; k++) index.set(current.id[k]!, k);
          indexRef.current = index;
          setVersion((v) => v + 1);
        } else if (m.type === 'folder') {
          setFolderVersion((v) => v + 1);
        } else if (m.type === 'metrics' && metricColumns.length > 0) {
          const i = indexRef.current.get(m.run);
          if (i === undefined) return;
          // One row's summaries, from the table itself so that min, max and mean come as the server keeps them.
          void api
            .runTable(
              { filter: `id == ${JSON.stringify(m.run)}`, columns: metricColumns, limit: 1 },
              abort.signal,
            )
            .then(
              (page) => {
                const r = rowsRef.current;
                if (r.id[i] !== m.run || page.count !== 1) return;
                for (const c of metricColumns) {
                  const col = r.columns[c];
                  if (col) col[i] = page.columns[c]?.[0] ?? null;
                }
                setVersion((v) => v + 1);
              },
              () => {},
            );
        }
      },
      () => {
        document.documentElement.dataset.liveReady = 'runs';
      },
      abort.signal,
    );
    return () => {
      abort.abort();
      if (pendingNew) clearTimeout(pendingNew);
    };
  }, [api, query, dataKey]);

  const order = useMemo(() => {
    void version;
    return sortRows(rows, sort.key, sort.descending);
  }, [rows, version, sort]);

  const grouped = useMemo(() => {
    void version;
    return group ? groupRows(rows, order, group, collapsed) : null;
  }, [rows, version, order, group, collapsed]);

  // The tags offered as completions, gathered once the filter box is used.
  const tags = useMemo(() => {
    void version;
    if (!wantMetricNames) return [];
    const seen = new Set<string>();
    for (let i = 0; i < rows.count && seen.size < 500; i++) for (const t of rows.tags[i]!) seen.add(t);
    return [...seen].sort();
  }, [rows, version, wantMetricNames]);
  const sources = useMemo(
    () => ({ metadataPaths, metricNames: metricNames ?? [], tags }),
    [metadataPaths, metricNames, tags],
  );

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

  const selected = useMemo(() => new Set(selection.ids), [selection.ids]);
  const allSelected = useMemo(() => {
    void version;
    if (rows.count === 0 || loading || selected.size < rows.count) return false;
    for (let i = 0; i < rows.count; i++) if (!selected.has(rows.id[i]!)) return false;
    return true;
  }, [rows, version, selected, loading]);

  // Every run of the filter, not just those drawn: asked of the server while the table is still loading.
  const selectAll = async (select: boolean) => {
    if (!select) {
      const drop = new Set(rows.id);
      selection.set(selection.ids.filter((id) => !drop.has(id)));
      return;
    }
    setSelecting(true);
    try {
      let ids: string[] = rows.id;
      if (loading) {
        ids = [];
        let next: string | null = null;
        do {
          const page: RunTablePage = await api.runTable({ filter: query, limit: PAGE, next });
          ids.push(...page.id);
          next = page.next;
        } while (next);
      }
      selection.set([...new Set([...selection.ids, ...ids])]);
    } catch (error) {
      setLoadError(error);
    } finally {
      setSelecting(false);
    }
  };

  const groupChoices = ['status', 'folder', 'user', 'tags', ...columns.filter(isDataColumn)];
  if (group && !groupChoices.includes(group)) groupChoices.push(group);

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
        <form className="filter-bar" onSubmit={submit} aria-label="Filter runs">
          <FilterBox
            value={text}
            problem={problem}
            nameSearch={text.trim() === filter.trim() ? nameSearch : null}
            onChange={onChange}
            sources={sources}
            onFocus={() => setWantMetricNames(true)}
          />
          <button type="submit" className="primary">
            Apply
          </button>
          <button
            type="button"
            aria-expanded={showColumns}
            aria-controls="columns-panel"
            onClick={() => setShowColumns((s) => !s)}
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
        {canWrite(me.token.scopes) ? <BulkActions /> : null}
        {showColumns ? (
          <ColumnPicker
            columns={columns}
            metadataPaths={metadataPaths}
            metricNames={metricNames ?? []}
            onChange={setColumns}
          />
        ) : null}
        <div className="runs-toolbar">
          {loadError ? (
            <LoadError error={loadError} what="Loading the runs" onRetry={() => setAttempt((a) => a + 1)} />
          ) : (
            <p className="muted" aria-live="polite" id="runs-count" data-state={loading ? 'loading' : 'done'}>
              {loading && rows.count === 0
                ? 'Loading runs…'
                : `${rows.count.toLocaleString('en')} ${rows.count === 1 ? 'run' : 'runs'}${loading ? ' (loading more…)' : ''}`}
            </p>
          )}
          <button
            type="button"
            disabled={rows.count === 0 || selecting || allSelected}
            onClick={() => void selectAll(true)}
          >
            {selecting ? 'Selecting…' : 'Select all matching'}
          </button>
          <label>
            Group by{' '}
            <select
              aria-label="Group by"
              value={group}
              onChange={(e) => {
                setCollapsed(new Set());
                setQuery({ group: e.target.value || null });
              }}
            >
              <option value="">nothing</option>
              {groupChoices.map((g) => (
                <option key={g} value={g}>
                  {g === 'user' ? 'User' : columnLabel(g)}
                </option>
              ))}
            </select>
          </label>
          {folder !== '/' ? (
            <label>
              <input
                type="checkbox"
                checked={subfolders}
                onChange={(e) => setQuery({ sub: e.target.checked ? null : '0' })}
              />{' '}
              include subfolders
            </label>
          ) : null}
        </div>
        <RunsTable
          empty={
            loading || loadError || problem
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
          onToggleGroup={(label) =>
            setCollapsed((c) => {
              const next = new Set(c);
              if (next.has(label)) next.delete(label);
              else next.add(label);
              return next;
            })
          }
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

function tableOf(rows: RunRows): RunTablePage {
  return {
    count: rows.count,
    id: rows.id,
    name: rows.name,
    status: rows.status,
    folder: rows.folder,
    user: rows.user,
    tags: rows.tags,
    created: rows.created,
    started: rows.started,
    ended: rows.ended,
    columns: rows.columns,
    metadataKeys: [],
    next: null,
  };
}
