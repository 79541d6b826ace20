import { apiRoute } from '@simscope/protocol';
import type { EventService } from '../../services/event-service.js';
import type { RouteKit } from './kit.js';

/** A run's events: ingest and list. */
export function registerEventRoutes({ register, ctx, runOf }: RouteKit, events: EventService): void {
  register(apiRoute('ingestEvents'), async ({ input, request }) =>
    events.ingest(ctx(request), await runOf(request), input.body),
  );
  register(apiRoute('listEvents'), async ({ input, request }) =>
    events.list(ctx(request), await runOf(request), input.query),
  );
}
