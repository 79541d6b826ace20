import { apiRoute } from '@simscope/protocol';
import type { FastifyRequest } from 'fastify';
import { type TelemetryCaller, TelemetryService } from '../../services/telemetry-service.js';
import type { RouteKit } from './kit.js';

/**
 * Registers the telemetry routes: keys under `/admin/telemetry/keys`, ingest at `POST /telemetry/{service path}`
 * (a telemetry key, checked before the body is read), and the reads under `/telemetry/…`.
 */
export function registerTelemetryRoutes({ register, ctx, store, now }: RouteKit): void {
  const telemetry = new TelemetryService({ store, now });
  const callers = new WeakMap<FastifyRequest, TelemetryCaller>();

  register(apiRoute('createTelemetryKey'), async ({ input, request, reply }) =>
    reply.status(201).send(await telemetry.createKey(request.auth?.workspace ?? null, input.body)),
  );
  register(apiRoute('listTelemetryKeys'), async ({ input }) => ({
    items: await telemetry.listKeys(input.query.service),
  }));
  register(apiRoute('revokeTelemetryKey'), async ({ input, reply }) => {
    await telemetry.revokeKey(input.params.key);
    return reply.status(204).send();
  });
  register(
    apiRoute('ingestTelemetry'),
    async ({ input, request }) => {
      const caller = callers.get(request);
      if (!caller) throw new Error('ingestTelemetry: the telemetry key was not checked');
      return telemetry.ingest(caller, input.body);
    },
    {
      onRequest: async function checkTelemetryKey(request) {
        const path = (request.params as Record<string, string>)['*'] ?? '';
        callers.set(request, await telemetry.authenticate(request.headers.authorization, path));
      },
    },
  );
  register(apiRoute('telemetryServices'), async ({ request }) => ({
    items: await telemetry.services(ctx(request)),
  }));
  register(apiRoute('telemetryRecords'), async ({ input, request }) =>
    telemetry.records(ctx(request), input.query),
  );
  register(apiRoute('telemetryUsage'), async ({ input, request }) =>
    telemetry.usage(ctx(request), input.query),
  );
}
