import { z } from 'zod';
import { pathOf, type RouteName } from '../api/routes.js';
import { ARTIFACT_CATEGORIES } from '../artifacts.js';
import {
  type CompareOp,
  type FilterExpr,
  type FilterField,
  type FilterValue,
  METRIC_STATS,
  type MetricStat,
  RUN_FIELDS,
  type RunField,
  TIME_FIELDS,
  type TimeField,
} from '../filter/filter-ast.js';
import { formatFilter } from '../filter/filter-formatter.js';
import { parseFilter } from '../filter/filter-parser.js';
import { EVENT_LEVELS, folderPathSchema, RUN_SORT_FIELDS, RUN_STATUSES } from '../schemas.js';
import {
  escapeRegex,
  LOOKUPS,
  type Lookup,
  lookups,
  lookupValueSchema,
  MAX_IN_VALUES,
  regexSchema,
  splitLookup,
  type TimeInput,
  timeValueSchema,
} from './lookups.js';

/** Query parameters of one list request, as strings (absent ones undefined). */
export type ListQuery = Record<string, string | undefined>;

/**
 * How one listing of the API is asked for: the route of the table it reads, its filter schema, its path and its
 * query parameters. Every listing pages the same way (`limit`, `next`; see `paginate`).
 */
export interface ListDefinition<In, Out = In> {
  /** Name of the list, as in `client.runs`. */
  name: string;
  /** The route of `ROUTES` the listing reads. */
  route: RouteName;
  filters: z.ZodType<Out, In>;
  path(filters: Out): string;
  /** The query parameters the server applies the filters with. */
  query(filters: Out): ListQuery;
  /** Largest page the server gives. */
  pageMax: number;
}

const TEXT_OPS = ['ne', 'in', 'contains', 'icontains', 'startswith', 'endswith', 'regex', 'isnull'] as const;
const TIME_OPS = ['gt', 'gte', 'lt', 'lte', 'isnull'] as const;
const ORDER_OPS = ['gt', 'gte', 'lt', 'lte'] as const;
const name = z.string().min(1);
const time = timeValueSchema;
const metadataValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const SORTS = RUN_SORT_FIELDS.flatMap((f) => [f, `-${f}`, `+${f}`] as const);

const runShape = {
  /** Filter-language text, ANDed with the typed lookups. */
  filter: z.string().optional(),
  /** Sort field, `-` for descending; default `-created`. */
  sort: z.enum(SORTS).optional(),
  ...lookups('id', name, TEXT_OPS),
  ...lookups('name', name, TEXT_OPS),
  ...lookups('folder', name, TEXT_OPS),
  ...lookups('user', name, TEXT_OPS),
  ...lookups('description', z.string(), TEXT_OPS),
  ...lookups('status', z.enum(RUN_STATUSES), ['ne', 'in']),
  ...lookups('created', time, TIME_OPS),
  ...lookups('started', time, TIME_OPS),
  ...lookups('ended', time, TIME_OPS),
  ...lookups('heartbeat', time, TIME_OPS),
  /** Runs that carry this tag, or every tag of the list. */
  tags__contains: z.union([name, z.array(name).min(1)]).optional(),
  /** Runs that carry at least one of these tags. */
  tags__overlap: z.array(name).min(1).max(MAX_IN_VALUES).optional(),
};

const DYNAMIC = /^(metadata|metrics)__./;
const METRIC_LOOKUPS: readonly (Lookup | 'exact')[] = ['exact', 'ne', ...ORDER_OPS];
const METADATA_LOOKUPS: readonly (Lookup | 'exact')[] = ['exact', ...TEXT_OPS, ...ORDER_OPS];
const STATIC_KEYS = Object.keys(runShape);

/** Checks `metadata__…` and `metrics__…` keys, which a fixed schema cannot list. */
function checkDynamic(filters: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const [key, value] of Object.entries(filters)) {
    if (STATIC_KEYS.includes(key) || value === undefined) continue;
    const issue = (message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (!DYNAMIC.test(key)) {
      issue(
        'unknown filter; use a field such as name, status, created, tags, metadata__KEY or metrics__NAME__STAT',
      );
      continue;
    }
    const { path, op } = splitLookup(key);
    if (path[0] === 'metrics') {
      const stat = path.at(-1) as MetricStat;
      if (path.length < 3 || !METRIC_STATS.includes(stat)) {
        issue(
          `write metrics__NAME__STAT with STAT one of ${METRIC_STATS.join(', ')} (e.g. metrics__loss__last__lt)`,
        );
        continue;
      }
      if (!METRIC_LOOKUPS.includes(op)) {
        issue(`metrics take the lookups ${METRIC_LOOKUPS.filter((o) => o !== 'exact').join(', ')}`);
        continue;
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) issue('metrics compare with a finite number');
      continue;
    }
    if (path.slice(1).some((k) => k === '')) {
      issue('a metadata key must not be empty');
      continue;
    }
    if (!METADATA_LOOKUPS.includes(op)) {
      issue(`metadata takes the lookups ${METADATA_LOOKUPS.filter((o) => o !== 'exact').join(', ')}`);
      continue;
    }
    const ordered = (ORDER_OPS as readonly string[]).includes(op);
    const parsed = lookupValueSchema(
      op,
      ordered ? z.union([z.string(), z.number()]) : metadataValue,
    ).safeParse(value);
    if (!parsed.success) issue(parsed.error.issues[0]?.message ?? 'invalid value');
  }
}

