import {
  type AlertDefinition,
  type AlertListItem,
  type AlertTransitionView,
  type AlertView,
  alertCreateSchema,
  type alertStateSchema,
  type alertUpdateSchema,
  type RouteInput,
  type RunAlertView,
  SimscopeError,
} from '@simscope/protocol';
import type { z } from 'zod';
import type { AlertRecord } from '../store/alert-store.js';
import type { RunRecord } from '../store/store.js';
import { AddressPolicy } from './address-policy.js';
import {
  abortReasonFor,
  alertView,
  channelsFor,
  definitionDifferences,
  normaliseAlert,
  runAlertView,
  transitionView,
} from './alert-rules.js';
import { newId } from './auth-service.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, pageOf } from './cursor.js';
import { ConflictError, InvalidTransitionError, NotFoundError } from './errors.js';

/** `{ alert }` naming an existing alert, or a definition, as the route's body schema gives it. */
export type AlertAttachBody = RouteInput<'attachAlert'>['body'];

const DEFINITION_KEYS = Object.keys(normaliseAlert({ name: 'keys' })) as (keyof AlertDefinition)[];

/** A page of a listing, as the route's query schema gives it. */
export interface PageQuery {
  limit: number;
  next?: string;
}

/** A page of alerts, critical ones alone when asked. */
export interface AlertListQuery extends PageQuery {
  critical: boolean;
}

export interface AlertServiceConfig {
  /** Which hosts a webhook may name; by default no loopback, private or link-local one. */
  webhookPolicy?: AddressPolicy;
}

/** Alert definitions (created once, reused when identical), their attachment to runs, and user alert states. */
export class AlertService {
  readonly #webhookPolicy: AddressPolicy;

  constructor(config: AlertServiceConfig = {}) {
    this.#webhookPolicy = config.webhookPolicy ?? new AddressPolicy();
  }

  /** Creates the definition, or returns the identical one of the same name; `conflict` if that one differs. */
  async define(
    ctx: ServiceContext,
    body: z.output<typeof alertCreateSchema>,
  ): Promise<{ alert: AlertRecord; created: boolean }> {
    const input = body;
    if (input.webhook !== undefined) this.#webhookPolicy.checkUrl(input.webhook, 'body.webhook');
    const definition = normaliseAlert(input);
    const workspaceId = ctx.auth.workspace.id;
    for (let attempt = 0; ; attempt++) {
      const existing = await ctx.store.alerts.getAlert(workspaceId, input.name);
      if (existing && existing.name === input.name) {
        const differences = definitionDifferences(existing, definition);
        if (differences.length > 0) {
          throw new ConflictError(
            `body.${differences[0]}: an alert named '${input.name}' already exists with another ${differences.join(', ')}; change it with run.updateAlert('${input.name}', changes) or PATCH /alerts/${encodeURIComponent(input.name)}, or use another name`,
            { details: { field: 'name', differences } },
          );
        }
        return { alert: existing, created: false };
      }
      try {
        const alert = await ctx.store.alerts.createAlert({
          ...definition,
          id: newId(),
          workspaceId,
          name: input.name,
          createdAt: ctx.now(),
        });
        return { alert, created: true };
      } catch (error) {
        // Another request created it meanwhile: compare with that one.
        if (error instanceof SimscopeError && error.code === 'conflict' && attempt < 2) continue;
        throw error;
      }
    }
  }

  async find(ctx: ServiceContext, idOrName: string): Promise<AlertRecord> {
    const alert = await ctx.store.alerts.getAlert(ctx.auth.workspace.id, idOrName);
    if (!alert) throw new NotFoundError('alert', idOrName);
    return alert;
  }

  async create(
    ctx: ServiceContext,
    body: z.output<typeof alertCreateSchema>,
  ): Promise<{ alert: AlertView; created: boolean }> {
    const { alert, created } = await this.define(ctx, body);
    return { alert: alertView(alert), created };
  }

