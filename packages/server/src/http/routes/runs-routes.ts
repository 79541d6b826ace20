import { apiRoute, parseInput } from '@simscope/protocol';
import type { RunService } from '../../services/run-service.js';
import type { RouteKit } from './kit.js';

/** Runs: create, list (also by `POST /runs/search`), read, change, delete, heartbeat and abort. */
export function registerRunRoutes({ register, ctx, artifacts, store }: RouteKit, runs: RunService): void {
  const listRuns = apiRoute('listRuns');
  register(apiRoute('createRun'), async ({ input, request, reply }) =>
    reply.status(201).send(await runs.create(ctx(request), input.body)),
  );
  register(listRuns, async ({ input, request }) => runs.list(ctx(request), input.query));
  register(apiRoute('searchRuns'), async ({ input, request }) => {
    const { filter, sort, limit, next } = input.body;
    // The body's fields are read as the query of GET /runs, so both refuse the same values alike.
    const query = parseInput(
      listRuns.querySchema,
      { filter, sort, limit: limit === undefined ? undefined : String(limit), next: next ?? undefined },
      'query',
    );
    return runs.list(ctx(request), query);
  });
  register(apiRoute('getRun'), async ({ input, request }) => runs.get(ctx(request), input.params.run));
  register(apiRoute('updateRun'), async ({ input, request }) =>
    runs.update(ctx(request), input.params.run, input.body),
  );
  register(apiRoute('deleteRun'), async ({ input, request, reply }) => {
    await runs.delete(ctx(request), input.params.run);
    await artifacts.collect(store);
    return reply.status(204).send();
  });
  register(apiRoute('heartbeat'), async ({ input, request }) =>
    runs.heartbeat(ctx(request), input.params.run),
  );
  register(apiRoute('requestAbort'), async ({ input, request }) =>
    runs.requestAbort(ctx(request), input.params.run, input.body),
  );
  register(apiRoute('readAbort'), async ({ input, request }) =>
    runs.readAbort(ctx(request), input.params.run),
  );
}
