import { z } from 'zod';
import { alertAttachSchema, alertCreateSchema, alertStateSchema, alertUpdateSchema } from '../alerts.js';
import { parseDtype, parseShape } from '../arrays.js';
import { ARTIFACT_LIMITS } from '../artifacts.js';
import { SimscopeError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { readMetricBatch } from '../metric-batch.js';
import { regexSchema } from '../query/lookups.js';
import {
  abortSchema,
  aggregateSchema,
  dashboardCreateSchema,
  dashboardUpdateSchema,
  downsampleRunsSchema,
  eventBatchSchema,
  folderCreateSchema,
  folderPathSchema,
  folderUpdateSchema,
  membershipCreateSchema,
  metadataSchema,
  retentionRuleCreateSchema,
  runCreateSchema,
  runSearchSchema,
  runTableSearchSchema,
  runUpdateSchema,
  tokenCreateSchema,
  userCreateSchema,
  workspaceCreateSchema,
} from '../schemas.js';
import { readTelemetryBatch, telemetryKeyCreateSchema } from '../telemetry.js';
import {
  artifactNameParam,
  axisParam,
  categoryParam,
  durationParam,
  flagParam,
  jsonObjectParam,
  levelsParam,
  limitParam,
  listParam,
  microsParam,
  nameFilterParam,
  numberParam,
  orderParam,
  queryParam,
  requiredParam,
  runTableColumnsParam,
  seriesColumnsParam,
  sha256Param,
  sizeParam,
  sortParam,
  textParam,
} from './query-params.js';
import { ACCESS_ROUTE_SCHEMAS } from './route-schemas-access.js';
import { AUTH_ROUTE_SCHEMAS } from './route-schemas-auth.js';
import { arrayNameParam, arrayStepParam, FIELD_ROUTE_SCHEMAS } from './route-schemas-fields.js';
import { HPC_ROUTE_SCHEMAS } from './route-schemas-hpc.js';
import { ROUTES, type RouteName, type RouteParams, type RouteSpec, RUN_TABLE_PAGE } from './routes.js';

/** The schemas a route's input is parsed with at the server's edge; absent parts are passed as they came. */
export interface RouteSchemas {
  querySchema?: z.ZodType;
  bodySchema?: z.ZodType;
  /** An empty body is read as `{}` (routes whose every body field is optional). */
  emptyBodyIsObject?: boolean;
}

const next = z.string().optional();

const text = () => z.string().optional();

const runListQuery = z.object({
  filter: text(),
  sort: sortParam(),
  limit: limitParam(100, LIMITS.pageSize),
  next,
});

/** Columns one run table may ask for. */
const RUN_TABLE_COLUMNS = 64;

const runTableQuery = z.object({
  filter: text(),
  columns: runTableColumnsParam(RUN_TABLE_COLUMNS),
  limit: limitParam(10_000, RUN_TABLE_PAGE),
  next,
  metricNames: z
    .string()
    .optional()
    .transform((v) => v === 'true'),
  folderCounts: flagParam(),
});

/** `POST /runs/:run/alerts`: `{ alert }` alone names an existing alert, any other body is a definition. */
const alertAttachBodySchema = z.unknown().transform((body, ctx) => {
  const byName =
    typeof body === 'object' && body !== null && Object.keys(body).length === 1 && 'alert' in body;
  const result: z.ZodSafeParseResult<
    z.output<typeof alertAttachSchema> | z.output<typeof alertCreateSchema>
  > = byName ? alertAttachSchema.safeParse(body) : alertCreateSchema.safeParse(body ?? {});
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ ...issue });
  return z.NEVER;
});

const telemetryService = () => requiredParam('a service path such as intake/catalog');

