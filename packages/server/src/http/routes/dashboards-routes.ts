import { apiRoute } from '@simscope/protocol';
import { DashboardService } from '../../services/dashboard-service.js';
import type { RouteKit } from './kit.js';

/** Dashboards: saved compare-page layouts of a workspace. */
export function registerDashboardRoutes({ register, ctx }: RouteKit): void {
  const dashboards = new DashboardService();
  register(apiRoute('createDashboard'), async ({ input, request, reply }) =>
    reply.status(201).send(await dashboards.create(ctx(request), input.body)),
  );
  register(apiRoute('listDashboards'), async ({ request }) => dashboards.list(ctx(request)));
  register(apiRoute('getDashboard'), async ({ input, request }) =>
    dashboards.get(ctx(request), input.params.dashboard),
  );
  register(apiRoute('updateDashboard'), async ({ input, request }) =>
    dashboards.update(ctx(request), input.params.dashboard, input.body),
  );
  register(apiRoute('deleteDashboard'), async ({ input, request }) =>
    dashboards.delete(ctx(request), input.params.dashboard),
  );
}
