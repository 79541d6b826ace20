import { LIMITS, nowMicros, type RouteScope, type RouteSpec, WORKSPACE_HEADER } from '@simscope/protocol';
import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import type { BlobStore } from '../blob/blob-store.js';
import { AccessService } from '../services/access-service.js';
import { AddressPolicy } from '../services/address-policy.js';
import { AdminService } from '../services/admin-service.js';
import { AggregateService } from '../services/aggregate-service.js';
import { ArrayService } from '../services/array-service.js';
import { ArtifactService } from '../services/artifact-service.js';
import { AuthService } from '../services/auth-service.js';
import type { AuthContext, ServiceContext } from '../services/context.js';
import { DomainEvents } from '../services/domain-events.js';
import { EventService } from '../services/event-service.js';
import { LiveHub } from '../services/live-hub.js';
import { MetricService } from '../services/metric-service.js';
import { RateLimiter, type RateLimits } from '../services/rate-limit.js';
import { RunService } from '../services/run-service.js';
import type { SignInConfig } from '../services/sign-in-config.js';
import { WriterClocks } from '../services/writer-clocks.js';
import type { Store } from '../store/store.js';
import { registerAuditLog } from './audit-log.js';
import { answerClientError } from './client-error.js';
import { addBodyParsers, errorBody, errorHandler, refuseControlInNames } from './error-handler.js';
import { registerIdempotency } from './idempotency.js';
import { registerMetricsRoute, ServerMetrics } from './metrics.js';
import { MLFLOW_PREFIX, mlflowPlugin } from './mlflow/mlflow-plugin.js';
import { registerRateLimits } from './rate-limits.js';
import { authOf } from './request-auth.js';
import { REQUEST_ID_LOG_LABEL, REQUEST_ID_OPTIONS, registerRequestId } from './request-id.js';
import { RouteAccess } from './route-access.js';
import { registerAccessRoutes } from './routes/access-routes.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerAggregateRoutes } from './routes/aggregate-routes.js';
import { registerAlertRoutes } from './routes/alerts-routes.js';
import { registerArrayFieldRoutes } from './routes/array-fields-routes.js';
import { registerArrayRoutes } from './routes/arrays-routes.js';
import { registerArtifactRoutes } from './routes/artifacts-routes.js';
import { registerDashboardRoutes } from './routes/dashboards-routes.js';
import { registerEventRoutes } from './routes/events-routes.js';
import { registerFolderRoutes } from './routes/folders-routes.js';
import { registerHpcRoutes } from './routes/hpc-routes.js';
import type { RouteKit } from './routes/kit.js';
import { registerLiveRoutes } from './routes/live-routes.js';
import { registerMetaRoutes, SERVER_VERSION } from './routes/meta-routes.js';
import { registerMetricRoutes } from './routes/metrics-routes.js';
import { RouteRegistry } from './routes/register.js';
import { registerRetentionRoutes } from './routes/retention-routes.js';
import { registerRunTableRoutes } from './routes/run-table-routes.js';
import { registerRunRoutes } from './routes/runs-routes.js';
import { registerSignInRoutes } from './routes/session-routes.js';
import { registerTelemetryRoutes } from './routes/telemetry-routes.js';
import { registerSecurityHeaders } from './security-headers.js';
import { registerSessionCookie } from './session-cookie.js';
import { registerWebUi } from './web-routes.js';

export { SERVER_VERSION };

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
  /** True once the server is shutting down: `/ready` answers 503 so a load balancer sends nothing new. */
  draining?: () => boolean;
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
  /** Prometheus metrics of this process (`GET /metrics`, admin token); one is made when absent. */
  metrics?: ServerMetrics;
  /** Requests, points and artifact bytes per token and per workspace (`--rate-limit`); none when absent. */
  rateLimits?: RateLimits;
  /** Web sessions, the device grant and single sign-on (`--oidc-*`); defaults when absent. */
  signIn?: SignInConfig;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthContext;
  }
}

/** The check of a route's scope: the token, its scopes and its workspace (none for `none`). */
function authenticator(auth: AuthService, access: RouteAccess, now: () => number) {
  return function authenticate(scope: RouteScope, route?: RouteSpec) {
    return async function checkToken(request: FastifyRequest): Promise<void> {
      if (scope === 'none') return;
      const shared = await access.shareCaller(request, scope, route);
      if (shared) {
        request.auth = shared;
        return;
      }
      const header = request.headers[WORKSPACE_HEADER];
      const result = await auth.authenticate(
        request.headers.authorization,
        scope === 'account' ? undefined : Array.isArray(header) ? header[0] : header,
        now(),
      );
      request.auth = await access.check(result, scope);
    };
  };
}

