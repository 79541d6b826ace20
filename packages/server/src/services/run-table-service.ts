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

/** Metadata keys are gathered from this many runs of a first page (parsing every run's metadata costs too much). */
const KEY_SAMPLE = 1000;

/** Builds the run table the web UI shows: runs filtered and paged like `GET /runs`, as columns. */
export class RunTableService {
  /**
   * The table as JSON text (see `RunTablePage` in protocol). It is written here rather than serialised from objects: tags go
   * out as the store keeps them, unparsed, which is most of the cost saved on a page of 50,000 runs.
   */
  async tableJson(ctx: ServiceContext, params: RunTableParams): Promise<string> {
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
    const firstPage = !params.next;
    const metadataColumns = columns.filter((c) => c.kind === 'metadata');
    const workspaceId = ctx.auth.workspace.id;
    const rows = await ctx.store.listRunRows(
      workspaceId,
      { where, sort: 'created', descending: true, after, limit: limit + 1, now: ctx.now() },
      metadataColumns.length > 0 || firstPage,
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const n = page.length;
    const index = new Map<number, number>();
    for (let i = 0; i < n; i++) index.set(page[i]!.pk, i);

    const keys = new Set<string>();
    const values: Record<string, Json[]> = {};
    for (const c of metadataColumns) values[c.name] = new Array(n);
    const parseUpTo = metadataColumns.length > 0 ? n : firstPage ? Math.min(n, KEY_SAMPLE) : 0;
    for (let i = 0; i < parseUpTo; i++) {
      const metadata = JSON.parse(page[i]!.metadataJson ?? '{}') as JsonObject;
      if (i < KEY_SAMPLE && firstPage) for (const key of Object.keys(metadata)) keys.add(key);
      for (const c of metadataColumns) values[c.name]![i] = metadataValue(metadata, c.key);
    }
    const metrics = columns.filter((c) => c.kind === 'metric');
    if (metrics.length > 0) {
      const byName = new Map<string, Json[]>();
      for (const c of metrics) {
        const column: Json[] = new Array(n).fill(null);
        byName.set(c.metric, column);
        values[c.name] = column;
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
    const lastRow = page.at(-1);
    const next = more && lastRow ? encodeCursor([lastRow.createdAt, lastRow.pk]) : null;
    const column = <T>(pick: (r: (typeof page)[number]) => T) => JSON.stringify(page.map(pick));
    const parts = [
      `{"count":${n}`,
      `,"id":${column((r) => r.id)}`,
      `,"name":${column((r) => r.name)}`,
      `,"status":${column((r) => r.status)}`,
      `,"folder":${column((r) => r.folder)}`,
      `,"user":${column((r) => r.userName)}`,
      `,"tags":[${page.map((r) => r.tagsJson).join(',')}]`,
      `,"created":${column((r) => r.createdAt)}`,
      `,"started":${column((r) => r.startedAt)}`,
      `,"ended":${column((r) => r.endedAt)}`,
      `,"columns":${JSON.stringify(values)}`,
      `,"metadataKeys":${JSON.stringify([...keys].sort().slice(0, MAX_KEYS))}`,
    ];
    if (params.metricNames === 'true') {
      parts.push(`,"metricNames":${JSON.stringify(await ctx.store.metricNames(workspaceId, 1000))}`);
    }
    parts.push(`,"next":${JSON.stringify(next)}}`);
    return parts.join('');
  }
}
