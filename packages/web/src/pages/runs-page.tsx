import { FilterError, parseFilter } from '@simscope/protocol';
import { type FormEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, type RunTablePage } from '../api.js';
import { BulkActions } from '../components/bulk-actions.js';
import { FolderTree } from '../components/folder-tree.js';
import { canWrite, LoadError } from '../components/load-state.js';
import {
  appendPage,
  emptyRows,
  type RunRows,
  removeRow,
  type SortKey,
  sortRows,
  updateRow,
} from '../components/run-rows.js';
import { RunsTable } from '../components/runs-table.js';
import { href, navigate } from '../router.js';
import { useSession } from '../session.js';

const FIRST_PAGE = 5_000;
const PAGE = 50_000;

export interface FilterProblem {
  message: string;
  position: number | null;
}

/** The filter sent to the server: the user's text, narrowed to the chosen folder. */
export function effectiveFilter(text: string, folder: string): string {
  const parts: string[] = [];
  if (text.trim()) parts.push(`(${text})`);
  if (folder !== '/') parts.push(`folder == ${JSON.stringify(folder)}`);
  return parts.join(' and ');
}

function checkFilter(text: string): FilterProblem | null {
  try {
    parseFilter(text);
    return null;
  } catch (error) {
    if (error instanceof FilterError) return { message: error.message, position: error.position };
    return { message: (error as Error).message, position: null };
  }
}

