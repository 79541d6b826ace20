import {
  API_PREFIX,
  abortSchema,
  downsampleRunsSchema,
  ERROR_STATUS,
  eventBatchSchema,
  float64Bytes,
  folderCreateSchema,
  folderUpdateSchema,
  int64Bytes,
  jsonNumber,
  LIMITS,
  M4_COLUMNS,
  MSGPACK_TYPE,
  membershipCreateSchema,
  nowMicros,
  parseInput,
  readMetricBatch,
  runCreateSchema,
  runSearchSchema,
  runUpdateSchema,
  SimscopeError,
  type TokenScope,
  tokenCreateSchema,
  userCreateSchema,
  WORKSPACE_HEADER,
  workspaceCreateSchema,
} from '@simscope/protocol';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { Packr, Unpackr } from 'msgpackr';
import type { BlobStore } from '../blob/blob-store.js';
import { AddressPolicy } from '../services/address-policy.js';
import { AdminService } from '../services/admin-service.js';
import { ArtifactService } from '../services/artifact-service.js';
import { AuthService } from '../services/auth-service.js';
import type { AuthContext, ServiceContext } from '../services/context.js';
import { DomainEvents } from '../services/domain-events.js';
import { EventService } from '../services/event-service.js';
import { FolderService } from '../services/folder-service.js';
import { LiveHub } from '../services/live-hub.js';
import { MetricService } from '../services/metric-service.js';
import { RunService } from '../services/run-service.js';
import type { Buckets } from '../services/series-reader.js';
import { WriterClocks } from '../services/writer-clocks.js';
import type { Store } from '../store/store.js';
import { registerAlertRoutes } from './alert-routes.js';
import { registerArtifactRoutes } from './artifact-routes.js';
import { answerClientError } from './client-error.js';
import { registerIdempotency } from './idempotency.js';
import { jsonColumnStream, jsonItemStream } from './json-columns.js';
import { registerLiveRoutes } from './live-routes.js';
import { docsPage, openApiDocument, type RouteDoc } from './openapi.js';
import { registerRunTableRoutes } from './run-table-routes.js';
import { registerSecurityHeaders } from './security-headers.js';
import { registerTelemetryRoutes } from './telemetry-routes.js';
import { registerWebUi } from './web-routes.js';

export const SERVER_VERSION = '0.1.0';

export interface AppConfig {
  store: Store;
  /** Largest request body in bytes. */
  bodyLimit?: number;
  logLevel?: string;
  /** Adds `POST /api/v1/_sink/runs/:run/metrics`, which checks and decodes a batch and stores nothing (benchmarks). */
  sinkRoute?: boolean;
  /** Microsecond clock; tests may pass their own. */
  now?: () => number;
  /** Where artifact bytes live; without one, artifact routes answer 503. */
  blobs?: BlobStore;
  /** Bytes of artifacts each workspace may hold; absent or null for no limit. */
  artifactQuota?: number | null;
  /** The domain event bus services publish on (the live stream listens to it); one is made when absent. */
  bus?: DomainEvents;
  /** Milliseconds between checks of an open live stream's token and membership; 5,000 when absent. */
  liveRecheckMs?: number;
  /** Folder of the built web UI (`index.html` and `assets/`), served at `/`; null or absent: a note instead. */
  webRoot?: string | null;
  /** Points one downsampling request may scan (default 10,000,000); more is refused with 400. */
  maxScanPoints?: number;
  /** Hostnames and CIDR ranges of non-public addresses an alert's webhook may name (`--webhook-allow`); none when absent. */
  webhookAllow?: readonly string[];
}

type Params = Record<string, string>;
type Query = Record<string, string | undefined>;

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const packr = new Packr({ useRecords: false, variableMapSize: true });

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthContext;
  }
}

/** When to try again after a refusal that passes by itself: another process's lock, a full disk. */
const RETRY_AFTER_SECONDS: Partial<Record<keyof typeof ERROR_STATUS, number>> = {
  database_busy: 1,
  storage_full: 10,
};

function errorBody(code: keyof typeof ERROR_STATUS, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** M4 bucket columns for a reply: little-endian float64 bytes in msgpack, arrays of numbers (NaN as 'NaN') in JSON. */
function bucketColumns(b: Buckets, binary: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of M4_COLUMNS) out[c] = binary ? float64Bytes(b[c]) : Array.from(b[c], jsonNumber);
  return out;
}

