import { apiRoute } from '@simscope/protocol';
import type { AddressPolicy } from '../../services/address-policy.js';
import { AlertService } from '../../services/alert-service.js';
import type { RouteKit } from './kit.js';

/** Alert definitions under `/alerts`, attachments and states under `/runs/:run/alerts`. */
export function registerAlertRoutes({ register, ctx, runOf }: RouteKit, webhookPolicy?: AddressPolicy): void {
  const alerts = new AlertService({ webhookPolicy });
  register(apiRoute('createAlert'), async ({ input, request, reply }) => {
    const { alert, created } = await alerts.create(ctx(request), input.body);
    return reply.status(created ? 201 : 200).send(alert);
  });
  register(apiRoute('listAlerts'), async ({ input, request }) => alerts.list(ctx(request), input.query));
  register(apiRoute('getAlert'), async ({ input, request }) => alerts.get(ctx(request), input.params.alert));
  register(apiRoute('updateAlert'), async ({ input, request }) =>
    alerts.update(ctx(request), input.params.alert, input.body),
  );
  register(apiRoute('listAlertRuns'), async ({ input, request }) =>
    alerts.listRuns(ctx(request), input.params.alert, input.query),
  );
  register(apiRoute('deleteAlert'), async ({ input, request, reply }) => {
    await alerts.delete(ctx(request), input.params.alert);
    return reply.status(204).send();
  });
  register(apiRoute('attachAlert'), async ({ input, request, reply }) => {
    const { view, attached } = await alerts.attach(ctx(request), await runOf(request), input.body);
    return reply.status(attached ? 201 : 200).send(view);
  });
  register(apiRoute('listRunAlerts'), async ({ input, request }) =>
    alerts.listForRun(ctx(request), await runOf(request), input.query),
  );
  register(apiRoute('getRunAlert'), async ({ input, request }) =>
    alerts.getForRun(ctx(request), await runOf(request), input.params.alert),
  );
  register(apiRoute('detachAlert'), async ({ input, request, reply }) => {
    await alerts.detach(ctx(request), await runOf(request), input.params.alert);
    return reply.status(204).send();
  });
  register(apiRoute('alertHistory'), async ({ input, request }) =>
    alerts.history(ctx(request), await runOf(request), input.params.alert, input.query),
  );
  register(apiRoute('setAlertState'), async ({ input, request }) =>
    alerts.setState(ctx(request), await runOf(request), input.params.alert, input.body),
  );
}
