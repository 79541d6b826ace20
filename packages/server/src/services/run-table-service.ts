import { type Json, jsonNumber, parseFilter, SimscopeError } from '@simscope/protocol';
import type { JsonObject } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { parseLimit } from './run-service.js';

/** Rows per page of the run table: a page of runs as columns is about 100 bytes a run. */
export const RUN_TABLE_PAGE = 50_000;
const MAX_COLUMNS = 64;
const MAX_KEYS = 500;

export interface RunTableParams {
  filter?: string;
  columns?: string;
  limit?: string | number;
  next?: string;
  metricNames?: string;
}

/** A page of runs as columns, newest first: what a table of many runs needs and nothing more. */
export interface RunTable {
  count: number;
  id: string[];
  name: string[];
  status: string[];
  folder: string[];
  user: (string | null)[];
  tags: string[][];
  created: number[];
  started: (number | null)[];
  ended: (number | null)[];
  /** One array per requested column (`metadata.KEY…` or `metrics.NAME`), null where a run has no value. */
  columns: Record<string, Json[]>;
  /** Top-level metadata keys seen on this page, sorted. */
  metadataKeys: string[];
  /** Metric names of the workspace (on request only). */
  metricNames?: string[];
  next: string | null;
}

type Column =
  | { name: string; kind: 'metadata'; key: string }
  | { name: string; kind: 'metric'; metric: string };

function parseColumns(text: string | undefined): Column[] {
  if (text === undefined || text === '') return [];
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    list = undefined;
  }
  if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) {
    throw new SimscopeError(
      'invalid_field',
      'query.columns: must be a JSON array of strings such as ["metadata.re","metrics.loss"]',
    );
  }
  if (list.length > MAX_COLUMNS) {
    throw new SimscopeError('invalid_field', `query.columns: at most ${MAX_COLUMNS} columns`);
  }
  return (list as string[]).map((name, i) => {
    if (name.startsWith('metadata.') && name.length > 9) {
      return { name, kind: 'metadata', key: name.slice(9) };
    }
    if (name.startsWith('metrics.') && name.length > 8)
      return { name, kind: 'metric', metric: name.slice(8) };
    throw new SimscopeError(
      'invalid_field',
      `query.columns[${i}]: '${name}' is neither metadata.KEY nor metrics.NAME`,
    );
  });
}

/** A metadata value by key; a key with dots is looked up whole first, then as a path of nested keys. */
function metadataValue(metadata: JsonObject, key: string): Json {
  if (Object.hasOwn(metadata, key)) return metadata[key] ?? null;
  let value: Json | undefined = metadata;
  for (const part of key.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, part)) {
      return null;
    }
    value = (value as JsonObject)[part];
  }
  return value ?? null;
}

/** Builds the run table the web UI shows: runs filtered and paged like `GET /runs`, as columns. */
export class RunTableService {
  async table(ctx: ServiceContext, params: RunTableParams): Promise<RunTable> {
    const where = params.filter ? parseFilter(params.filter) : null;
    const columns = parseColumns(params.columns);
    const limit = parseLimit(params.limit, 10_000, RUN_TABLE_PAGE);
    let after: { key: number; pk: number } | null = null;
    if (params.next) {
      const [key, pk] = decodeCursor(params.next, 2);
      if (typeof key !== 'number' || typeof pk !== 'number') {
        throw new SimscopeError(
          'invalid_cursor',
          "query.next: not a cursor this listing returned; pass 'next' as given",
        );
      }
      after = { key, pk };
    }
    const workspaceId = ctx.auth.workspace.id;
    const rows = await ctx.store.listRuns(workspaceId, {
      where,
      sort: 'created',
      descending: true,
      after,
      limit: limit + 1,
      now: ctx.now(),
    });
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const n = page.length;
    const table: RunTable = {
      count: n,
      id: new Array(n),
      name: new Array(n),
      status: new Array(n),
      folder: new Array(n),
      user: new Array(n),
      tags: new Array(n),
      created: new Array(n),
      started: new Array(n),
      ended: new Array(n),
      columns: {},
      metadataKeys: [],
      next: null,
    };
    const keys = new Set<string>();
    const index = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const r = page[i]!;
      index.set(r.pk, i);
      table.id[i] = r.id;
      table.name[i] = r.name;
      table.status[i] = r.status;
      table.folder[i] = r.folder;
      table.user[i] = r.userName;
      table.tags[i] = r.tags;
      table.created[i] = r.createdAt;
      table.started[i] = r.startedAt;
      table.ended[i] = r.endedAt;
      if (keys.size < MAX_KEYS) for (const key of Object.keys(r.metadata)) keys.add(key);
    }
    table.metadataKeys = [...keys].sort().slice(0, MAX_KEYS);
    for (const c of columns) {
      if (c.kind !== 'metadata') continue;
      const values: Json[] = new Array(n);
      for (let i = 0; i < n; i++) values[i] = metadataValue(page[i]!.metadata, c.key);
      table.columns[c.name] = values;
    }
    const metrics = columns.filter((c) => c.kind === 'metric');
    if (metrics.length > 0) {
      const byName = new Map<string, Json[]>();
      for (const c of metrics) {
        const values: Json[] = new Array(n).fill(null);
        byName.set(c.metric, values);
        table.columns[c.name] = values;
      }
      const last = await ctx.store.lastMetricValues(
        workspaceId,
        metrics.map((c) => c.metric),
      );
      for (const { runPk, name, value } of last) {
        const i = index.get(runPk);
        if (i !== undefined && value !== null) byName.get(name)![i] = jsonNumber(value);
      }
    }
    if (params.metricNames === 'true') table.metricNames = await ctx.store.metricNames(workspaceId, 1000);
    const lastRow = page.at(-1);
    table.next = more && lastRow ? encodeCursor([lastRow.createdAt, lastRow.pk]) : null;
    return table;
  }
}
