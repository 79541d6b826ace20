import { type MutableRefObject, useEffect, useRef, useState } from 'react';
import { type Api, ApiError, type RunTablePage } from '../api.js';
import type { FilterProblem } from '../components/filter-box.js';
import { appendPage, emptyRows, type RunRows, removeRow, updateRow } from '../components/run-rows.js';

const FIRST_PAGE = 5_000;
const PAGE = 50_000;
/** Critical alerts are looked up again this often (their states change on the server's schedule). */
const ALERTS_EVERY_MS = 10_000;

/** The rows of the runs table, the map from run id to row, and a counter bumped on every change in place. */
export interface RunTableState {
  rows: RunRows;
  rowsRef: MutableRefObject<RunRows>;
  indexRef: MutableRefObject<Map<string, number>>;
  version: number;
  loading: boolean;
  loadError: unknown;
  setLoadError: (error: unknown) => void;
  metadataPaths: string[];
}

/**
 * Loads every page of the table for `query` and `dataKey` (the data columns, as JSON); the first small so that
 * rows show at once. A filter the server refuses goes to `onProblem`; any other failure is `loadError`.
 */
export function useRunTable(
  api: Api,
  query: string,
  dataKey: string,
  attempt: number,
  onProblem: (problem: FilterProblem) => void,
): RunTableState & { setRows: (rows: RunRows) => void; bump: () => void } {
  const [rows, setRows] = useState<RunRows>(() => emptyRows([]));
  const [version, setVersion] = useState(0);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [metadataPaths, setMetadataPaths] = useState<string[]>([]);
  const indexRef = useRef(new Map<string, number>());
  const rowsRef = useRef(rows);
  rowsRef.current = rows;

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
      // The server makes the next page while this one is added to the table.
      const table = { filter: query, columns: wanted, first: FIRST_PAGE, limit: PAGE, prefetch: true };
      for await (const page of api.runTablePages(table, abort.signal)) {
        if (abort.signal.aborted) return;
        for (let i = 0; i < page.count; i++) index.set(page.id[i] ?? '', fresh.count + i);
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
        onProblem({
          message: error.message,
          position: (error.details?.position as number | undefined) ?? null,
        });
      } else {
        setLoadError(error);
      }
    });
    return () => abort.abort();
  }, [api, query, dataKey, attempt]);

  const bump = () => setVersion((v) => v + 1);
  return { rows, rowsRef, indexRef, version, loading, loadError, setLoadError, metadataPaths, setRows, bump };
}

/**
 * Which runs have critical alerts: each alert critical anywhere, then its critical runs, looked up again every
 * ten seconds. Asked once the table is in (`wait` false), so that these requests do not compete with its pages.
 */
export function useCriticalRuns(api: Api, wait: boolean): ReadonlyMap<string, readonly string[]> {
  const [critical, setCritical] = useState<ReadonlyMap<string, readonly string[]>>(new Map());
  useEffect(() => {
    if (wait) return;
    const abort = new AbortController();
    const signal = abort.signal;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const look = async () => {
      try {
        const found = new Map<string, string[]>();
        for await (const alerts of api.pages('listAlerts', { query: { limit: 1000 }, signal })) {
          for (const alert of alerts) {
            if (alert.critical === 0) continue;
            const params = { alert: alert.name };
            const query = { critical: true, limit: 1000 };
            for await (const runs of api.pages('listAlertRuns', { params, query, signal })) {
              for (const r of runs) found.set(r.run.id, [...(found.get(r.run.id) ?? []), alert.name]);
            }
          }
        }
        if (!signal.aborted) setCritical(found);
      } catch {
        // shown again at the next look
      }
      if (!signal.aborted) timer = setTimeout(look, ALERTS_EVERY_MS);
    };
    void look();
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [api, wait]);
  return critical;
}

/** The rows of `page` that are not in `index` yet, as a page of their own (null when there are none). */
function newRowsOf(page: RunTablePage, index: Map<string, number>): RunTablePage | null {
  const keep = page.id.map((id) => !index.has(id));
  const added = keep.filter(Boolean).length;
  if (added === 0) return null;
  const pick = <T>(a: T[]) => a.filter((_, i) => keep[i]);
  return {
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
  };
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

/**
 * Live: rows change in place; runs created since are fetched and put on top; a deleted run's row goes; a metric
 * point refreshes that row's metric columns; a folder change calls `onFolder`.
 */
export function useLiveRuns(
  api: Api,
  query: string,
  dataKey: string,
  table: ReturnType<typeof useRunTable>,
  onFolder: () => void,
): void {
  const { rowsRef, indexRef, setRows, bump } = table;
  useEffect(() => {
    const abort = new AbortController();
    const wanted = JSON.parse(dataKey) as string[];
    let pendingNew: ReturnType<typeof setTimeout> | undefined;
    const fetchNew = async () => {
      pendingNew = undefined;
      const current = rowsRef.current;
      const newest = current.count > 0 ? (current.created[0] ?? 0) : 0;
      const since = new Date(Math.floor(newest / 1000)).toISOString();
      const narrowed = [query ? `(${query})` : '', `created >= ${since}`].filter(Boolean).join(' and ');
      try {
        const page = await api.runTable({ filter: narrowed, columns: wanted, limit: 1000 }, abort.signal);
        const added = newRowsOf(page, indexRef.current);
        if (!added) return;
        const fresh = emptyRows(wanted);
        appendPage(fresh, added, wanted);
        appendPage(fresh, tableOf(current), wanted);
        const index = new Map<string, number>();
        for (let i = 0; i < fresh.count; i++) index.set(fresh.id[i] ?? '', i);
        indexRef.current = index;
        setRows(fresh);
        bump();
      } catch {
        // the next change tries again
      }
    };
    const metricColumns = wanted.filter((c) => !c.startsWith('metadata.'));
    // One row's summaries, from the table itself so that min, max and mean come as the server keeps them.
    const refreshMetrics = (run: string, i: number) =>
      api
        .runTable({ filter: `id == ${JSON.stringify(run)}`, columns: metricColumns, limit: 1 }, abort.signal)
        .then(
          (page) => {
            const r = rowsRef.current;
            if (r.id[i] !== run || page.count !== 1) return;
            for (const c of metricColumns) {
              const col = r.columns[c];
              if (col) col[i] = page.columns[c]?.[0] ?? null;
            }
            bump();
          },
          () => {},
        );
    void api.live(
      null,
      (m) => {
        if (m.type === 'run') {
          if (updateRow(rowsRef.current, indexRef.current, m.run)) bump();
          else pendingNew ??= setTimeout(fetchNew, 300);
        } else if (m.type === 'deleted') {
          const current = rowsRef.current;
          const i = indexRef.current.get(m.run) ?? current.name.indexOf(m.run);
          if (i === undefined || i < 0) return;
          removeRow(current, i);
          const index = new Map<string, number>();
          for (let k = 0; k < current.count; k++) index.set(current.id[k] ?? '', k);
          indexRef.current = index;
          bump();
        } else if (m.type === 'folder') {
          onFolder();
        } else if (m.type === 'metrics' && metricColumns.length > 0) {
          const i = indexRef.current.get(m.run);
          if (i !== undefined) void refreshMetrics(m.run, i);
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
}

/** The ids of every run the filter matches, asked of the server page by page. */
export async function allRunIds(api: Api, filter: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of api.runTablePages({ filter, limit: PAGE })) ids.push(...page.id);
  return ids;
}