function wantsMsgpack(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes(MSGPACK_TYPE) || accept.includes('application/x-msgpack');
}

function processView(collect: boolean) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collect && gc) gc();
  const m = process.memoryUsage();
  return {
    pid: process.pid,
    uptime: process.uptime(),
    gc: collect && gc !== undefined,
    memory: {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    },
  };
}

/** Builds the HTTP app over a store; it never listens (`main` does). */
export async function createApp(config: AppConfig): Promise<FastifyInstance> {
  const { store } = config;
  const now = config.now ?? nowMicros;
  const bodyLimit = config.bodyLimit ?? LIMITS.bodyBytes;
  const app = Fastify({
    bodyLimit,
    logger: config.logLevel && config.logLevel !== 'silent' ? { level: config.logLevel } : false,
    logController: new LogController({
      disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace',
    }),
    routerOptions: { ignoreTrailingSlash: true },
    clientErrorHandler: answerClientError,
  });
  await registerSecurityHeaders(app);
  const auth = new AuthService(store);
  const bus =
    config.bus ??
    new DomainEvents({
      onError: (error, event) =>
        app.log.warn({ err: error, event: event.type }, 'a domain event listener failed'),
    });
  const hub = new LiveHub();
  const disconnectLive = hub.connect(bus);
  app.addHook('onClose', async function disconnectLiveHub() {
    disconnectLive();
  });
  const admin = new AdminService({
    store,
    now,
    onAccessChange: () => {
      auth.invalidate();
      hub.accessChanged();
    },
  });
  const runs = new RunService();
  const clocks = new WriterClocks();
  const metrics = new MetricService(clocks, { maxScanPoints: config.maxScanPoints });
  const events = new EventService(clocks);
  const folders = new FolderService();
  const artifacts = new ArtifactService({ blobs: config.blobs, quota: config.artifactQuota });
  const docs: RouteDoc[] = [];

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, function parseJson(_req, body, done) {
    if ((body as Buffer).length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')));
    } catch (error) {
      done(new SimscopeError('invalid_body', `malformed JSON: ${(error as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser(
    [MSGPACK_TYPE, 'application/x-msgpack'],
    { parseAs: 'buffer' },
    function parseMsgpack(_req, body, done) {
      try {
        done(null, unpackr.unpack(body as Buffer));
      } catch (error) {
        // msgpackr reads nested maps and arrays recursively: thousands of levels overflow its stack
        const message =
          error instanceof RangeError && /call stack/.test(error.message)
            ? `nested more than ${LIMITS.jsonDepth} levels`
            : (error as Error).message;
        done(new SimscopeError('invalid_body', `malformed msgpack: ${message}`), undefined);
      }
    },
  );

  app.setErrorHandler(function handleError(error: unknown, request, reply) {
    if (error instanceof SimscopeError) {
      const retryAfter = RETRY_AFTER_SECONDS[error.code];
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      return reply.status(ERROR_STATUS[error.code]).send(errorBody(error.code, error.message, error.details));
    }
    const e = error as { statusCode?: number; code?: string; message?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send(
        errorBody('payload_too_large', `request body exceeds the limit of ${bodyLimit} bytes`, {
          limit: bodyLimit,
        }),
      );
    }
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply
        .status(415)
        .send(
          errorBody(
            'unsupported_media_type',
            `unsupported Content-Type '${request.headers['content-type']}'; send application/json or ${MSGPACK_TYPE}`,
          ),
        );
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send(errorBody('bad_request', e.message ?? 'bad request'));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(errorBody('internal', 'internal server error'));
  });
  app.addHook('preHandler', async function refuseControlInNames(request) {
    // No name can hold a control character (they are refused when made), and PostgreSQL cannot even look up NUL.
    for (const [key, value] of Object.entries((request.params ?? {}) as Params)) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
      if (/[\u0000-\u001f\u007f]/.test(value)) {
        throw new SimscopeError('not_found', `no ${key} named ${JSON.stringify(value)}`);
      }
    }
  });
  registerIdempotency(app);
  app.setNotFoundHandler(function notFound(request, reply) {
    reply.status(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  function authenticate(scope: TokenScope | 'none') {
    return async function checkToken(request: FastifyRequest): Promise<void> {
      if (scope === 'none') return;
      const header = request.headers[WORKSPACE_HEADER];
      const result = await auth.authenticate(
        request.headers.authorization,
        Array.isArray(header) ? header[0] : header,
        now(),
      );
      if (!result.scopes.has(scope)) {
        throw new SimscopeError('forbidden', `this token lacks the '${scope}' scope`);
      }
      if (scope !== 'admin' && result.workspace === null) {
        throw new SimscopeError('forbidden', `user '${result.user.name}' is not a member of any workspace`);
      }
      request.auth = result as AuthContext;
    };
  }

  function ctx(request: FastifyRequest): ServiceContext {
    return { store, auth: request.auth!, bus, now };
  }

  function route(
    doc: RouteDoc,
    handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
    options: { onRequest?: (request: FastifyRequest) => Promise<void> } = {},
    on: FastifyInstance = app,
  ): void {
    docs.push(doc);
    on.route({
      method: doc.method as 'GET',
      url: `${API_PREFIX}${doc.url}`,
      onRequest: options.onRequest ?? authenticate(doc.scope === 'none' ? 'none' : doc.scope),
      handler,
    });
  }

  registerLiveRoutes({ app, route, store, hub, auth, now, recheckMs: config.liveRecheckMs });
  registerRunTableRoutes(route, ctx);

  const params = (r: FastifyRequest) => r.params as Params;
  const query = (r: FastifyRequest) => r.query as Query;
  const runOf = (r: FastifyRequest) => runs.find(ctx(r), params(r).run!);

  route(
    { method: 'GET', url: '/version', summary: 'Server version (no token needed)', scope: 'none' },
    async () => ({
      name: 'simscope',
      version: SERVER_VERSION,
      api: 'v1',
      store: store.backend,
    }),
  );
  route(
    { method: 'GET', url: '/health', summary: 'Liveness (no token needed)', scope: 'none' },
    async () => ({
      ok: true,
    }),
  );
  route(
    { method: 'GET', url: '/openapi.json', summary: 'This API as OpenAPI 3.1', scope: 'none' },
    async () => openApiDocument(docs, SERVER_VERSION),
  );
  route({ method: 'GET', url: '/docs', summary: 'This API as a page', scope: 'none' }, async (_r, reply) =>
    reply.type('text/html; charset=utf-8').send(docsPage(docs, SERVER_VERSION)),
  );
  route(
    { method: 'GET', url: '/me', summary: 'Who the token belongs to and its workspaces', scope: 'read' },
    async (r) => {
      const a = r.auth!;
      return {
        user: { id: a.user.id, name: a.user.name, email: a.user.email, admin: a.user.isAdmin },
        token: { id: a.token.id, name: a.token.name, scopes: a.token.scopes, expires: a.token.expiresAt },
        workspace: { id: a.workspace.id, name: a.workspace.name },
        workspaces: (await store.identity.listUserWorkspaces(a.user.id)).map((w) => ({
          id: w.id,
          name: w.name,
        })),
      };
    },
  );

  // Admin
  route(
    {
      method: 'GET',
      url: '/admin/process',
      summary:
        "This server process's memory and uptime; gc=true first collects garbage when node runs with --expose-gc",
      scope: 'admin',
      query: { gc: 'true to collect garbage first (only when node runs with --expose-gc)' },
    },
    async (r) => processView(query(r).gc === 'true'),
  );
  route(
    { method: 'POST', url: '/admin/users', summary: 'Create a user', scope: 'admin', body: userCreateSchema },
    async (r, reply) => reply.status(201).send(await admin.createUser(r.body)),
  );
  route({ method: 'GET', url: '/admin/users', summary: 'List users', scope: 'admin' }, async () => ({
    items: await admin.listUsers(),
  }));
  route(
    {
      method: 'DELETE',
      url: '/admin/users/:user',
      summary: 'Delete a user and their tokens',
      scope: 'admin',
    },
    async (r, reply) => {
      await admin.deleteUser(params(r).user!);
      return reply.status(204).send();
    },
  );
  route(
    {
      method: 'POST',
      url: '/admin/workspaces',
      summary: 'Create a workspace',
      scope: 'admin',
      body: workspaceCreateSchema,
    },
    async (r, reply) => reply.status(201).send(await admin.createWorkspace(r.body)),
  );
  route(
    { method: 'GET', url: '/admin/workspaces', summary: 'List workspaces', scope: 'admin' },
    async () => ({
      items: await admin.listWorkspaces(),
    }),
  );
  route(
    {
      method: 'DELETE',
      url: '/admin/workspaces/:workspace',
      summary: 'Delete a workspace and all it holds',
      scope: 'admin',
    },
    async (r, reply) => {
      await admin.deleteWorkspace(params(r).workspace!);
      await artifacts.collect(store);
      return reply.status(204).send();
    },
  );
  route(
    {
      method: 'POST',
      url: '/admin/workspaces/:workspace/members',
      summary: 'Add a user to a workspace',
      scope: 'admin',
      body: membershipCreateSchema,
    },
    async (r, reply) =>
      reply.status(201).send({ items: await admin.addMember(params(r).workspace!, r.body) }),
  );
  route(
    {
      method: 'GET',
      url: '/admin/workspaces/:workspace/members',
      summary: 'List the members of a workspace',
      scope: 'admin',
    },
    async (r) => ({ items: await admin.listMembers(params(r).workspace!) }),
  );
  route(
    {
      method: 'DELETE',
      url: '/admin/workspaces/:workspace/members/:user',
      summary: 'Remove a user from a workspace',
      scope: 'admin',
    },
    async (r, reply) => {
      await admin.removeMember(params(r).workspace!, params(r).user!);
      return reply.status(204).send();
    },
  );
  route(
    {
      method: 'POST',
      url: '/admin/tokens',
      summary: 'Create a token for a user; the secret is shown once',
      scope: 'admin',
      body: tokenCreateSchema,
    },
    async (r, reply) => reply.status(201).send(await admin.createToken(r.body)),
  );
  route(
    {
      method: 'GET',
      url: '/admin/tokens',
      summary: 'List tokens (never their secrets)',
      scope: 'admin',
      query: { user: 'only this user' },
    },
    async (r) => ({ items: await admin.listTokens(query(r).user) }),
  );
  route(
    { method: 'DELETE', url: '/admin/tokens/:token', summary: 'Revoke a token', scope: 'admin' },
    async (r, reply) => {
      await admin.revokeToken(params(r).token!);
      return reply.status(204).send();
    },
  );

  // Runs
  route(
    { method: 'POST', url: '/runs', summary: 'Create a run', scope: 'write', body: runCreateSchema },
    async (r, reply) => reply.status(201).send(await runs.create(ctx(r), r.body)),
  );
  route(
    {
      method: 'GET',
      url: '/runs',
      summary: 'List runs',
      scope: 'read',
      query: {
        filter: 'filter language, e.g. status == running and metadata.beta > 2',
        sort: 'created (default -created), started, ended, heartbeat, name, status; - for descending',
        limit: `page size, 1 to ${LIMITS.pageSize} (default 100)`,
        next: 'cursor from the previous page',
      },
    },
    async (r) => runs.list(ctx(r), query(r)),
  );
  route(
    {
      method: 'POST',
      url: '/runs/search',
      summary: 'List runs, the query in the body: as GET /runs, for filters too long for a URL',
      scope: 'read',
      body: runSearchSchema,
    },
    async (r) => {
      const { next, ...search } = parseInput(runSearchSchema, r.body);
      return runs.list(ctx(r), { ...search, next: next ?? undefined });
    },
  );
  route({ method: 'GET', url: '/runs/:run', summary: 'Get a run by id or name', scope: 'read' }, async (r) =>
    runs.get(ctx(r), params(r).run!),
  );
  route(
    {
      method: 'PATCH',
      url: '/runs/:run',
      summary:
        'Change a run: name, folder, description, tags (replace, add, remove), metadata (merge; null removes), status',
      scope: 'write',
      body: runUpdateSchema,
    },
    async (r) => runs.update(ctx(r), params(r).run!, r.body),
  );
  route(
    { method: 'DELETE', url: '/runs/:run', summary: 'Delete a run and all its data', scope: 'write' },
    async (r, reply) => {
      await runs.delete(ctx(r), params(r).run!);
      await artifacts.collect(store);
      return reply.status(204).send();
    },
  );
  route(
    {
      method: 'POST',
      url: '/runs/:run/heartbeat',
      summary: 'Record that the run is alive; answers the abort request',
      scope: 'write',
    },
    async (r) => runs.heartbeat(ctx(r), params(r).run!),
  );
  route(
    {
      method: 'POST',
      url: '/runs/:run/abort',
      summary: 'Ask the run to stop',
      scope: 'write',
      body: abortSchema,
    },
    async (r) => runs.requestAbort(ctx(r), params(r).run!, r.body),
  );
  route(
    { method: 'GET', url: '/runs/:run/abort', summary: 'Read the abort request', scope: 'read' },
    async (r) => runs.readAbort(ctx(r), params(r).run!),
  );

  // Metrics
  const metricBody =
    '{ writer, seq, clock?, series: [{ name, values, steps?, times?, timestamps? }] }: columns of equal length; JSON arrays (NaN, Infinity, -Infinity as strings) or msgpack binary (int64 steps and timestamps, float64 times and values, little-endian)';
  route(
    {
      method: 'POST',
      url: '/runs/:run/metrics',
      summary: 'Ingest a metric batch',
      scope: 'write',
      bodyDescription: metricBody,
    },
    async (r) => {
      const batch = readMetricBatch(r.body);
      const run = await runOf(r);
      return metrics.ingest(ctx(r), run, batch);
    },
  );
  if (config.sinkRoute) {
    route(
      {
        method: 'POST',
        url: '/_sink/runs/:run/metrics',
        summary: 'Check and decode a metric batch, store nothing (benchmarks only)',
        scope: 'write',
        bodyDescription: metricBody,
      },
      async (r) => {
        const batch = readMetricBatch(r.body);
        let points = 0;
        for (const s of batch.series) points += s.values.length;
        return { stored: false, points };
      },
    );
  }
  route(
    {
      method: 'GET',
      url: '/runs/:run/metrics',
      summary: 'Metric names of a run with last values, in name order',
      scope: 'read',
      query: {
        name: 'exactly this metric',
        prefix: 'names that start with this text',
        q: 'names that contain this text (case-insensitive)',
        regex: 'names that match this regular expression',
        limit: `page size, 1 to ${LIMITS.pageSize} (default ${LIMITS.pageSize})`,
        next: 'cursor from the previous page',
      },
    },
    async (r) => metrics.names(ctx(r), await runOf(r), query(r)),
  );
  route(
    {
      method: 'GET',
      url: '/runs/:run/metrics/series',
      summary: 'One metric at full fidelity by step range; msgpack (binary columns) when Accept asks for it',
      scope: 'read',
      query: {
        name: 'metric name',
        from: 'first step (inclusive)',
        to: 'last step (exclusive)',
        limit: 'points per page',
        next: 'cursor',
      },
    },
    async (r, reply) => {
      const { name, page, next, columns } = await metrics.series(ctx(r), await runOf(r), query(r));
      const binary = wantsMsgpack(r);
      if (!binary && page.values.length > 50_000) {
        const keys = { step: 'steps', time: 'times', timestamp: 'timestamps', value: 'values' } as const;
        return reply.type('application/json; charset=utf-8').send(
          jsonColumnStream(
            { name },
            columns.map((c) => [keys[c], page[keys[c]], c === 'value' ? 'value' : 'plain']),
            { next },
          ),
        );
      }
      const out: Record<string, unknown> = { name };
      for (const column of columns) {
        if (column === 'step') out.steps = binary ? int64Bytes(page.steps) : Array.from(page.steps);
        if (column === 'time') out.times = binary ? float64Bytes(page.times) : Array.from(page.times);
        if (column === 'timestamp')
          out.timestamps = binary ? int64Bytes(page.timestamps) : Array.from(page.timestamps);
        if (column === 'value')
          out.values = binary ? float64Bytes(page.values) : Array.from(page.values, jsonNumber);
      }
      out.next = next;
      return binary ? reply.type(MSGPACK_TYPE).send(packr.pack(out)) : out;
    },
  );
  route(
    {
      method: 'GET',
      url: '/runs/:run/metrics/downsample',
      summary:
        'One metric in N equal-width buckets over [from, to) of x, with first, last, min, max and count (M4)',
      scope: 'read',
      query: {
        name: 'metric name',
        x: 'step (default), time or timestamp',
        from: 'x start (inclusive)',
        to: 'x end (exclusive)',
        buckets: 'N (default 1000)',
      },
    },
    async (r, reply) => {
      const b = await metrics.downsample(ctx(r), await runOf(r), query(r));
      const binary = wantsMsgpack(r);
      const out = { name: b.name, x: b.axis, from: b.from, to: b.to, ...bucketColumns(b, binary) };
      return binary ? reply.type(MSGPACK_TYPE).send(packr.pack(out)) : out;
    },
  );
  route(
    {
      method: 'POST',
      url: '/metrics/downsample',
      summary:
        'One metric of many runs in N equal-width M4 buckets on one grid (by default the span of all of them)',
      scope: 'read',
      body: downsampleRunsSchema,
    },
    async (r, reply) => {
      const d = await metrics.downsampleRuns(ctx(r), r.body);
      const binary = wantsMsgpack(r);
      if (!binary) {
        const item = (i: number) => {
          const run = d.runs[i]!;
          return 'error' in run ? run : { run: run.run, ...bucketColumns(run.buckets, false) };
        };
        return reply
          .type('application/json; charset=utf-8')
          .send(
            jsonItemStream({ name: d.name, x: d.axis, from: d.from, to: d.to }, 'runs', d.runs.length, item),
          );
      }
      const out = {
        name: d.name,
        x: d.axis,
        from: d.from,
        to: d.to,
        runs: d.runs.map((item) =>
          'error' in item ? item : { run: item.run, ...bucketColumns(item.buckets, binary) },
        ),
      };
      return binary ? reply.type(MSGPACK_TYPE).send(packr.pack(out)) : out;
    },
  );

  // Events
  route(
    {
      method: 'POST',
      url: '/runs/:run/events',
      summary: 'Ingest an event batch',
      scope: 'write',
      body: eventBatchSchema,
    },
    async (r) => events.ingest(ctx(r), await runOf(r), r.body),
  );
  route(
    {
      method: 'GET',
      url: '/runs/:run/events',
      summary: 'List events',
      scope: 'read',
      query: {
        q: 'text the message contains (case-insensitive)',
        level: 'comma-separated levels',
        from: 'start time (µs or ISO, inclusive)',
        to: 'end time (exclusive)',
        order: 'asc (default) or desc',
        limit: 'page size',
        next: 'cursor',
      },
    },
    async (r) => events.list(ctx(r), await runOf(r), query(r)),
  );

  // Folders
  route(
    {
      method: 'POST',
      url: '/folders',
      summary: 'Create a folder (and its parents)',
      scope: 'write',
      body: folderCreateSchema,
    },
    async (r, reply) => reply.status(201).send(await folders.create(ctx(r), r.body)),
  );
  route(
    {
      method: 'GET',
      url: '/folders',
      summary: 'List folders',
      scope: 'read',
      query: {
        path: 'exactly this folder',
        parent: 'direct children of this path',
        prefix: 'this folder and all below',
        limit: 'page size',
        next: 'cursor',
      },
    },
    async (r) => folders.list(ctx(r), query(r)),
  );
  route({ method: 'GET', url: '/folders/:folder', summary: 'Get a folder by id', scope: 'read' }, async (r) =>
    folders.get(ctx(r), params(r).folder!),
  );
  route(
    {
      method: 'PATCH',
      url: '/folders/:folder',
      summary: 'Change description, tags, metadata (merge)',
      scope: 'write',
      body: folderUpdateSchema,
    },
    async (r) => folders.update(ctx(r), params(r).folder!, r.body),
  );
  route(
    {
      method: 'DELETE',
      url: '/folders/:folder',
      summary: 'Delete a folder; recursive=true also deletes subfolders and runs',
      scope: 'write',
      query: { recursive: 'true to delete contents' },
    },
    async (r) => {
      const deleted = await folders.delete(ctx(r), params(r).folder!, query(r).recursive === 'true');
      await artifacts.collect(store);
      return deleted;
    },
  );

  registerAlertRoutes({ route, ctx, runOf, webhookPolicy: new AddressPolicy(config.webhookAllow) });
  registerTelemetryRoutes({ route, ctx, store, now });
  // Artifacts: in a scope of their own, where bodies arrive as streams
  await app.register(async function artifactScope(scope) {
    registerArtifactRoutes(scope, {
      route: (doc, handler) => route(doc, handler, {}, scope),
      ctx,
      runOf,
      artifacts,
    });
  });

  registerWebUi(app, config.webRoot);

  await app.ready();
  return app;
}
