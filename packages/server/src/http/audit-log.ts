import { API_PREFIX, IDEMPOTENT_REPLAY_HEADER, ROUTES, type RouteName } from '@simscope/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';

/** What an audited route did: the action, the kind of thing, and the path parameter that names it (else the answer's id). */
interface Audited {
  action: string;
  target: string;
  param?: string;
}

const audit = (action: string, param?: string): Audited => ({
  action,
  target: action.slice(0, action.indexOf('.')),
  param,
});

/** The routes whose successful calls the audit log keeps: changes of users, members, tokens, workspaces, alerts, runs. */
const AUDITED: Partial<Record<RouteName, Audited>> = {
  createUser: audit('user.create'),
  deleteUser: audit('user.delete', 'user'),
  createWorkspace: audit('workspace.create'),
  deleteWorkspace: audit('workspace.delete', 'workspace'),
  addMember: audit('membership.create'),
  removeMember: audit('membership.delete', 'user'),
  setMemberRole: audit('membership.change', 'user'),
  removeWorkspaceMember: audit('membership.delete', 'user'),
  acceptInvite: audit('membership.create'),
  createInvite: audit('invite.create'),
  revokeInvite: audit('invite.delete', 'invite'),
  createToken: audit('token.create'),
  revokeToken: audit('token.revoke', 'token'),
  revokeOwnToken: audit('token.revoke', 'token'),
  setUserPassword: audit('user.password', 'user'),
  changeOwnPassword: audit('user.password'),
  createShare: audit('share.create'),
  revokeShare: audit('share.revoke', 'share'),
  createRun: audit('run.create'),
  updateRun: audit('run.change', 'run'),
  deleteRun: audit('run.delete', 'run'),
  requestAbort: audit('run.abort', 'run'),
  deleteFolder: audit('folder.delete', 'folder'),
  createAlert: audit('alert.create'),
  updateAlert: audit('alert.change', 'alert'),
  deleteAlert: audit('alert.delete', 'alert'),
  attachAlert: audit('alert.attach', 'alert'),
  detachAlert: audit('alert.detach', 'alert'),
  setAlertState: audit('alert.state', 'alert'),
  createRetentionRule: audit('retention.create'),
  deleteRetentionRule: audit('retention.delete', 'rule'),
  createTelemetryKey: audit('telemetry_key.create'),
  revokeTelemetryKey: audit('telemetry_key.revoke', 'key'),
};

/** Fields of a body worth keeping in the log (never secrets: an invite's token, a password). */
const KEPT_FIELDS = ['user', 'name', 'role', 'scopes', 'run', 'folder', 'status'] as const;

function detailsOf(
  request: FastifyRequest,
  answer: Record<string, unknown> | null,
): Record<string, unknown> | null {
  const body = request.body;
  const details: Record<string, unknown> = {};
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const fields = body as Record<string, unknown>;
    for (const key of KEPT_FIELDS) if (fields[key] !== undefined) details[key] = fields[key];
    if (request.method === 'PATCH') details.fields = Object.keys(fields).slice(0, 20);
  }
  if (answer && typeof answer.name === 'string' && details.name === undefined) details.name = answer.name;
  if (answer && typeof answer.role === 'string' && details.role === undefined) details.role = answer.role;
  return Object.keys(details).length > 0 ? details : null;
}

function parsedAnswer(payload: unknown): Record<string, unknown> | null {
  if (typeof payload !== 'string' || !payload.startsWith('{') || payload.length > 1_000_000) return null;
  try {
    return JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * Keeps a line in the audit log for each successful call of an audited route (see `AUDITED`): who, what, which
 * thing and when, in the database, written before the answer leaves. Replays of an idempotent request are not
 * counted twice.
 */
export function registerAuditLog(app: FastifyInstance, store: Store, now: () => number): void {
  const byRoute = new Map<string, Audited>();
  for (const [name, audited] of Object.entries(AUDITED)) {
    const route = ROUTES[name as RouteName];
    byRoute.set(`${route.method} ${API_PREFIX}${route.path}`, audited);
  }
  app.addHook('onSend', async function keepAuditLine(request, reply, payload) {
    const audited = byRoute.get(`${request.method} ${request.routeOptions.url}`);
    const caller = request.auth;
    if (!audited || !caller || reply.statusCode >= 300 || reply.getHeader(IDEMPOTENT_REPLAY_HEADER)) {
      return payload;
    }
    const answer = parsedAnswer(payload);
    const params = request.params as Record<string, string>;
    let targetId = audited.param ? (params[audited.param] ?? null) : null;
    const bodyUser = (request.body as { user?: unknown } | undefined)?.user;
    if (targetId === null && typeof answer?.id === 'string') targetId = answer.id;
    if (targetId === null && typeof bodyUser === 'string') targetId = bodyUser;
    if (targetId === null && (audited.action === 'membership.create' || audited.action === 'user.password')) {
      targetId = caller.user.id;
    }
    let workspaceId: string | null = caller.workspace?.id ?? null;
    if (request.url.startsWith(`${API_PREFIX}/admin/`)) {
      workspaceId = params.workspace
        ? ((await store.identity.getWorkspace(params.workspace))?.id ?? null)
        : null;
    }
    if (audited.action === 'membership.create' && answer?.workspace) {
      workspaceId = (answer.workspace as { id: string }).id;
    }
    try {
      await store.access.addAudit({
        workspaceId,
        at: now(),
        actorId: caller.user.id,
        actorName: caller.user.name,
        action: audited.action,
        target: audited.target,
        targetId,
        details: detailsOf(request, answer),
      });
    } catch (error) {
      // The change has committed; a log that fails must not turn its answer into an error.
      request.log.error({ err: error, action: audited.action }, 'audit: could not keep the line');
    }
    return payload;
  });
}
