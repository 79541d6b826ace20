import { apiRoute } from '@simscope/protocol';
import { applyRetention, type RetentionDeps, RetentionService } from '../../services/retention.js';
import type { RouteKit } from './kit.js';

/** Retention rules of a workspace under `/admin`, and a pass of all of them on demand. */
export function registerRetentionRoutes(
  { register, store, now }: RouteKit,
  deps: Omit<RetentionDeps, 'store' | 'now'>,
): void {
  const rules = new RetentionService(store, now);
  register(apiRoute('listRetentionRules'), async ({ input }) => ({
    items: await rules.list(input.params.workspace),
  }));
  register(apiRoute('createRetentionRule'), async ({ input, reply }) =>
    reply.status(201).send(await rules.create(input.params.workspace, input.body)),
  );
  register(apiRoute('deleteRetentionRule'), async ({ input, reply }) => {
    await rules.delete(input.params.workspace, input.params.rule);
    return reply.status(204).send();
  });
  register(apiRoute('applyRetention'), async () => applyRetention({ store, now, ...deps }));
}
