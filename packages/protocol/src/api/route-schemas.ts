import { z } from 'zod';
import { alertCreateSchema, alertStateSchema } from '../alerts.js';
import { ARTIFACT_LIMITS } from '../artifacts.js';
import { LIMITS } from '../limits.js';
import { readMetricBatch } from '../metric-batch.js';
import { regexSchema } from '../query/lookups.js';
import {
  abortSchema,
  downsampleRunsSchema,
  eventBatchSchema,
  folderCreateSchema,
  folderPathSchema,
  folderUpdateSchema,
  membershipCreateSchema,
  metadataSchema,
  runCreateSchema,
  runSearchSchema,
  runTableSearchSchema,
  runUpdateSchema,
  tokenCreateSchema,
  userCreateSchema,
  workspaceCreateSchema,
} from '../schemas.js';
import { telemetryKeyCreateSchema } from '../telemetry.js';
import {
  artifactNameParam,
  axisParam,
  categoryParam,
  flagParam,
  jsonObjectParam,
  levelsParam,
  limitParam,
  microsParam,
  nameFilterParam,
  numberParam,
  orderParam,
  seriesColumnsParam,
  sha256Param,
  sizeParam,
  sortParam,
  textParam,
} from './query-params.js';
import { ROUTES, type RouteName, type RouteParams, type RouteSpec } from './routes.js';

/** The schemas a route's input is parsed with at the server's edge; absent parts are passed as they came. */
export interface RouteSchemas {
  query?: z.ZodType;
  body?: z.ZodType;
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

/** Every route's schemas, by route name. */
export const ROUTE_SCHEMAS = {
  adminProcess: { query: z.object({ gc: flagParam() }) },
  createUser: { body: userCreateSchema },
  createWorkspace: { body: workspaceCreateSchema },
  addMember: { body: membershipCreateSchema },
  createToken: { body: tokenCreateSchema },
  listTokens: { query: z.object({ user: text() }) },

  createRun: { body: runCreateSchema, emptyBodyIsObject: true },
  listRuns: { query: runListQuery },
  searchRuns: { body: runSearchSchema },
  updateRun: { body: runUpdateSchema, emptyBodyIsObject: true },
  requestAbort: { body: abortSchema, emptyBodyIsObject: true },

  ingestMetrics: { body: z.unknown().transform((body) => readMetricBatch(body)) },
  sinkMetrics: { body: z.unknown().transform((body) => readMetricBatch(body)) },
  listMetricNames: {
    query: z.object({
      name: textParam(),
      prefix: textParam(),
      q: textParam(),
      regex: z.preprocess((v) => (v === '' ? undefined : v), regexSchema.optional()),
      limit: limitParam(LIMITS.pageSize, LIMITS.pageSize),
      next,
    }),
  },
  readSeries: {
    query: z.object({
      name: text(),
      columns: seriesColumnsParam(),
      from: numberParam(),
      to: numberParam(),
      limit: limitParam(LIMITS.seriesPageSize, LIMITS.seriesPageSize),
      next,
    }),
  },
  downsample: {
    query: z.object({
      name: text(),
      x: axisParam(),
      buckets: limitParam(1000, LIMITS.downsampleBuckets),
      from: numberParam(),
      to: numberParam(),
    }),
  },
  downsampleRuns: { body: downsampleRunsSchema, emptyBodyIsObject: true },

  ingestEvents: { body: eventBatchSchema },
  listEvents: {
    query: z.object({
      level: levelsParam(),
      order: orderParam(),
      limit: limitParam(100, LIMITS.pageSize * 10),
      next,
      q: textParam(),
      from: microsParam(),
      to: microsParam(),
    }),
  },

  createFolder: { body: folderCreateSchema },
  listFolders: {
    query: z.object({
      path: folderPathSchema.optional(),
      parent: folderPathSchema.optional(),
      prefix: folderPathSchema.optional(),
      limit: limitParam(100, LIMITS.pageSize),
      next,
    }),
  },
  updateFolder: { body: folderUpdateSchema, emptyBodyIsObject: true },
  deleteFolder: {
    query: z.object({
      recursive: z
        .string()
        .optional()
        .transform((v) => v === 'true'),
    }),
  },

  live: { query: z.object({ runs: text() }) },
  searchRunTable: { body: runTableSearchSchema },

  createAlert: { body: alertCreateSchema, emptyBodyIsObject: true },
  listAlerts: { query: z.object({ limit: limitParam(100, LIMITS.pageSize), next, critical: flagParam() }) },
  listRunAlerts: {
    query: z.object({ limit: limitParam(LIMITS.pageSize, LIMITS.pageSize), next, critical: flagParam() }),
  },
  alertHistory: { query: z.object({ limit: limitParam(100, LIMITS.pageSize), next }) },
  setAlertState: { body: alertStateSchema, emptyBodyIsObject: true },

  createTelemetryKey: { body: telemetryKeyCreateSchema },
  listTelemetryKeys: { query: z.object({ service: text() }) },

  saveArtifact: {
    query: z.object({
      name: artifactNameParam(),
      category: categoryParam(),
      sha256: sha256Param(),
      size: sizeParam(),
      metadata: jsonObjectParam(ARTIFACT_LIMITS.metadataBytes).pipe(metadataSchema),
    }),
  },
  listArtifacts: {
    query: z.object({
      limit: limitParam(1000, 1000),
      next,
      category: categoryParam(),
      name: nameFilterParam(),
      startsWith: nameFilterParam(),
      contains: nameFilterParam(),
      endsWith: nameFilterParam(),
    }),
  },
  readArtifact: { query: z.object({ name: artifactNameParam() }) },
  deleteArtifact: { query: z.object({ name: artifactNameParam() }) },
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
  query: Output<R extends keyof Schemas ? Schemas[R] : object, 'query', Record<string, string | undefined>>;
  body: Output<R extends keyof Schemas ? Schemas[R] : object, 'body', unknown>;
}

/** The route `name` of the table with its schemas. */
export function apiRoute<R extends RouteName>(name: R): ApiRoute<R> {
  const schemas = (ROUTE_SCHEMAS as Partial<Record<RouteName, RouteSchemas>>)[name] ?? {};
  return { ...(ROUTES[name] as RouteSpec), ...schemas, name } as ApiRoute<R>;
}
