import type { AlertWebhookPayload } from '@simscope/protocol';
import type { NotificationJob } from '../store/alert-store.js';
import { alertView, transitionView } from './alert-rules.js';

/** A failed delivery; `permanent` ones are not retried (a bad address, a 4xx answer). */
export class DeliveryError extends Error {
  readonly permanent: boolean;

  constructor(message: string, permanent: boolean, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'DeliveryError';
    this.permanent = permanent;
  }
}

/** Delivers one notification of a channel; throws a `DeliveryError` (or any error, taken as transient). */
export interface AlertChannel {
  send(job: NotificationJob): Promise<void>;
  close?(): Promise<void>;
}

/** Where a run can be seen, when the server knows its public address. */
function runUrl(publicUrl: string | null, runId: string): string | null {
  return publicUrl ? `${publicUrl.replace(/\/+$/, '')}/api/v1/runs/${encodeURIComponent(runId)}` : null;
}

/** The subject and plain text of a notification, as email sends them. */
export function notificationText(
  job: NotificationJob,
  publicUrl: string | null,
): { subject: string; text: string } {
  const t = job.transition;
  const state = t.to === 'critical' ? 'CRITICAL' : 'OK';
  const subject = `[Simscope] ${state}: alert '${job.alert.name}' on run '${job.run.name}'`;
  const url = runUrl(publicUrl, job.run.id);
  const lines = [
    `Alert '${job.alert.name}' on run '${job.run.name}' is ${t.to} (was ${t.from}).`,
    '',
    t.message,
    '',
    `When: ${new Date(Math.floor(t.at / 1000)).toISOString()}`,
    `Workspace: ${job.workspace}`,
    `Run: ${job.run.name} (${job.run.id})${url ? ` ${url}` : ''}`,
  ];
  if (job.alert.description) lines.push(`Alert: ${job.alert.description}`);
  if (t.to === 'critical' && job.alert.abortOnCritical) lines.push('The run has been asked to abort.');
  return { subject, text: `${lines.join('\n')}\n` };
}

/** The JSON body of a webhook delivery. */
export function webhookPayload(job: NotificationJob, publicUrl: string | null): AlertWebhookPayload {
  return {
    type: job.transition.to === 'critical' ? 'alert.critical' : 'alert.ok',
    delivery: job.id,
    workspace: job.workspace,
    alert: alertView(job.alert),
    run: { id: job.run.id, name: job.run.name, url: runUrl(publicUrl, job.run.id) },
    transition: transitionView(job.transition),
  };
}
