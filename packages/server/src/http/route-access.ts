import {
  type RouteScope,
  type RouteSpec,
  SimscopeError,
  type TokenScope,
  type WorkspaceRole,
} from '@simscope/protocol';
import type { FastifyRequest } from 'fastify';
import { hashToken } from '../services/auth-service.js';
import type { AuthContext } from '../services/context.js';
import { NotFoundError } from '../services/errors.js';
import type { ShareRecord } from '../store/access-store.js';
import type { Store, WorkspaceRecord } from '../store/store.js';

const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;
const SHARE_BEARER = /^Bearer\s+(shr_\S+)\s*$/i;

/** The route scopes each role grants; a token's own scopes are checked too (its scope ∩ the role). */
const ROLE_GRANTS: Record<WorkspaceRole, readonly RouteScope[]> = {
  viewer: ['read'],
  editor: ['read', 'write'],
  owner: ['read', 'write', 'owner'],
};
const NEEDED_ROLE: Partial<Record<RouteScope, WorkspaceRole>> = {
  read: 'viewer',
  write: 'editor',
  owner: 'owner',
};

/** A caller the token check let in, its workspace not yet checked. */
type Authenticated = Omit<AuthContext, 'workspace'> & { workspace: WorkspaceRecord | null };

/** Reads a share link may make: those of one run, its alerts left out (they name where notifications go). */
function shareMayCall(route: RouteSpec): boolean {
  return route.scope === 'read' && route.path.includes('/:run') && !route.path.includes('/alerts');
}

/** Whether the share covers the run: the run itself, or a run in the shared folder or below it. */
function shareCovers(share: ShareRecord, run: { id: string; folder: string }): boolean {
  if (share.runId !== null) return share.runId === run.id;
  const folder = share.folder ?? '/';
  return folder === '/' || run.folder === folder || run.folder.startsWith(`${folder}/`);
}

const forbidden = (message: string, details?: Record<string, unknown>) =>
  new SimscopeError('forbidden', message, details ? { details } : undefined);

/**
 * The one check of what a caller may do on a route: the token's scopes intersected with the caller's role in the
 * workspace, or a share link's run or folder. Roles are cached a few seconds, like tokens.
 */
export class RouteAccess {
  readonly #store: Store;
  readonly #roles = new Map<string, { role: WorkspaceRole | null; until: number }>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** Forgets cached roles, so a role change or a removal takes effect at once in this process. */
  invalidate(): void {
    this.#roles.clear();
  }

  async #role(workspaceId: string, userId: string): Promise<WorkspaceRole | null> {
    const key = `${workspaceId}\n${userId}`;
    const now = Date.now();
    const hit = this.#roles.get(key);
    if (hit && hit.until > now) return hit.role;
    const role = await this.#store.access.roleOf(workspaceId, userId);
    if (this.#roles.size >= CACHE_MAX) this.#roles.clear();
    this.#roles.set(key, { role, until: now + CACHE_MS });
    return role;
  }

  /** Checks a token's caller against the route's scope; answers the context with the caller's role. */
  async check(caller: Authenticated, scope: RouteScope): Promise<AuthContext> {
    if (scope === 'share') throw forbidden('this route answers share links only');
    if (scope === 'admin' || scope === 'account') {
      const needs: TokenScope = scope === 'admin' ? 'admin' : 'read';
      if (!caller.scopes.has(needs)) throw forbidden(`this token lacks the '${needs}' scope`);
      return caller as AuthContext;
    }
    const tokenScope: TokenScope = scope === 'read' ? 'read' : 'write';
    if (!caller.scopes.has(tokenScope)) throw forbidden(`this token lacks the '${tokenScope}' scope`);
    const { workspace } = caller;
    if (workspace === null) {
      throw forbidden(`user '${caller.user.name}' is not a member of any workspace`);
    }
    const role = await this.#role(workspace.id, caller.user.id);
    if (role === null) throw forbidden(`you are not a member of workspace '${workspace.name}'`);
    if (!ROLE_GRANTS[role].includes(scope)) {
      const needs = NEEDED_ROLE[scope] ?? 'owner';
      throw forbidden(
        `your role in workspace '${workspace.name}' is ${role}; this route needs the ${needs} role`,
        { role, needs },
      );
    }
    return { ...caller, workspace, role };
  }

  /**
   * The caller a share link (`Authorization: Bearer shr_…`) stands for, or null when the request carries none.
   * A revoked or unknown link is 401; a route it may not call 403; a run it does not cover 404.
   */
  async shareCaller(
    request: FastifyRequest,
    scope: RouteScope,
    route?: RouteSpec,
  ): Promise<AuthContext | null> {
    const match = SHARE_BEARER.exec(request.headers.authorization ?? '');
    const secret = match?.[1];
    if (secret === undefined) return null;
    const share = await this.#store.access.findShare(hashToken(secret));
    if (!share) throw new SimscopeError('unauthorized', 'unknown share link');
    if (share.revokedAt !== null) throw new SimscopeError('unauthorized', 'this share link has been revoked');
    const workspace = await this.#store.identity.getWorkspace(share.workspaceId);
    if (!workspace) throw new SimscopeError('unauthorized', 'unknown share link');
    if (scope !== 'share') {
      if (!route || !shareMayCall(route)) {
        throw forbidden('a share link reads only the run or folder it shares');
      }
      const named = (request.params as { run?: string }).run ?? '';
      const run = await this.#store.runs.getRun(workspace.id, named);
      if (!run || !shareCovers(share, run)) throw new NotFoundError('run', named);
    }
    return {
      user: {
        id: `share:${share.id}`,
        name: 'share link',
        email: null,
        isAdmin: false,
        createdAt: share.createdAt,
      },
      token: {
        id: share.id,
        userId: `share:${share.id}`,
        name: 'share link',
        scopes: ['read'],
        createdAt: share.createdAt,
        expiresAt: null,
        revokedAt: null,
      },
      workspace,
      scopes: new Set<TokenScope>(['read']),
      role: 'viewer',
      share,
    };
  }
}
