import type { DashboardView, dashboardCreateSchema, dashboardUpdateSchema } from '@simscope/protocol';
import type { z } from 'zod';
import type { DashboardRecord } from '../store/store.js';
import { newId } from './auth-service.js';
import type { ServiceContext } from './context.js';
import { ConflictError, NotFoundError } from './errors.js';

/** Dashboards one workspace lists at most. */
const LIST_LIMIT = 1000;

function view(d: DashboardRecord): DashboardView {
  return {
    id: d.id,
    name: d.name,
    layout: d.layout as DashboardView['layout'],
    createdBy: d.createdBy,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

const taken = (name: string) =>
  new ConflictError(`body.name: this workspace has a dashboard named '${name}' already`);

/** Saved compare-page layouts of the caller's workspace. */
export class DashboardService {
  async create(ctx: ServiceContext, body: z.output<typeof dashboardCreateSchema>): Promise<DashboardView> {
    const now = ctx.now();
    const record: DashboardRecord = {
      id: newId(),
      workspaceId: ctx.auth.workspace.id,
      name: body.name,
      layout: body.layout,
      createdBy: ctx.auth.user.name,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await ctx.store.dashboards.createDashboard(record))) throw taken(body.name);
    return view(record);
  }

  async list(ctx: ServiceContext): Promise<{ items: DashboardView[]; next: null }> {
    const rows = await ctx.store.dashboards.listDashboards(ctx.auth.workspace.id, LIST_LIMIT);
    return { items: rows.map(view), next: null };
  }

  async get(ctx: ServiceContext, idOrName: string): Promise<DashboardView> {
    return view(await this.#find(ctx, idOrName));
  }

  async update(
    ctx: ServiceContext,
    idOrName: string,
    body: z.output<typeof dashboardUpdateSchema>,
  ): Promise<DashboardView> {
    const found = await this.#find(ctx, idOrName);
    const next: DashboardRecord = {
      ...found,
      name: body.name ?? found.name,
      layout: body.layout ?? found.layout,
      updatedAt: ctx.now(),
    };
    if (!(await ctx.store.dashboards.updateDashboard(next))) throw taken(next.name);
    return view(next);
  }

  async delete(ctx: ServiceContext, idOrName: string): Promise<{ deleted: true }> {
    const found = await this.#find(ctx, idOrName);
    await ctx.store.dashboards.deleteDashboard(found.workspaceId, found.id);
    return { deleted: true };
  }

  async #find(ctx: ServiceContext, idOrName: string): Promise<DashboardRecord> {
    const found = await ctx.store.dashboards.getDashboard(ctx.auth.workspace.id, idOrName);
    if (!found) throw new NotFoundError('dashboard', idOrName);
    return found;
  }
}