/** Fastify with the hardening every route shares: headers, parsers, error answers, name checks, idempotency. */
async function createFastify(config: AppConfig): Promise<FastifyInstance> {
  const bodyLimit = config.bodyLimit ?? LIMITS.bodyBytes;
  const app = Fastify({
    bodyLimit,
    logger: config.logLevel && config.logLevel !== 'silent' ? { level: config.logLevel } : false,
    logController: new LogController({
      disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace',
      requestIdLogLabel: REQUEST_ID_LOG_LABEL,
    }),
    routerOptions: { ignoreTrailingSlash: true },
    clientErrorHandler: answerClientError,
    ...REQUEST_ID_OPTIONS,
  });
  registerRequestId(app);
  await registerSecurityHeaders(app);
  addBodyParsers(app);
  app.setErrorHandler(errorHandler(bodyLimit));
  app.addHook('preHandler', refuseControlInNames);
  registerIdempotency(app, { store: config.store });
  app.setNotFoundHandler(function notFound(request, reply) {
    reply.status(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
  return app;
}

/** Builds the HTTP app over a store; it never listens (`main` does). */
export async function createApp(config: AppConfig): Promise<FastifyInstance> {
  const { store } = config;
  const now = config.now ?? nowMicros;
  const app = await createFastify(config);
  await registerSessionCookie(app);
  const auth = new AuthService(store);
  const bus =
    config.bus ??
    new DomainEvents({
      onError: (error, event) =>
        app.log.warn({ err: error, event: event.type }, 'a domain event listener failed'),
    });
  const hub = new LiveHub();
  const disconnectLive = hub.connect(bus);
  const prometheus = config.metrics ?? new ServerMetrics();
  prometheus.instrument(app);
  prometheus.setSources({ liveConnections: () => hub.size, database: () => store.usage?.() ?? null });
  const stopMetrics = prometheus.listen(bus);
  const limiter = new RateLimiter(store.rateLimits, config.rateLimits ?? {}, () => now() / 1e6);
  if (limiter.enabled) registerRateLimits(app, limiter, prometheus);
  app.addHook('onClose', async function disconnectLiveHub() {
    disconnectLive();
    stopMetrics();
  });
  const access = new RouteAccess(store);
  const onAccessChange = () => {
    auth.invalidate();
    access.invalidate();
    hub.accessChanged();
  };
  const admin = new AdminService({ store, now, onAccessChange });
  // A member removed through another server (events come over the PostgreSQL bridge) loses access here at once too.
  const forgetRemoved = bus.subscribe((event) => {
    if (event.type === 'membership.removed') onAccessChange();
  });
  app.addHook('onClose', async () => forgetRemoved());
  const runs = new RunService();
  const clocks = new WriterClocks();
  const registry = new RouteRegistry(authenticator(auth, access, now));
  const ctx = (request: FastifyRequest): ServiceContext => ({ store, auth: authOf(request), bus, now });
  const kit: RouteKit = {
    register: registry.on(app),
    store,
    now,
    ctx,
    runOf: (request) => runs.find(ctx(request), (request.params as { run: string }).run),
    admin,
    artifacts: new ArtifactService({ blobs: config.blobs, quota: config.artifactQuota }),
  };

  registerMetaRoutes(kit, registry, { blobs: config.blobs, draining: config.draining });
  registerAdminRoutes(kit);
  registerAuditLog(app, store, now);
  registerAccessRoutes(kit, new AccessService({ onAccessChange }));
  await registerSignInRoutes(app, kit, registry, {
    config: config.signIn,
    onAccessChange,
  });
  registerRunRoutes(kit, runs);
  const metrics = new MetricService(clocks, { maxScanPoints: config.maxScanPoints });
  registerMetricRoutes(kit, metrics, config);
  registerAggregateRoutes(kit, new AggregateService(metrics));
  registerDashboardRoutes(kit);
  registerEventRoutes(kit, new EventService(clocks));
  registerHpcRoutes(kit);
  registerFolderRoutes(kit);
  registerLiveRoutes({ app, register: kit.register, store, hub, auth, now, recheckMs: config.liveRecheckMs });
  registerRunTableRoutes(kit);
  registerAlertRoutes(kit, new AddressPolicy(config.webhookAllow));
  registerTelemetryRoutes(kit);
  registerMetricsRoute(app, prometheus, authenticator(auth, access, now)('admin'));
  registerRetentionRoutes(kit, {
    bus,
    onRun: (action) => prometheus.retentionRuns.inc({ action }),
  });
  // Artifacts: in a scope of their own, where bodies arrive as streams
  await app.register(async function artifactScope(scope) {
    registerArtifactRoutes(scope, { ...kit, register: registry.on(scope) });
  });
  // Arrays: their uploads too arrive as streams
  await app.register(async function arrayScope(scope) {
    const arrays = new ArrayService({ blobs: config.blobs });
    registerArrayRoutes(scope, { ...kit, register: registry.on(scope) }, arrays);
    registerArrayFieldRoutes({ ...kit, register: registry.on(scope) }, config.blobs);
  });
  await app.register(mlflowPlugin, {
    prefix: MLFLOW_PREFIX,
    ctx,
    runs,
    metrics,
    artifacts: kit.artifacts,
    authenticate: authenticator(auth, access, now),
  });
  registerWebUi(app, config.webRoot);

  await app.ready();
  return app;
}
