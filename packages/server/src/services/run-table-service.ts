import { type Json, parseFilter, type RouteInput } from '@simscope/protocol';
import type { RunColumnStat } from '../store/run-store.js';
import type { JsonObject } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';

const MAX_KEYS = 500;

/** The run table's query, as the route's schema gives it (`POST /run-table/search` is read the same way). */
export type RunTableQuery = RouteInput<'runTable'>['query'];

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

/** Nested metadata objects are followed this deep for `metadataPaths`. */
const PATH_DEPTH = 4;

/** The paths of a metadata object's leaves (`mesh.nx` for `{mesh: {nx: 64}}`); arrays are leaves. */
function addLeafPaths(value: JsonObject, prefix: string, depth: number, into: Set<string>): void {
  for (const [key, v] of Object.entries(value)) {
    const path = prefix + key;
    if (
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      depth < PATH_DEPTH &&
      Object.keys(v).length > 0
    ) {
      addLeafPaths(v as JsonObject, `${path}.`, depth + 1, into);
    } else {
      into.add(path);
    }
  }
}

/** Builds the run table the web UI shows: runs filtered and paged like `GET /runs`, as columns. */
export class RunTableService {
  /**
   * The table as JSON text (see `RunTablePage` in protocol), put together from the JSON arrays the database builds
   * for each column: a page of 50,000 runs is never turned into 50,000 objects here.
   */
  async tableJson(ctx: ServiceContext, params: RunTableQuery): Promise<string> {
    const where = params.filter ? parseFilter(params.filter) : null;
    const { columns, limit } = params;
    let after: { key: number; pk: number } | null = null;
    if (params.next) {
      const [key, pk] = decodeCursor(params.next, ['integer', 'integer']);
      after = { key, pk };
    }
    const firstPage = !params.next;
    const metadataColumns = columns.filter((c) => c.kind === 'metadata');
    const metricColumns = columns.filter((c) => c.kind === 'metric');
    const workspaceId = ctx.auth.workspace.id;
    const page = await ctx.store.runs.runColumns(
      workspaceId,
      { where, sort: 'created', descending: true, after, limit, now: ctx.now() },
      {
        metadata: metadataColumns.length > 0 || firstPage,
        metrics: metricColumns.map((c) => (c as { metric: string }).metric),
        stats: metricColumns.map((c) => (c as { stat: RunColumnStat }).stat),
      },
    );
    const keys = new Set<string>();
    const paths = new Set<string>();
    const columnJson: string[] = [];
    if (page.metadata !== null) {
      const metadata = JSON.parse(page.metadata) as JsonObject[];
      if (firstPage) {
        for (const m of metadata.slice(0, KEY_SAMPLE)) {
          for (const key of Object.keys(m)) keys.add(key);
          addLeafPaths(m, '', 0, paths);
        }
      }
      for (const c of metadataColumns) {
        const values = metadata.map((m) => metadataValue(m, c.key));
        columnJson.push(`${JSON.stringify(c.name)}:${JSON.stringify(values)}`);
      }
    }
    metricColumns.forEach((c, i) => {
      columnJson.push(`${JSON.stringify(c.name)}:${page.metrics[i]}`);
    });
    const next = page.more ? encodeCursor([page.more.key, page.more.pk]) : null;
    const parts = [
      `{"count":${page.count}`,
      `,"id":${page.id}`,
      `,"name":${page.name}`,
      `,"status":${page.status}`,
      `,"folder":${page.folder}`,
      `,"user":${page.user}`,
      `,"tags":${page.tags}`,
      `,"created":${page.created}`,
      `,"started":${page.started}`,
      `,"ended":${page.ended}`,
      `,"columns":{${columnJson.join(',')}}`,
      `,"metadataKeys":${JSON.stringify([...keys].sort().slice(0, MAX_KEYS))}`,
      `,"metadataPaths":${JSON.stringify([...paths].sort().slice(0, MAX_KEYS))}`,
    ];
    if (params.folderCounts) {
      const counts = await ctx.store.runs.folderCounts(workspaceId, where, ctx.now());
      parts.push(
        `,"folderCounts":${JSON.stringify(Object.fromEntries(counts.map((c) => [c.path, c.runs])))}`,
      );
    }
    if (params.metricNames) {
      parts.push(`,"metricNames":${JSON.stringify(await ctx.store.metrics.metricNames(workspaceId, 1000))}`);
    }
    parts.push(`,"next":${JSON.stringify(next)}}`);
    return parts.join('');
  }
}