/** Filters of `client.runs`: typed lookups, metadata and metric lookups, and filter-language text. */
export const runFiltersSchema = z.looseObject(runShape).superRefine(checkDynamic);

type MetadataValue = string | number | boolean | null;

/**
 * What `client.runs.list` takes: `{ status__in: ['failed', 'lost'], created__gte: '24h', metadata__re__gt: 1000,
 * metrics__loss__last__lt: 0.1, name__regex: '^cavity-', filter: 'has tag.baseline' }`.
 */
export type RunFilters = z.input<z.ZodObject<typeof runShape>> & {
  [key: `metadata__${string}`]: MetadataValue | MetadataValue[] | undefined;
  [key: `metrics__${string}`]: number | undefined;
};

type RunFiltersOut = z.output<typeof runFiltersSchema> & Record<string, unknown>;

const FLIP: Partial<Record<CompareOp, CompareOp>> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const ORDER: Record<string, CompareOp> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

function literal(value: unknown): FilterValue {
  if (value === null) return { kind: 'null' };
  if (typeof value === 'number') return { kind: 'number', value };
  if (typeof value === 'boolean') return { kind: 'boolean', value };
  if (typeof value === 'object' && value !== null && 'kind' in value) return value as FilterValue;
  return { kind: 'string', value: String(value) };
}

const cmp = (field: FilterField, op: CompareOp, value: FilterValue): FilterExpr => ({
  kind: 'compare',
  field,
  op,
  value,
});
const anyOf = (items: FilterExpr[]): FilterExpr =>
  items.length === 1 && items[0] ? items[0] : { kind: 'or', items };

/** One lookup as a filter syntax tree. */
function lookupExpr(field: FilterField, op: Lookup | 'exact', value: unknown): FilterExpr {
  switch (op) {
    case 'exact':
      return cmp(field, '==', literal(value));
    case 'ne':
      return cmp(field, '!=', literal(value));
    case 'in':
      return anyOf((value as unknown[]).map((v) => cmp(field, '==', literal(v))));
    case 'icontains':
      return cmp(field, 'contains', literal(value));
    case 'contains':
      return cmp(field, 'matches', literal(escapeRegex(value as string)));
    case 'startswith':
      return cmp(field, 'matches', literal(`^${escapeRegex(value as string)}`));
    case 'endswith':
      return cmp(field, 'matches', literal(`${escapeRegex(value as string)}$`));
    case 'regex':
      return cmp(field, 'matches', literal(value));
    case 'isnull': {
      if (field.kind === 'metadata') {
        const exists: FilterExpr = { kind: 'exists', field };
        return value ? { kind: 'not', expr: exists } : exists;
      }
      return cmp(field, value ? '==' : '!=', { kind: 'null' });
    }
    default: {
      const v = literal(value);
      const ordered = ORDER[op];
      if (!ordered) throw new Error(`no comparison for the lookup '${op}'`);
      // An age compares the other way round: created__gte '5h' is "created at most 5 hours ago".
      return cmp(field, v.kind === 'duration' ? (FLIP[ordered] ?? ordered) : ordered, v);
    }
  }
}

function runField(path: string[]): FilterField {
  const [head, ...rest] = path as [string, ...string[]];
  if (head === 'metadata') return { kind: 'metadata', path: rest };
  if (head === 'metrics') {
    return { kind: 'metric', name: rest.slice(0, -1).join('__'), stat: rest.at(-1) as MetricStat };
  }
  if ((TIME_FIELDS as readonly string[]).includes(head)) return { kind: 'time', name: head as TimeField };
  if ((RUN_FIELDS as readonly string[]).includes(head)) return { kind: 'run', name: head as RunField };
  return { kind: 'tags' };
}

