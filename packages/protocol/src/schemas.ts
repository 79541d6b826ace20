import { z } from 'zod';
import { WORKSPACE_ROLES } from './api/routes-access.js';
import { durationSchema } from './durations.js';
import { LIMITS } from './limits.js';
import { jsonDepthWithin, unicodeProblem } from './validation.js';

/** Lifecycle of a run. */
export const RUN_STATUSES = ['created', 'running', 'completed', 'failed', 'terminated', 'lost'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses that end a run: no heartbeats or status changes after them (late data is still accepted). */
export const FINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'terminated'];

export const EVENT_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type EventLevel = (typeof EVENT_LEVELS)[number];

export const TOKEN_SCOPES = ['read', 'write', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const RUN_SORT_FIELDS = ['created', 'started', 'ended', 'heartbeat', 'name', 'status'] as const;
export type RunSortField = (typeof RUN_SORT_FIELDS)[number];

export const SERIES_AXES = ['step', 'time', 'timestamp'] as const;
export type SeriesAxis = (typeof SERIES_AXES)[number];

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

const text = (max: number) =>
  z
    .string()
    .max(max, { message: `must be at most ${max} characters` })
    .refine((s) => !CONTROL.test(s), { message: 'must not contain control characters' });

/** Text that names something: also well-formed Unicode, or it could not be looked up by what was sent. */
const nameText = (max: number) =>
  text(max).superRefine((s, ctx) => {
    const problem = unicodeProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A run name: printable, no `/`, at most 255 characters. */
export const runNameSchema = nameText(LIMITS.nameLength)
  .min(1, { message: 'must not be empty' })
  .refine((s) => !s.includes('/'), { message: "must not contain '/'" });

export const tagSchema = nameText(LIMITS.tagLength).min(1, { message: 'must not be empty' });
export const tagsSchema = z
  .array(tagSchema)
  .max(LIMITS.tagsPerRun, { message: `at most ${LIMITS.tagsPerRun} tags` });

const metadataKey = nameText(LIMITS.keyLength).min(1, { message: 'keys must not be empty' });

const metadataRecord = z
  .record(metadataKey, z.json())
  .refine((m) => JSON.stringify(m).length <= LIMITS.metadataBytes, {
    message: `must be at most ${LIMITS.metadataBytes} bytes as JSON`,
  });

/**
 * Metadata: a JSON object whose keys are at most 255 characters, nested at most 64 levels, at most 256 KiB as
 * JSON. The depth is checked first: zod's JSON schema recurses, and would overflow the stack on deep input.
 */
export const metadataSchema = z
  .custom<z.input<typeof metadataRecord>>()
  .refine((m) => jsonDepthWithin(m, LIMITS.jsonDepth), {
    message: `must nest at most ${LIMITS.jsonDepth} levels deep`,
    abort: true,
  })
  .pipe(metadataRecord);

/** Metadata patch: like metadata, and `null` removes a key. */
const metadataPatchSchema = metadataSchema;

/** A folder path such as `/project/study`: absolute, no empty, `.` or `..` segments. */
export const folderPathSchema = nameText(LIMITS.folderPathLength)
  .refine((p) => p.startsWith('/'), { message: "must start with '/'" })
  .refine((p) => p.split('/').every((s) => s !== '.' && s !== '..'), {
    message: "must not contain '.' or '..' segments",
  })
  .refine((p) => p === '/' || !p.slice(1).replace(/\/$/, '').split('/').includes(''), {
    message: 'must not contain empty segments',
  })
  .refine((p) => p.split('/').length - 1 <= LIMITS.folderDepth, {
    message: `must be at most ${LIMITS.folderDepth} levels deep`,
  })
  .refine((p) => p.split('/').every((s) => s.length <= LIMITS.nameLength), {
    message: `segments must be at most ${LIMITS.nameLength} characters`,
  })
  .transform((p) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p));

const micros = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 53);

/** A run id: 16 characters of base64url, made by the server, or by a client for a run it uploads later. */
export const runIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16}$/, { message: 'must be 16 characters of A-Z, a-z, 0-9, _ and -' });

export const runCreateSchema = z.strictObject({
  /** Set by a client uploading a run it spooled: creating the same id again returns the existing run. */
  id: runIdSchema.optional(),
  /** When the run was created (µs), for runs uploaded later; default now. */
  createdAt: micros.optional(),
  name: runNameSchema.optional(),
  folder: folderPathSchema.optional(),
  description: text(LIMITS.descriptionLength).optional(),
  tags: tagsSchema.optional(),
  metadata: metadataSchema.optional(),
  system: metadataSchema.optional(),
  status: z.enum(['created', 'running']).optional(),
  /** Seconds or text such as '5m' without a heartbeat before the run is `lost`; null (default here): never. */
  heartbeatTimeout: durationSchema().nullable().optional(),
});
export type RunCreateInput = z.input<typeof runCreateSchema>;

