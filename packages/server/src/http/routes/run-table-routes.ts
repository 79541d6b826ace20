import { apiRoute } from '@simscope/protocol';
import { RunTableService } from '../../services/run-table-service.js';
import type { RouteKit } from './kit.js';

/** `GET /api/v1/run-table` (and `POST …/search`): runs as columns, in pages of up to 50,000, for tables of many runs. */
export function registerRunTableRoutes({ register, ctx }: RouteKit): void {
  const tables = new RunTableService();
  register(apiRoute('runTable'), async ({ input, request, reply }) =>
    reply.type('application/json; charset=utf-8').send(await tables.tableJson(ctx(request), input.query)),
  );
  register(apiRoute('searchRunTable'), async ({ input, request, reply }) => {
    const { columns, next, metricNames, ...search } = input.body;
    const params = {
      ...search,
      columns: columns && JSON.stringify(columns),
      next: next ?? undefined,
      metricNames: metricNames === undefined ? undefined : String(metricNames),
    };
    return reply.type('application/json; charset=utf-8').send(await tables.tableJson(ctx(request), params));
  });
}