/** The typed run filters (checked by `runFiltersSchema`) as one filter syntax tree; null when they select all. */
export function runFilterExpr(filters: RunFiltersOut): FilterExpr | null {
  const items: FilterExpr[] = [];
  const text = filters.filter ? parseFilter(filters.filter) : null;
  if (text) items.push(text);
  for (const [key, value] of Object.entries(filters)) {
    if (value === undefined || key === 'filter' || key === 'sort') continue;
    if (key === 'tags__contains') {
      for (const tag of [value as string | string[]].flat()) items.push({ kind: 'hasTag', tag });
      continue;
    }
    if (key === 'tags__overlap') {
      items.push(anyOf((value as string[]).map((tag) => ({ kind: 'hasTag', tag }))));
      continue;
    }
    const { path, op } = splitLookup(key);
    items.push(lookupExpr(runField(path), op, value));
  }
  if (items.length === 0) return null;
  return items.length === 1 && items[0] ? items[0] : { kind: 'and', items };
}

/** `GET /runs`: typed filters go to the server as filter-language text. */
export const RUN_LIST: ListDefinition<RunFilters, RunFiltersOut> = {
  name: 'runs',
  route: 'listRuns',
  filters: runFiltersSchema as unknown as z.ZodType<RunFiltersOut, RunFilters>,
  path: () => pathOf('listRuns', {}),
  query(filters) {
    const expr = runFilterExpr(filters);
    const filter = expr ? formatFilter(expr) : undefined;
    // Read back here so that a lookup the language cannot say fails before any request, with the reason.
    if (filter) parseFilter(filter);
    return { filter, sort: filters.sort };
  },
  pageMax: 1000,
};

/** Filters of `client.folders`. */
export const folderFiltersSchema = z.strictObject({
  /** Exactly this folder. */
  path: folderPathSchema.optional(),
  /** Direct children of this folder. */
  parent: folderPathSchema.optional(),
  /** This folder and every folder below it. */
  under: folderPathSchema.optional(),
});
export type FolderFilters = z.input<typeof folderFiltersSchema>;

export const FOLDER_LIST: ListDefinition<FolderFilters, z.output<typeof folderFiltersSchema>> = {
  name: 'folders',
  route: 'listFolders',
  filters: folderFiltersSchema,
  path: () => pathOf('listFolders', {}),
  query: (f) => ({ path: f.path, parent: f.parent, prefix: f.under }),
  pageMax: 1000,
};

/** Filters of `client.events`; `run` (id or name) is required. */
export const eventFiltersSchema = z.strictObject({
  run: name,
  ...lookups('level', z.enum(EVENT_LEVELS), ['in']),
  /** Text the message contains, ignoring case. */
  message__icontains: z.string().min(1).optional(),
  ...lookups('timestamp', time, ORDER_OPS),
  /** `asc` (default, oldest first) or `desc`. */
  order: z.enum(['asc', 'desc']).optional(),
});
export type EventFilters = z.input<typeof eventFiltersSchema>;
type EventFiltersOut = z.output<typeof eventFiltersSchema>;

type TimeValue = FilterValue & { kind: 'timestamp' | 'duration' };
type TimestampLookups = {
  timestamp__gt?: TimeValue;
  timestamp__gte?: TimeValue;
  timestamp__lt?: TimeValue;
  timestamp__lte?: TimeValue;
};

/** `from` and `to` query parameters (µs) of the timestamp lookups. */
function timeQuery(f: TimestampLookups): { from?: string; to?: string } {
  const { from, to } = timeRange(f, Date.now() * 1000);
  return {
    from: from === undefined ? undefined : String(from),
    to: to === undefined ? undefined : String(to),
  };
}

/** Microseconds of a time filter value; an age counts back from `now`. */
function micros(value: FilterValue & { kind: 'timestamp' | 'duration' }, now: number): number {
  return value.kind === 'timestamp' ? value.micros : Math.round(now - value.seconds * 1e6);
}

/** The tightest `[from, to)` of the timestamp lookups; timestamps are whole microseconds. */
function timeRange(f: TimestampLookups, now: number): { from?: number; to?: number } {
  const lows = [
    f.timestamp__gte && micros(f.timestamp__gte, now),
    f.timestamp__gt && micros(f.timestamp__gt, now) + 1,
  ];
  const highs = [
    f.timestamp__lt && micros(f.timestamp__lt, now),
    f.timestamp__lte && micros(f.timestamp__lte, now) + 1,
  ];
  const defined = (xs: (number | undefined)[]) => xs.filter((x): x is number => typeof x === 'number');
  const lo = defined(lows);
  const hi = defined(highs);
  return {
    from: lo.length ? Math.max(...lo) : undefined,
    to: hi.length ? Math.min(...hi) : undefined,
  };
}

export const EVENT_LIST: ListDefinition<EventFilters, EventFiltersOut> = {
  name: 'events',
  route: 'listEvents',
  filters: eventFiltersSchema,
  path: (f) => pathOf('listEvents', { run: f.run }),
  query(f) {
    const levels = f.level__in ?? (f.level ? [f.level] : undefined);
    return { level: levels?.join(','), q: f.message__icontains, ...timeQuery(f), order: f.order };
  },
  pageMax: 10_000,
};