/** Every route's schemas, by route name. */
export const ROUTE_SCHEMAS = {
  adminProcess: { querySchema: z.object({ gc: flagParam() }) },
  createUser: { bodySchema: userCreateSchema },
  createWorkspace: { bodySchema: workspaceCreateSchema },
  addMember: { bodySchema: membershipCreateSchema },
  createRetentionRule: { bodySchema: retentionRuleCreateSchema },
  createToken: { bodySchema: tokenCreateSchema },
  listTokens: { querySchema: z.object({ user: text() }) },

  createRun: { bodySchema: runCreateSchema, emptyBodyIsObject: true },
  listRuns: { querySchema: runListQuery },
  searchRuns: { bodySchema: runSearchSchema },
  updateRun: { bodySchema: runUpdateSchema, emptyBodyIsObject: true },
  requestAbort: { bodySchema: abortSchema, emptyBodyIsObject: true },

  ingestMetrics: { bodySchema: z.unknown().transform((body) => readMetricBatch(body)) },
  sinkMetrics: { bodySchema: z.unknown().transform((body) => readMetricBatch(body)) },
  listMetricNames: {
    querySchema: z.object({
      name: textParam(),
      prefix: textParam(),
      q: textParam(),
      regex: z.preprocess((v) => (v === '' ? undefined : v), regexSchema.optional()),
      limit: limitParam(LIMITS.pageSize, LIMITS.pageSize),
      next,
    }),
  },
  readSeries: {
    querySchema: z.object({
      name: text(),
      columns: seriesColumnsParam(),
      from: numberParam(),
      to: numberParam(),
      limit: limitParam(LIMITS.seriesPageSize, LIMITS.seriesPageSize),
      next,
      includeSuperseded: flagParam(),
    }),
  },
  downsample: {
    querySchema: z.object({
      name: text(),
      x: axisParam(),
      buckets: limitParam(1000, LIMITS.downsampleBuckets),
      from: numberParam(),
      to: numberParam(),
      includeSuperseded: flagParam(),
    }),
  },
  downsampleRuns: { bodySchema: downsampleRunsSchema, emptyBodyIsObject: true },
  aggregateMetric: { bodySchema: aggregateSchema, emptyBodyIsObject: true },
  createDashboard: { bodySchema: dashboardCreateSchema, emptyBodyIsObject: true },
  updateDashboard: { bodySchema: dashboardUpdateSchema, emptyBodyIsObject: true },

  ingestEvents: { bodySchema: eventBatchSchema },
  listEvents: {
    querySchema: z.object({
      level: levelsParam(),
      order: orderParam(),
      limit: limitParam(100, LIMITS.pageSize * 10),
      next,
      q: textParam(),
      from: microsParam(),
      to: microsParam(),
    }),
  },

  createFolder: { bodySchema: folderCreateSchema },
  listFolders: {
    querySchema: z.object({
      path: folderPathSchema.optional(),
      parent: folderPathSchema.optional(),
      prefix: folderPathSchema.optional(),
      limit: limitParam(100, LIMITS.pageSize),
      next,
    }),
  },
  updateFolder: { bodySchema: folderUpdateSchema, emptyBodyIsObject: true },
  deleteFolder: {
    querySchema: z.object({
      recursive: z
        .string()
        .optional()
        .transform((v) => v === 'true'),
    }),
  },

  live: { querySchema: z.object({ runs: text() }) },
  runTable: { querySchema: runTableQuery },
  searchRunTable: { bodySchema: runTableSearchSchema },

  createAlert: { bodySchema: alertCreateSchema, emptyBodyIsObject: true },
  updateAlert: { bodySchema: alertUpdateSchema, emptyBodyIsObject: true },
  listAlerts: {
    querySchema: z.object({ limit: limitParam(100, LIMITS.pageSize), next, critical: flagParam() }),
  },
  listAlertRuns: {
    querySchema: z.object({
      limit: limitParam(LIMITS.pageSize, LIMITS.pageSize),
      next,
      critical: flagParam(),
    }),
  },
  listRunAlerts: {
    querySchema: z.object({
      limit: limitParam(LIMITS.pageSize, LIMITS.pageSize),
      next,
      critical: flagParam(),
    }),
  },
  alertHistory: { querySchema: z.object({ limit: limitParam(100, LIMITS.pageSize), next }) },
  attachAlert: { bodySchema: alertAttachBodySchema },
  setAlertState: { bodySchema: alertStateSchema, emptyBodyIsObject: true },

  createTelemetryKey: { bodySchema: telemetryKeyCreateSchema },
  listTelemetryKeys: { querySchema: z.object({ service: text() }) },
  ingestTelemetry: { bodySchema: z.unknown().transform((body) => readTelemetryBatch(body)) },
  telemetryRecords: {
    querySchema: z.object({
      service: telemetryService(),
      order: orderParam(),
      limit: limitParam(100, LIMITS.pageSize),
      next,
      function: listParam(),
      session: textParam(),
      from: microsParam(),
      to: microsParam(),
    }),
  },
  telemetryUsage: {
    querySchema: z.object({
      service: telemetryService(),
      function: listParam(),
      to: microsParam(),
      from: microsParam(),
      bucket: durationParam(),
    }),
  },

  saveArtifact: {
    querySchema: z.object({
      name: artifactNameParam(),
      category: categoryParam(),
      sha256: sha256Param(),
      size: sizeParam(),
      metadata: jsonObjectParam(ARTIFACT_LIMITS.metadataBytes).pipe(metadataSchema),
    }),
  },
  listArtifacts: {
    querySchema: z.object({
      limit: limitParam(1000, 1000),
      next,
      category: categoryParam(),
      name: nameFilterParam(),
      startsWith: nameFilterParam(),
      contains: nameFilterParam(),
      endsWith: nameFilterParam(),
    }),
  },
  readArtifact: { querySchema: z.object({ name: artifactNameParam() }) },
  saveArray: {
    querySchema: z.object({
      name: arrayNameParam(),
      step: arrayStepParam(true).transform((n) => n as number),
      time: numberParam(),
      shape: queryParam((t) => {
        if (t === undefined || t === '')
          throw new SimscopeError('invalid_field', "required, dimensions such as '512,512'");
        return parseShape(t);
      }),
      dtype: queryParam((t) => {
        if (t === undefined || t === '')
          throw new SimscopeError('invalid_field', 'required, such as float32');
        return parseDtype(t);
      }),
      axes: textParam(),
    }),
  },
  listArrays: {
    querySchema: z.object({ name: textParam(), limit: limitParam(1000, 1000), next }),
  },
  readArray: {
    querySchema: z.object({
      name: arrayNameParam(),
      step: arrayStepParam(false),
      nearest: flagParam(),
      region: textParam(),
      format: queryParam((text) => {
        if (text !== undefined && text !== '' && text !== 'raw' && text !== 'json')
          throw new SimscopeError('invalid_field', `must be 'raw' or 'json', got '${text.slice(0, 40)}'`);
        return text === 'json' ? ('json' as const) : ('raw' as const);
      }),
    }),
  },
  deleteArtifact: { querySchema: z.object({ name: artifactNameParam() }) },
  ...FIELD_ROUTE_SCHEMAS,
  ...HPC_ROUTE_SCHEMAS,
  ...ACCESS_ROUTE_SCHEMAS,
  ...AUTH_ROUTE_SCHEMAS,
} satisfies { [R in RouteName]?: RouteSchemas };

type Schemas = typeof ROUTE_SCHEMAS;
type Output<S, K extends string, Else> = S extends { [P in K]: infer T extends z.ZodType }
  ? z.output<T>
  : Else;

/** A route of the table with its schemas: what the server registers and the client calls. */
export type ApiRoute<R extends RouteName = RouteName> = (typeof ROUTES)[R] &
  RouteSchemas & { name: R } & (R extends keyof Schemas ? Schemas[R] : unknown);

/** The parsed input a route's handler gets: its path parameters, query and body, as the schemas give them. */
export interface RouteInput<R extends RouteName> {
  params: RouteParams<R>;
  query: Output<
    R extends keyof Schemas ? Schemas[R] : object,
    'querySchema',
    Record<string, string | undefined>
  >;
  body: Output<R extends keyof Schemas ? Schemas[R] : object, 'bodySchema', unknown>;
}

/** The route `name` of the table with its schemas. */
export function apiRoute<R extends RouteName>(name: R): ApiRoute<R> {
  const schemas = (ROUTE_SCHEMAS as Partial<Record<RouteName, RouteSchemas>>)[name] ?? {};
  return { ...(ROUTES[name] as RouteSpec), ...schemas, name } as ApiRoute<R>;
}
