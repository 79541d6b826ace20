import { parseInput, runTableSearchSchema } from '@simscope/protocol';
import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../services/context.js';
import { RUN_TABLE_PAGE, RunTableService } from '../services/run-table-service.js';
import type { RouteFn } from './live-routes.js';

/** `GET /api/v1/run-table` (and `POST …/search`): runs as columns, in pages of up to 50,000, for tables of many runs. */
export function registerRunTableRoutes(
  route: RouteFn,
  ctx: (request: FastifyRequest) => ServiceContext,
): void {
  const tables = new RunTableService();
  route(
    {
      method: 'GET',
      url: '/run-table',
      summary: 'Runs as columns (newest first), with chosen metadata and last metric values',
      scope: 'read',
      query: {
        filter: 'filter language, as for GET /runs',
        columns: 'JSON array of "metadata.KEY" and "metrics.NAME" columns',
        limit: `rows per page, 1 to ${RUN_TABLE_PAGE} (default 10000)`,
        next: 'cursor from the previous page',
        metricNames: 'true to list the metric names of the workspace too',
      },
    },
    async (request, reply) =>
      reply
        .type('application/json; charset=utf-8')
        .send(await tables.tableJson(ctx(request), request.query as Record<string, string | undefined>)),
  );
  route(
    {
      method: 'POST',
      url: '/run-table/search',
      summary: 'Runs as columns, the query in the body: as GET /run-table, for filters too long for a URL',
      scope: 'read',
      body: runTableSearchSchema,
    },
    async (request, reply) => {
      const { columns, next, metricNames, ...search } = parseInput(runTableSearchSchema, request.body);
      const params = {
        ...search,
        columns: columns && JSON.stringify(columns),
        next: next ?? undefined,
        metricNames: metricNames === undefined ? undefined : String(metricNames),
      };
      return reply.type('application/json; charset=utf-8').send(await tables.tableJson(ctx(request), params));
    },
  );
}
