import { telemetryKeyCreateSchema } from '@simscope/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../services/context.js';
import { type TelemetryCaller, TelemetryService } from '../services/telemetry-service.js';
import type { Store } from '../store/store.js';
import type { RouteDoc } from './openapi.js';

type Hook = (request: FastifyRequest) => Promise<void>;

/** What the telemetry routes borrow from `createApp`. */
export interface TelemetryRouteKit {
  route(
    doc: RouteDoc,
    handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
    options?: { onRequest?: Hook },
  ): void;
  ctx(request: FastifyRequest): ServiceContext;
  store: Store;
  now(): number;
}

type Query = Record<string, string | undefined>;

/**
 * Registers the telemetry routes: keys under `/admin/telemetry/keys`, ingest at `POST /telemetry/{service path}`
 * (a telemetry key, checked before the body is read), and the reads under `/telemetry/…`.
 */
export function registerTelemetryRoutes({ route, ctx, store, now }: TelemetryRouteKit): void {
  const telemetry = new TelemetryService({ store, now });
  const callers = new WeakMap<FastifyRequest, TelemetryCaller>();
  const query = (r: FastifyRequest) => r.query as Query;

  route(
    {
      method: 'POST',
      url: '/admin/telemetry/keys',
      summary:
        'Create an ingest-only telemetry key for a service (created with it) in a workspace; the secret is shown once',
      scope: 'admin',
      body: telemetryKeyCreateSchema,
    },
    async (r, reply) => reply.status(201).send(await telemetry.createKey(r.auth?.workspace ?? null, r.body)),
  );
  route(
    {
      method: 'GET',
      url: '/admin/telemetry/keys',
      summary: 'List telemetry keys (never their secrets)',
      scope: 'admin',
      query: { service: 'only keys of this service path' },
    },
    async (r) => ({ items: await telemetry.listKeys(query(r).service) }),
  );
  route(
    {
      method: 'DELETE',
      url: '/admin/telemetry/keys/:key',
      summary: 'Revoke a telemetry key',
      scope: 'admin',
    },
    async (r, reply) => {
      await telemetry.revokeKey((r.params as Record<string, string>).key!);
      return reply.status(204).send();
    },
  );

  route(
    {
      method: 'POST',
      url: '/telemetry/*',
      summary:
        'Ingest a batch of telemetry records into the service at this path (e.g. /telemetry/intake/catalog); needs that service’s telemetry key, not a token',
      scope: 'none',
      bodyDescription:
        '{ writer, seq, records: [{ function, args?, kwargs?, session_id?, timestamp?, …extra fields }] }',
    },
    async (r) => telemetry.ingest(callers.get(r)!, r.body),
    {
      onRequest: async function checkTelemetryKey(request) {
        const path = (request.params as Record<string, string>)['*'] ?? '';
        callers.set(request, await telemetry.authenticate(request.headers.authorization, path));
      },
    },
  );
  route(
    {
      method: 'GET',
      url: '/telemetry/services',
      summary: 'Telemetry services of the workspace with their record counts and first and last record times',
      scope: 'read',
    },
    async (r) => ({ items: await telemetry.services(ctx(r)) }),
  );
  route(
    {
      method: 'GET',
      url: '/telemetry/records',
      summary: 'List the records of a telemetry service',
      scope: 'read',
      query: {
        service: 'service path, e.g. intake/catalog (required)',
        function: 'comma-separated function names',
        session: 'only this session id',
        from: 'start time (µs or ISO, inclusive)',
        to: 'end time (exclusive)',
        order: 'asc (default) or desc',
        limit: 'page size (default 100)',
        next: 'cursor',
      },
    },
    async (r) => telemetry.records(ctx(r), query(r)),
  );
  route(
    {
      method: 'GET',
      url: '/telemetry/usage',
      summary: 'Calls per function of a telemetry service in time buckets (columnar, for a chart)',
      scope: 'read',
      query: {
        service: 'service path (required)',
        function: 'comma-separated function names (default: all)',
        from: 'start (µs or ISO; default: to minus 7 days), aligned down to a bucket edge',
        to: 'end (default: now), aligned up to a bucket edge',
        bucket: 'bucket width: seconds or 5m, 1h, 1d (default: a width giving at most 200 buckets)',
      },
    },
    async (r) => telemetry.usage(ctx(r), query(r)),
  );
}