/** Filters of `client.metricNames`: the metrics of one run (id or name). */
export const metricNameFiltersSchema = z.strictObject({
  run: name,
  name: name.optional(),
  name__startswith: name.optional(),
  /** Text the name contains, ignoring case. */
  name__icontains: name.optional(),
  name__regex: regexSchema.optional(),
});
export type MetricNameFilters = z.input<typeof metricNameFiltersSchema>;

export const METRIC_NAME_LIST: ListDefinition<MetricNameFilters, z.output<typeof metricNameFiltersSchema>> = {
  name: 'metricNames',
  route: 'listMetricNames',
  filters: metricNameFiltersSchema,
  path: (f) => pathOf('listMetricNames', { run: f.run }),
  query: (f) => ({ name: f.name, prefix: f.name__startswith, q: f.name__icontains, regex: f.name__regex }),
  pageMax: 1000,
};

/** Filters of `client.artifacts`: the artifacts of one run (id or name), by name. */
export const artifactFiltersSchema = z.strictObject({
  run: name,
  category: z.enum(ARTIFACT_CATEGORIES).optional(),
  ...lookups('name', name, ['startswith', 'contains', 'endswith']),
});
export type ArtifactFilters = z.input<typeof artifactFiltersSchema>;

export const ARTIFACT_LIST: ListDefinition<ArtifactFilters, z.output<typeof artifactFiltersSchema>> = {
  name: 'artifacts',
  route: 'listArtifacts',
  filters: artifactFiltersSchema,
  path: (f) => pathOf('listArtifacts', { run: f.run }),
  query: (f) => ({
    category: f.category,
    name: f.name,
    startsWith: f.name__startswith,
    contains: f.name__contains,
    endsWith: f.name__endswith,
  }),
  pageMax: 1000,
};

/** Filters of `client.alerts`: the workspace's alert definitions, by name. */
export const alertFiltersSchema = z.strictObject({
  /** `true`: only alerts critical on at least one run. */
  critical: z.boolean().optional(),
});
export type AlertFilters = z.input<typeof alertFiltersSchema>;

export const ALERT_LIST: ListDefinition<AlertFilters, z.output<typeof alertFiltersSchema>> = {
  name: 'alerts',
  route: 'listAlerts',
  filters: alertFiltersSchema,
  path: () => pathOf('listAlerts', {}),
  query: (f) => ({ critical: f.critical ? 'true' : undefined }),
  pageMax: 1000,
};

const functionName = name.refine((s) => !s.includes(','), {
  message: 'must not contain a comma (the server reads a list of functions split at commas)',
});

/** Filters of `client.runAlerts`: the alerts attached to one run (id or name), with its states. */
export const runAlertFiltersSchema = z.strictObject({
  run: name,
  /** `true`: only the alerts critical on the run. */
  critical: z.boolean().optional(),
});
export type RunAlertFilters = z.input<typeof runAlertFiltersSchema>;

export const RUN_ALERT_LIST: ListDefinition<RunAlertFilters, z.output<typeof runAlertFiltersSchema>> = {
  name: 'runAlerts',
  route: 'listRunAlerts',
  filters: runAlertFiltersSchema,
  path: (f) => pathOf('listRunAlerts', { run: f.run }),
  query: (f) => ({ critical: f.critical ? 'true' : undefined }),
  pageMax: 1000,
};

/** Filters of `client.telemetryRecords`: the records of one service (its path, `intake/catalog`). */
export const telemetryRecordFiltersSchema = z.strictObject({
  service: name,
  ...lookups('function', functionName, ['in']),
  /** Records of this session id. */
  session: name.optional(),
  ...lookups('timestamp', time, ORDER_OPS),
  /** `asc` (default, oldest first) or `desc`. */
  order: z.enum(['asc', 'desc']).optional(),
});
export type TelemetryRecordFilters = z.input<typeof telemetryRecordFiltersSchema>;

export const TELEMETRY_RECORD_LIST: ListDefinition<
  TelemetryRecordFilters,
  z.output<typeof telemetryRecordFiltersSchema>
> = {
  name: 'telemetryRecords',
  route: 'telemetryRecords',
  filters: telemetryRecordFiltersSchema,
  path: () => pathOf('telemetryRecords', {}),
  query: (f) => ({
    service: f.service,
    function: (f.function__in ?? (f.function ? [f.function] : undefined))?.join(','),
    session: f.session,
    ...timeQuery(f),
    order: f.order,
  }),
  pageMax: 1000,
};

export { LOOKUPS, type Lookup, type TimeInput };