  /**
   * Changes fields of a definition (`null` removes one) and checks the result as a new definition would be; the
   * runs it is attached to are evaluated by the new one from their next slot.
   */
  async update(
    ctx: ServiceContext,
    idOrName: string,
    changes: z.output<typeof alertUpdateSchema>,
  ): Promise<AlertView> {
    const alert = await this.find(ctx, idOrName);
    const merged: Record<string, unknown> = { name: alert.name };
    for (const key of DEFINITION_KEYS) {
      const stored = alert[key];
      if (stored !== null && !(Array.isArray(stored) && stored.length === 0)) merged[key] = stored;
    }
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete merged[key];
      else if (value !== undefined) merged[key] = value;
    }
    const checked = alertCreateSchema.safeParse(merged);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const path = issue?.path ?? [];
      throw new SimscopeError(
        'invalid_field',
        `body.${path.join('.')}: ${issue?.message ?? 'is not valid'}`,
        {
          details: { field: String(path[0] ?? '') },
        },
      );
    }
    if (checked.data.webhook !== undefined)
      this.#webhookPolicy.checkUrl(checked.data.webhook, 'body.webhook');
    const definition = normaliseAlert(checked.data);
    const next = definition.frequency === null ? null : ctx.now() + Math.round(definition.frequency * 1e6);
    await ctx.store.alerts.updateAlert(alert.pk, definition, next);
    const updated = await ctx.store.alerts.getAlert(ctx.auth.workspace.id, alert.id);
    if (!updated) throw new NotFoundError('alert', alert.name);
    return alertView(updated);
  }

  async get(ctx: ServiceContext, idOrName: string): Promise<AlertView> {
    return alertView(await this.find(ctx, idOrName));
  }

  async list(
    ctx: ServiceContext,
    query: AlertListQuery,
  ): Promise<{ items: AlertListItem[]; next: string | null }> {
    const limit = query.limit;
    let after: string | null = null;
    if (query.next) {
      [after] = decodeCursor(query.next, ['string']);
    }
    const rows = await ctx.store.alerts.listAlerts(ctx.auth.workspace.id, {
      after,
      limit: limit + 1,
      criticalOnly: query.critical,
    });
    return pageOf(
      rows,
      limit,
      (r) => ({ ...alertView(r), runs: r.runs, critical: r.critical }),
      (last) => [last.name],
    );
  }

  async delete(ctx: ServiceContext, idOrName: string): Promise<void> {
    const alert = await this.find(ctx, idOrName);
    await ctx.store.alerts.deleteAlert(ctx.auth.workspace.id, alert.pk);
  }

  /**
   * Attaches an alert to a run: `{ alert }` names an existing definition, anything else is a definition that is
   * created or reused. Attaching twice is harmless.
   */
  async attach(
    ctx: ServiceContext,
    run: RunRecord,
    body: AlertAttachBody,
  ): Promise<{ view: RunAlertView; attached: boolean }> {
    const alert = 'alert' in body ? await this.find(ctx, body.alert) : (await this.define(ctx, body)).alert;
    if (!alert.enabled) {
      throw new ConflictError(
        `alert '${alert.name}' is disabled: ${alert.error}; delete it and define it again`,
        { details: { field: 'alert' } },
      );
    }
    const now = ctx.now();
    const next = alert.frequency === null ? null : now + Math.round(alert.frequency * 1e6);
    const attached = await ctx.store.alerts.attachAlert(run.pk, alert.pk, now, next);
    const record = await ctx.store.alerts.getRunAlert(run.pk, alert.pk);
    if (!record) throw new NotFoundError('alert', alert.name, `is not attached to run '${run.name}'`);
    return { view: runAlertView(record), attached };
  }

  async detach(ctx: ServiceContext, run: RunRecord, idOrName: string): Promise<void> {
    const alert = await this.find(ctx, idOrName);
    if (!(await ctx.store.alerts.detachAlert(run.pk, alert.pk))) {
      throw new NotFoundError('alert', alert.name, `is not attached to run '${run.name}'`);
    }
  }

  async listForRun(
    ctx: ServiceContext,
    run: RunRecord,
    query: AlertListQuery,
  ): Promise<{ items: RunAlertView[]; next: string | null }> {
    const limit = query.limit;
    let after: string | null = null;
    if (query.next) {
      [after] = decodeCursor(query.next, ['string']);
    }
    const rows = await ctx.store.alerts.listRunAlerts(run.pk, {
      criticalOnly: query.critical,
      after,
      limit: limit + 1,
    });
    return pageOf(rows, limit, runAlertView, (last) => [last.alert.name]);
  }

  /** The runs an alert is attached to, with the state of each, by run name. */
  async listRuns(
    ctx: ServiceContext,
    idOrName: string,
    query: AlertListQuery,
  ): Promise<{ items: RunAlertView[]; next: string | null }> {
    const alert = await this.find(ctx, idOrName);
    const limit = query.limit;
    let after: string | null = null;
    if (query.next) {
      [after] = decodeCursor(query.next, ['string']);
    }
    const rows = await ctx.store.alerts.listAlertRuns(alert.pk, {
      criticalOnly: query.critical,
      after,
      limit: limit + 1,
    });
    return pageOf(rows, limit, runAlertView, (last) => [last.runName]);
  }

  async getForRun(ctx: ServiceContext, run: RunRecord, idOrName: string): Promise<RunAlertView> {
    const alert = await this.find(ctx, idOrName);
    const record = await ctx.store.alerts.getRunAlert(run.pk, alert.pk);
    if (!record) throw new NotFoundError('alert', alert.name, `is not attached to run '${run.name}'`);
    return runAlertView(record);
  }

  async history(
    ctx: ServiceContext,
    run: RunRecord,
    idOrName: string,
    query: PageQuery,
  ): Promise<{ items: AlertTransitionView[]; next: string | null }> {
    const alert = await this.find(ctx, idOrName);
    const limit = query.limit;
    let after: number | null = null;
    if (query.next) {
      [after] = decodeCursor(query.next, ['integer']);
    }
    const rows = await ctx.store.alerts.listTransitions(run.pk, alert.pk, { after, limit: limit + 1 });
    return pageOf(rows, limit, transitionView, (last) => [last.pk]);
  }

  /**
   * Sets the state of a user alert on a run (attaching it first if needed); a change is recorded and notified
   * like an evaluated one. Returns the run's alert and whether the state changed.
   */
  async setState(
    ctx: ServiceContext,
    run: RunRecord,
    idOrName: string,
    body: z.output<typeof alertStateSchema>,
  ): Promise<RunAlertView & { changed: boolean }> {
    const input = body;
    const alert = await this.find(ctx, idOrName);
    if (alert.source !== 'user') {
      throw new InvalidTransitionError(
        `alert '${alert.name}' watches ${alert.source}; only a user alert's state is set by hand`,
        { details: { field: 'alert', source: alert.source } },
      );
    }
    const now = ctx.now();
    await ctx.store.alerts.attachAlert(run.pk, alert.pk, now, null);
    const message = input.message ?? `set ${input.state} by the run`;
    const change = await ctx.store.alerts.setState(run.pk, alert.pk, {
      to: input.state,
      at: now,
      value: null,
      message,
      notify: channelsFor(alert, input.state),
      abortReason: abortReasonFor(alert, input.state, message),
    });
    const record = await ctx.store.alerts.getRunAlert(run.pk, alert.pk);
    if (!record) throw new NotFoundError('alert', alert.name, `is not attached to run '${run.name}'`);
    return { ...runAlertView(record), changed: change !== null };
  }
}
