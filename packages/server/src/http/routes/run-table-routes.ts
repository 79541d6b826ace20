import { apiRoute, parseInput } from '@simscope/protocol';
import { RunTableService } from '../../services/run-table-service.js';
import type { RouteKit } from './kit.js';

/** `GET /api/v1/run-table` (and `POST …/search`): runs as columns, in pages of up to 50,000, for tables of many runs. */
export function registerRunTableRoutes({ register, ctx }: RouteKit): void {
  const tables = new RunTableService();
  const runTable = apiRoute('runTable');
  register(runTable, async ({ input, request, reply }) =>
    reply.type('application/json; charset=utf-8').send(await tables.tableJson(ctx(request), input.query)),
  );
  register(apiRoute('searchRunTable'), async ({ input, request, reply }) => {
    const { filter, columns, limit, next, metricNames, folderCounts } = input.body;
    // The body's fields are read as the query of GET /run-table, so both refuse the same values alike.
    const query = parseInput(
      runTable.querySchema,
      {
        filter,
        columns: columns && JSON.stringify(columns),
        limit: limit === undefined ? undefined : String(limit),
        next: next ?? undefined,
        metricNames: metricNames === undefined ? undefined : String(metricNames),
        folderCounts: folderCounts === undefined ? undefined : String(folderCounts),
      },
      'query',
    );
    return reply.type('application/json; charset=utf-8').send(await tables.tableJson(ctx(request), query));
  });
}