export const runUpdateSchema = z.strictObject({
  name: runNameSchema.optional(),
  folder: folderPathSchema.optional(),
  description: text(LIMITS.descriptionLength).optional(),
  tags: tagsSchema.optional(),
  addTags: tagsSchema.optional(),
  removeTags: tagsSchema.optional(),
  metadata: metadataPatchSchema.optional(),
  system: metadataPatchSchema.optional(),
  status: z.enum(RUN_STATUSES).optional(),
  /** When the status changed (µs), for runs uploaded later; default now. */
  statusAt: micros.optional(),
  /** Seconds or text such as '5m' without a heartbeat before the run is `lost`; null (default here): never. */
  heartbeatTimeout: durationSchema().nullable().optional(),
});
export type RunUpdateInput = z.input<typeof runUpdateSchema>;

export const writerIdSchema = z
  .string()
  .min(1)
  .max(LIMITS.writerIdLength)
  .regex(/^[A-Za-z0-9_.:-]+$/, { message: 'must use letters, digits and _ . : - only' });

export const batchHeaderSchema = z.object({
  writer: writerIdSchema,
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

export const eventSchema = z.strictObject({
  message: z
    .string()
    .max(LIMITS.eventMessageLength, { message: `must be at most ${LIMITS.eventMessageLength} characters` }),
  level: z.enum(EVENT_LEVELS).optional(),
  timestamp: micros.optional(),
});
export type EventInput = z.input<typeof eventSchema>;

export const eventBatchSchema = z.strictObject({
  writer: writerIdSchema,
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** The writer's clock when it sent the batch (µs); the server corrects a skewed writer's timestamps by it. */
  clock: z
    .number()
    .nonnegative()
    .max(2 ** 53)
    .optional(),
  events: z
    .array(eventSchema)
    .max(LIMITS.eventsPerBatch, { message: `at most ${LIMITS.eventsPerBatch} events` }),
});
export type EventBatchInput = z.input<typeof eventBatchSchema>;

/** One metric of many runs downsampled on one grid (`POST /metrics/downsample`). */
export const downsampleRunsSchema = z
  .strictObject({
    runs: z
      .array(z.string().min(1).max(LIMITS.nameLength))
      .min(1, { message: 'name at least one run' })
      .max(LIMITS.downsampleRuns, { message: `at most ${LIMITS.downsampleRuns} runs` })
      .superRefine((runs, ctx) => {
        const seen = new Set<string>();
        for (const run of runs) {
          if (seen.has(run)) {
            ctx.addIssue({ code: 'custom', message: `run '${run}' is named more than once` });
            return;
          }
          seen.add(run);
        }
      }),
    name: z.string().min(1).max(LIMITS.nameLength),
    x: z.enum(SERIES_AXES).optional(),
    from: z.number().optional(),
    to: z.number().optional(),
    buckets: z.number().int().min(1).max(LIMITS.downsampleBuckets).optional(),
  })
  .refine((r) => r.runs.length * (r.buckets ?? 1000) <= LIMITS.downsampleTotalBuckets, {
    message: `runs × buckets must be at most ${LIMITS.downsampleTotalBuckets}`,
    path: ['buckets'],
  })
  .refine((r) => r.from === undefined || r.to === undefined || r.to > r.from, {
    message: 'must be greater than from',
    path: ['to'],
  });
export type DownsampleRunsInput = z.input<typeof downsampleRunsSchema>;

/** What `POST /metrics/aggregate` groups runs by: `tags` (a run in each of its tags), `folder`, or `metadata.<path>`. */
export const aggregateGroupSchema = z.union([
  z.literal('tags'),
  z.literal('folder'),
  z
    .string()
    .regex(/^metadata\.[^.]+(\.[^.]+)*$/, { message: "must be 'tags', 'folder' or 'metadata.<key>'" })
    .max(LIMITS.nameLength),
]);

/** One metric of many runs grouped, each group's runs aggregated per bucket (`POST /metrics/aggregate`). */
export const aggregateSchema = z
  .strictObject({
    runs: z
      .array(z.string().min(1).max(LIMITS.nameLength))
      .min(1, { message: 'name at least one run' })
      .max(LIMITS.downsampleRuns, { message: `at most ${LIMITS.downsampleRuns} runs` }),
    name: z.string().min(1).max(LIMITS.nameLength),
    by: aggregateGroupSchema,
    x: z.enum(SERIES_AXES).optional(),
    from: z.number().optional(),
    to: z.number().optional(),
    buckets: z.number().int().min(1).max(LIMITS.downsampleBuckets).optional(),
  })
  .refine((r) => r.runs.length * (r.buckets ?? 1000) <= LIMITS.downsampleTotalBuckets, {
    message: `runs × buckets must be at most ${LIMITS.downsampleTotalBuckets}`,
    path: ['buckets'],
  })
  .refine((r) => r.from === undefined || r.to === undefined || r.to > r.from, {
    message: 'must be greater than from',
    path: ['to'],
  });
export type AggregateInput = z.input<typeof aggregateSchema>;

/** A compare-page layout: the runs, the metric (null: the grid of all), grouping and chart settings. */
export const dashboardLayoutSchema = z.strictObject({
  runs: z
    .array(z.string().min(1).max(LIMITS.nameLength))
    .max(LIMITS.downsampleRuns, { message: `at most ${LIMITS.downsampleRuns} runs` })
    .optional(),
  metric: z.string().min(1).max(LIMITS.nameLength).nullable().optional(),
  group: aggregateGroupSchema.nullable().optional(),
  band: z.enum(['std', 'range']).optional(),
  x: z.enum(SERIES_AXES).optional(),
  log: z.boolean().optional(),
  /** Sections of the grid shown closed. */
  collapsed: z.array(z.string().max(LIMITS.nameLength)).max(1000).optional(),
});

const dashboardName = z.string().trim().min(1).max(LIMITS.nameLength);

/** `POST /dashboards`. */
export const dashboardCreateSchema = z.strictObject({ name: dashboardName, layout: dashboardLayoutSchema });

/** `PATCH /dashboards/:dashboard`: the name, the layout or both. */
export const dashboardUpdateSchema = z.strictObject({
  name: dashboardName.optional(),
  layout: dashboardLayoutSchema.optional(),
});
export type DashboardLayout = z.output<typeof dashboardLayoutSchema>;

/** Filter text in a search body: long filters go in a body, which is not bound by the server's header limit. */
const searchFilter = z
  .string()
  .max(256 * 1024)
  .optional();
const searchCursor = z
  .string()
  .max(64 * 1024)
  .nullable()
  .optional();

/** `POST /runs/search`: the query of `GET /runs` as a body, for filters too long for a URL. */
export const runSearchSchema = z.strictObject({
  filter: searchFilter,
  sort: z.string().max(64).optional(),
  limit: z.number().int().optional(),
  next: searchCursor,
});
export type RunSearchInput = z.input<typeof runSearchSchema>;

/** `POST /run-table/search`: the query of `GET /run-table` as a body (`columns` as an array). */
export const runTableSearchSchema = z.strictObject({
  filter: searchFilter,
  columns: z.array(z.string()).optional(),
  limit: z.number().int().optional(),
  next: searchCursor,
  metricNames: z.boolean().optional(),
  folderCounts: z.boolean().optional(),
});
export type RunTableSearchInput = z.input<typeof runTableSearchSchema>;

/** A retention rule: runs older than some days deleted, or their series downsampled (M4) to `buckets`. */
export const retentionRuleCreateSchema = z
  .strictObject({
    folder: folderPathSchema.optional(),
    action: z.enum(['delete', 'downsample']),
    olderThanDays: z.number().positive().max(36_500),
    buckets: z.number().int().min(1).max(1_000_000).optional(),
  })
  .refine((r) => (r.action === 'downsample') === (r.buckets !== undefined), {
    message: 'give it for downsample, and only then',
    path: ['buckets'],
  });

export const folderCreateSchema = z.strictObject({
  path: folderPathSchema,
  description: text(LIMITS.descriptionLength).optional(),
  tags: tagsSchema.optional(),
  metadata: metadataSchema.optional(),
});

export const folderUpdateSchema = z.strictObject({
  description: text(LIMITS.descriptionLength).optional(),
  tags: tagsSchema.optional(),
  metadata: metadataPatchSchema.optional(),
});
export type FolderUpdateInput = z.input<typeof folderUpdateSchema>;

export const abortSchema = z.strictObject({ reason: text(1024).optional() });

export const userCreateSchema = z.strictObject({
  name: nameText(LIMITS.nameLength).min(1),
  email: z.email().max(320).optional(),
  admin: z.boolean().optional(),
});

export const workspaceCreateSchema = z.strictObject({
  name: nameText(LIMITS.nameLength)
    .min(1)
    .regex(/^[A-Za-z0-9_.-]+$/, { message: 'must use letters, digits and _ . - only' }),
});

export const membershipCreateSchema = z.strictObject({
  user: z.string().min(1).max(LIMITS.nameLength),
  /** The member's role; editor when absent. */
  role: z.enum(WORKSPACE_ROLES).optional(),
});

export const tokenCreateSchema = z.strictObject({
  user: z.string().min(1).max(LIMITS.nameLength),
  name: nameText(LIMITS.nameLength).min(1),
  scopes: z.array(z.enum(TOKEN_SCOPES)).min(1).optional(),
  /** How long from now until the token stops working: seconds, or text such as '90d'. */
  expiresIn: durationSchema().optional(),
});