function loadColumns(): string[] {
  try {
    const c = JSON.parse(localStorage.getItem('simscope.columns') ?? '[]');
    return Array.isArray(c) ? c.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Runs: the folder tree, the filter box, and the table of every matching run. */
export function RunsPage({ folder, filter }: { folder: string; filter: string }) {
  const { api, me, selection } = useSession();
  const [text, setText] = useState(filter);
  const [problem, setProblem] = useState<FilterProblem | null>(() => checkFilter(filter));
  const [columns, setColumns] = useState<string[]>(loadColumns);
  const [showColumns, setShowColumns] = useState(false);
  const [rows, setRows] = useState<RunRows>(() => emptyRows([]));
  const [version, setVersion] = useState(0);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [metadataKeys, setMetadataKeys] = useState<string[]>([]);
  const [metricNames, setMetricNames] = useState<string[]>([]);
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({
    key: 'created',
    descending: true,
  });
  const [folderVersion, setFolderVersion] = useState(0);
  const indexRef = useRef(new Map<string, number>());
  const rowsRef = useRef(rows);
  rowsRef.current = rows;

  useEffect(() => setText(filter), [filter]);
  useEffect(() => {
    localStorage.setItem('simscope.columns', JSON.stringify(columns));
  }, [columns]);

  const query = effectiveFilter(filter, folder);

  // The workspace's metric names, asked for when the column picker opens (a scan the table need not wait for).
  useEffect(() => {
    if (!showColumns) return;
    const abort = new AbortController();
    api.runTable({ limit: 1, metricNames: true }, abort.signal).then(
      (t) => setMetricNames(t.metricNames ?? []),
      () => {},
    );
    return () => abort.abort();
  }, [api, showColumns]);

  // Load every page of the table; the first small so that rows show at once.
  useEffect(() => {
    const abort = new AbortController();
    const fresh = emptyRows(columns);
    const index = new Map<string, number>();
    indexRef.current = index;
    setRows(fresh);
    setLoading(true);
    setLoadError(null);
    const keys = new Set<string>();
    const started = performance.now();
    (async () => {
      const fetchPage = (limit: number, next: string | null) =>
        api.runTable({ filter: query, columns, limit, next }, abort.signal);
      let pending: Promise<RunTablePage> | null = fetchPage(FIRST_PAGE, null);
      while (pending && !abort.signal.aborted) {
        const page: RunTablePage = await pending;
        // The server makes the next page while this one is added to the table.
        pending = page.next ? fetchPage(PAGE, page.next) : null;
        pending?.catch(() => {});
        for (let i = 0; i < page.count; i++) index.set(page.id[i]!, fresh.count + i);
        appendPage(fresh, page, columns);
        for (const k of page.metadataKeys) keys.add(k);
        setMetadataKeys([...keys].sort());
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
  }, [api, query, columns, attempt]);

  // Live: rows change in place; runs created since are fetched and put on top.
  useEffect(() => {
    const abort = new AbortController();
    let pendingNew: ReturnType<typeof setTimeout> | undefined;
    const fetchNew = async () => {
      pendingNew = undefined;
      const current = rowsRef.current;
      const newest = current.count > 0 ? current.created[0]! : 0;
      const since = new Date(Math.floor(newest / 1000)).toISOString();
      const narrowed = [query ? `(${query})` : '', `created >= ${since}`].filter(Boolean).join(' and ');
      try {
        const page = await api.runTable({ filter: narrowed, columns, limit: 1000 }, abort.signal);
        const fresh = emptyRows(columns);
        const index = new Map<string, number>();
        let added = 0;
        for (let i = 0; i < page.count; i++) {
          if (indexRef.current.has(page.id[i]!)) continue;
          added++;
        }
        if (added === 0) return;
        const keep = page.id.map((id) => !indexRef.current.has(id));
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
          columns,
        );
        appendPage(fresh, { ...tableOf(current), metadataKeys: [], next: null }, columns);
        for (let i = 0; i < fresh.count; i++) index.set(fresh.id[i]!, i);
        indexRef.current = index;
        setRows(fresh);
        setVersion((v) => v + 1);
      } catch {
        // the next change tries again
      }
    };
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
        } else if (m.type === 'metrics' && columns.some((c) => c.startsWith('metrics.'))) {
          const i = indexRef.current.get(m.run);
          if (i === undefined) return;
          void api.metrics(m.run, abort.signal).then(
            ({ items }) => {
              const r = rowsRef.current;
              if (r.id[i] !== m.run) return;
              for (const item of items) {
                const col = r.columns[`metrics.${item.name}`];
                if (col) col[i] = item.last.value;
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
  }, [api, query, columns]);

  const order = useMemo(() => {
    void version;
    return sortRows(rows, sort.key, sort.descending);
  }, [rows, version, sort]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const p = checkFilter(text);
    setProblem(p);
    if (!p) navigate(href('/', { folder: folder === '/' ? null : folder, filter: text.trim() || null }));
  };

  const onChange = (value: string) => {
    setText(value);
    setProblem(value.trim() ? checkFilter(value) : null);
  };

  const toggleColumn = useCallback((c: string) => {
    setColumns((cs) => (cs.includes(c) ? cs.filter((x) => x !== c) : [...cs, c]));
  }, []);

  return (
    <div className="runs-layout">
      <FolderTree current={folder} filter={filter} version={folderVersion} />
      <section aria-labelledby="runs-heading">
        <h1 id="runs-heading" className="visually-hidden">
          Runs
        </h1>
        <form className="filter-bar" onSubmit={submit} aria-label="Filter runs">
          <div className="filter">
            <label htmlFor="filter" className="visually-hidden">
              Filter runs
            </label>
            <input
              id="filter"
              type="search"
              placeholder="Filter, e.g. status == running and metadata.re > 500"
              value={text}
              onChange={(e) => onChange(e.target.value)}
              aria-invalid={problem ? true : undefined}
              aria-describedby={problem ? 'filter-error' : undefined}
              spellCheck={false}
              autoComplete="off"
            />
            {problem ? (
              <pre id="filter-error" className="filter-error" role="alert">
                {problem.position !== null ? `${text}\n${' '.repeat(problem.position)}^\n` : ''}
                {problem.message}
              </pre>
            ) : null}
          </div>
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
          <div id="columns-panel" className="columns-panel">
            <fieldset>
              <legend>Metadata</legend>
              {metadataKeys.length === 0 ? (
                <span className="muted">No metadata keys in these runs.</span>
              ) : null}
              {metadataKeys.map((k) => (
                <label key={k}>
                  <input
                    type="checkbox"
                    checked={columns.includes(`metadata.${k}`)}
                    onChange={() => toggleColumn(`metadata.${k}`)}
                  />{' '}
                  {k}
                </label>
              ))}
            </fieldset>
            <fieldset>
              <legend>Last metric values</legend>
              {metricNames.length === 0 ? <span className="muted">No metrics yet.</span> : null}
              {metricNames.map((k) => (
                <label key={k}>
                  <input
                    type="checkbox"
                    checked={columns.includes(`metrics.${k}`)}
                    onChange={() => toggleColumn(`metrics.${k}`)}
                  />{' '}
                  {k}
                </label>
              ))}
            </fieldset>
          </div>
        ) : null}
        {loadError ? (
          <LoadError error={loadError} what="Loading the runs" onRetry={() => setAttempt((a) => a + 1)} />
        ) : (
          <p className="muted" aria-live="polite" id="runs-count" data-state={loading ? 'loading' : 'done'}>
            {loading && rows.count === 0
              ? 'Loading runs…'
              : `${rows.count.toLocaleString('en')} ${rows.count === 1 ? 'run' : 'runs'}${loading ? ' (loading more…)' : ''}`}
          </p>
        )}
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
          order={order}
          columns={columns}
          sort={sort}
          onSort={(key) =>
            setSort((s) => ({ key, descending: s.key === key ? !s.descending : key === 'created' }))
          }
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
