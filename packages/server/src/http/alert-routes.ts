import { alertCreateSchema, alertStateSchema } from '@simscope/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AddressPolicy } from '../services/address-policy.js';
import { AlertService } from '../services/alert-service.js';
import type { ServiceContext } from '../services/context.js';
import type { RunRecord } from '../store/store.js';
import type { RouteDoc } from './openapi.js';

/** What the alert routes borrow from `createApp`. */
export interface AlertRouteKit {
  route(doc: RouteDoc, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void;
  ctx(request: FastifyRequest): ServiceContext;
  runOf(request: FastifyRequest): Promise<RunRecord>;
  /** Which hosts a webhook may name (`--webhook-allow`). */
  webhookPolicy?: AddressPolicy;
}

type Params = Record<string, string>;
type Query = Record<string, string | undefined>;

/** Registers the alert routes: definitions under `/alerts`, attachments and states under `/runs/:run/alerts`. */
export function registerAlertRoutes({ route, ctx, runOf, webhookPolicy }: AlertRouteKit): void {
  const alerts = new AlertService({ webhookPolicy });
  const params = (r: FastifyRequest) => r.params as Params;
  const query = (r: FastifyRequest) => r.query as Query;

  route(
    {
      method: 'POST',
      url: '/alerts',
      summary: 'Create an alert definition, or get the identical one of that name (409 if it differs)',
      scope: 'write',
      body: alertCreateSchema,
    },
    async (r, reply) => {
      const { alert, created } = await alerts.create(ctx(r), r.body);
      return reply.status(created ? 201 : 200).send(alert);
    },
  );
  route(
    {
      method: 'GET',
      url: '/alerts',
      summary: 'List alert definitions with how many runs each is attached to and how many are critical',
      scope: 'read',
      query: { critical: 'true: only alerts critical on some run', limit: 'page size', next: 'cursor' },
    },
    async (r) => alerts.list(ctx(r), query(r)),
  );
  route(
    { method: 'GET', url: '/alerts/:alert', summary: 'Get an alert definition by id or name', scope: 'read' },
    async (r) => alerts.get(ctx(r), params(r).alert!),
  );
  route(
    {
      method: 'GET',
      url: '/alerts/:alert/runs',
      summary: 'The runs an alert is attached to, with its state on each, by run name',
      scope: 'read',
      query: {
        critical: 'true: only runs where it is critical',
        limit: 'page size (default 1000)',
        next: 'cursor',
      },
    },
    async (r) => alerts.listRuns(ctx(r), params(r).alert!, query(r)),
  );
  route(
    {
      method: 'DELETE',
      url: '/alerts/:alert',
      summary: 'Delete an alert definition, its states and history on every run',
      scope: 'write',
    },
    async (r, reply) => {
      await alerts.delete(ctx(r), params(r).alert!);
      return reply.status(204).send();
    },
  );
  route(
    {
      method: 'POST',
      url: '/runs/:run/alerts',
      summary: 'Attach an alert to a run: { alert } names one, or a definition is created or reused',
      scope: 'write',
      bodyDescription: '{ alert: ID_OR_NAME } or an alert definition (as POST /alerts)',
    },
    async (r, reply) => {
      const { view, attached } = await alerts.attach(ctx(r), await runOf(r), r.body);
      return reply.status(attached ? 201 : 200).send(view);
    },
  );
  route(
    {
      method: 'GET',
      url: '/runs/:run/alerts',
      summary: "A run's alerts with their states",
      scope: 'read',
      query: { critical: 'true: only critical ones', limit: 'page size (default 1000)', next: 'cursor' },
    },
    async (r) => alerts.listForRun(ctx(r), await runOf(r), query(r)),
  );
  route(
    {
      method: 'GET',
      url: '/runs/:run/alerts/:alert',
      summary: "One of a run's alerts with its state",
      scope: 'read',
    },
    async (r) => alerts.getForRun(ctx(r), await runOf(r), params(r).alert!),
  );
  route(
    {
      method: 'DELETE',
      url: '/runs/:run/alerts/:alert',
      summary: 'Detach an alert from a run (its history there goes too)',
      scope: 'write',
    },
    async (r, reply) => {
      await alerts.detach(ctx(r), await runOf(r), params(r).alert!);
      return reply.status(204).send();
    },
  );
  route(
    {
      method: 'GET',
      url: '/runs/:run/alerts/:alert/history',
      summary: "Transitions of one of a run's alerts, oldest first",
      scope: 'read',
      query: { limit: 'page size', next: 'cursor' },
    },
    async (r) => alerts.history(ctx(r), await runOf(r), params(r).alert!, query(r)),
  );
  route(
    {
      method: 'PUT',
      url: '/runs/:run/alerts/:alert/state',
      summary: "Set a user alert's state on a run (attaching it if needed)",
      scope: 'write',
      body: alertStateSchema,
    },
    async (r) => alerts.setState(ctx(r), await runOf(r), params(r).alert!, r.body),
  );
}
