import { API_PREFIX, ROUTES, SimscopeError } from '@simscope/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RateLimiter } from '../services/rate-limit.js';
import type { ServerMetrics } from './metrics.js';

const INGEST_METRICS = `${API_PREFIX}${ROUTES.ingestMetrics.path}`;
const SAVE_ARTIFACT = `${API_PREFIX}${ROUTES.saveArtifact.path}`;

/** Points of a decoded metric batch: JSON arrays, or msgpack float64 columns (8 bytes a point). */
function pointsOf(body: unknown): number {
  const series = (body as { series?: unknown } | null)?.series;
  if (!Array.isArray(series)) return 0;
  let points = 0;
  for (const s of series) {
    const values = (s as { values?: unknown } | null)?.values;
    if (Array.isArray(values)) points += values.length;
    else if (ArrayBuffer.isView(values)) points += Math.floor(values.byteLength / 8);
  }
  return points;
}

const MLFLOW_METRICS = /^\/mlflow\/(?:ajax-)?api\/2\.0\/mlflow\/runs\/log-(batch|metric)$/;

/** Points of a metric write through the MLflow API (`log-batch`, `log-metric`), or null for any other route. */
function mlflowPointsOf(route: string | undefined, body: unknown): number | null {
  const match = route ? MLFLOW_METRICS.exec(route) : null;
  if (!match) return null;
  if (match[1] === 'metric') return 1;
  const metrics = (body as { metrics?: unknown } | null)?.metrics;
  return Array.isArray(metrics) ? metrics.length : 0;
}

/** Bytes an artifact upload announces (`Content-Length`, else the `size` query); 0 when it does not say. */
function artifactBytesOf(request: FastifyRequest): number {
  const length = Number(request.headers['content-length'] ?? (request.query as { size?: string }).size);
  return Number.isFinite(length) && length > 0 ? length : 0;
}

/**
 * Answers 429 `rate_limited` with `Retry-After` once a token or its workspace passes a limit. Runs after the token
 * check and body parsing (the points of a batch are known then) and before the handler, so a refused batch stores
 * nothing; requests without a token (version, health, telemetry with its own key) are not counted.
 */
export function registerRateLimits(
  app: FastifyInstance,
  limiter: RateLimiter,
  metrics?: ServerMetrics,
): void {
  app.addHook('preHandler', async function limitRate(request: FastifyRequest, reply) {
    const auth = request.auth;
    if (!auth) return;
    const route = request.routeOptions.url;
    const points = route === INGEST_METRICS ? pointsOf(request.body) : mlflowPointsOf(route, request.body);
    const refusal = await limiter.admit({
      tokenId: auth.token.id,
      workspaceId: auth.workspace?.id ?? null,
      ...(points === null ? {} : { points }),
      ...(route === SAVE_ARTIFACT ? { artifactBytes: artifactBytesOf(request) } : {}),
    });
    if (refusal === null) return;
    metrics?.rateLimited.inc({ limit: refusal.limit });
    reply.header('retry-after', String(refusal.retryAfter));
    throw new SimscopeError(
      'rate_limited',
      `rate limit ${refusal.limit} reached; retry in ${refusal.retryAfter} s`,
      { details: { limit: refusal.limit, retryAfter: refusal.retryAfter } },
    );
  });
}
