import { randomBytes } from 'node:crypto';
import {
  type AuditEntryView,
  escapeRegex,
  type FilterExpr,
  type InviteView,
  type MemberView,
  type RouteResponse,
  type ShareView,
  SimscopeError,
  type WorkspaceRole,
} from '@simscope/protocol';
import type { AuditRecord, InviteRecord, MemberRecord, ShareRecord } from '../store/access-store.js';
import type { Store } from '../store/store.js';
import { hashToken, newId } from './auth-service.js';
import type { ServiceContext } from './context.js';
import { decodeCursor, pageOf } from './cursor.js';
import { ConflictError, NotFoundError } from './errors.js';
import { runView } from './run-service.js';

const INVITE_SECONDS = 7 * 86_400;
const SHARED_RUNS = 500;

const memberView = (m: MemberRecord): MemberView => ({
  id: m.user.id,
  name: m.user.name,
  email: m.user.email,
  role: m.role,
  joined: m.joinedAt,
});

const inviteView = (i: InviteRecord): InviteView => ({
  id: i.id,
  workspace: i.workspaceId,
  role: i.role,
  created: i.createdAt,
  createdBy: i.createdBy,
  expires: i.expiresAt,
  used: i.usedAt,
  usedBy: i.usedBy,
});

const shareView = (s: ShareRecord): ShareView => ({
  id: s.id,
  run: s.runId,
  folder: s.folder,
  created: s.createdAt,
  createdBy: s.createdBy,
  revoked: s.revokedAt,
});

const auditView = (a: AuditRecord): AuditEntryView => ({
  id: String(a.pk),
  at: a.at,
  workspace: a.workspaceId,
  actor: a.actorId,
  actorName: a.actorName,
  action: a.action,
  target: a.target,
  targetId: a.targetId,
  details: a.details,
});

/** A new secret for a link: a prefix that says what it is, then 32 random bytes. */
const newSecret = (prefix: string): string => `${prefix}_${randomBytes(32).toString('base64url')}`;

interface AccessDeps {
  /** Called after a change of who may do what, so cached tokens and roles are dropped and streams recheck. */
  onAccessChange(): void;
}

/** The runs under a folder and all below it, as a run filter. */
function folderFilter(folder: string): FilterExpr | null {
  if (folder === '/') return null;
  const field = { kind: 'run', name: 'folder' } as const;
  return {
    kind: 'or',
    items: [
      { kind: 'compare', field, op: '==', value: { kind: 'string', value: folder } },
      { kind: 'compare', field, op: 'matches', value: { kind: 'string', value: `^${escapeRegex(folder)}/` } },
    ],
  };
}

/** Members and roles, invite links, share links and the audit log of the caller's workspace. */
export class AccessService {
  readonly #deps: AccessDeps;

  constructor(deps: AccessDeps) {
    this.#deps = deps;
  }

  async #member(ctx: ServiceContext, idOrName: string): Promise<MemberRecord> {
    const user = await ctx.store.identity.getUser(idOrName);
    const members = await ctx.store.access.listMembers(ctx.auth.workspace.id);
    const member = user && members.find((m) => m.user.id === user.id);
    if (!member) {
      throw new NotFoundError('user', idOrName, `is not a member of workspace '${ctx.auth.workspace.name}'`);
    }
    return member;
  }

  async listMembers(ctx: ServiceContext): Promise<MemberView[]> {
    return (await ctx.store.access.listMembers(ctx.auth.workspace.id)).map(memberView);
  }

  async setRole(ctx: ServiceContext, idOrName: string, role: WorkspaceRole): Promise<MemberView> {
    const member = await this.#member(ctx, idOrName);
    const result = await ctx.store.access.changeRole(ctx.auth.workspace.id, member.user.id, role);
    this.#refuse(ctx, result, idOrName);
    this.#deps.onAccessChange();
    return memberView({ ...member, role });
  }

  async removeMember(ctx: ServiceContext, idOrName: string): Promise<void> {
    const member = await this.#member(ctx, idOrName);
    const result = await ctx.store.access.removeMember(ctx.auth.workspace.id, member.user.id);
    this.#refuse(ctx, result, idOrName);
    this.#deps.onAccessChange();
    ctx.bus.publish({
      type: 'membership.removed',
      workspaceId: ctx.auth.workspace.id,
      userId: member.user.id,
    });
  }

  #refuse(ctx: ServiceContext, result: 'ok' | 'not_member' | 'last_owner', idOrName: string): void {
    if (result === 'not_member') {
      throw new NotFoundError('user', idOrName, `is not a member of workspace '${ctx.auth.workspace.name}'`);
    }
    if (result === 'last_owner') {
      throw new ConflictError(
        `user '${idOrName}' is the last owner of workspace '${ctx.auth.workspace.name}'; make another member owner first`,
      );
    }
  }

  async createInvite(
    ctx: ServiceContext,
    input: { role?: WorkspaceRole; expiresIn?: number },
  ): Promise<RouteResponse<'createInvite'>> {
    const now = ctx.now();
    const invite: InviteRecord = {
      id: newId(),
      workspaceId: ctx.auth.workspace.id,
      role: input.role ?? 'viewer',
      createdBy: ctx.auth.user.id,
      createdAt: now,
      expiresAt: Math.round(now + (input.expiresIn ?? INVITE_SECONDS) * 1e6),
      usedAt: null,
      usedBy: null,
    };
    const token = newSecret('inv');
    await ctx.store.access.createInvite(invite, hashToken(token));
    return { ...inviteView(invite), token, link: `/invite#${token}` };
  }

  async listInvites(ctx: ServiceContext): Promise<InviteView[]> {
    return (await ctx.store.access.listInvites(ctx.auth.workspace.id)).map(inviteView);
  }

  async revokeInvite(ctx: ServiceContext, id: string): Promise<void> {
    if (!(await ctx.store.access.revokeInvite(ctx.auth.workspace.id, id))) {
      throw new NotFoundError('invite', id, 'not found or already used');
    }
  }

  /** Makes the caller (any signed-in user) a member with the invite's role; each invite works once. */
  async acceptInvite(
    store: Store,
    user: { id: string },
    token: string,
    now: number,
  ): Promise<RouteResponse<'acceptInvite'>> {
    const result = await store.access.acceptInvite(hashToken(token), user.id, now);
    if (!result.ok) {
      if (result.reason === 'member') throw new ConflictError('you are already a member of this workspace');
      const why = { unknown: 'is not a valid invite', used: 'has been used', expired: 'has expired' }[
        result.reason
      ];
      throw new SimscopeError('not_found', `body.token: this invite link ${why}`, {
        details: { field: 'body.token' },
      });
    }
    this.#deps.onAccessChange();
    const workspace = await store.identity.getWorkspace(result.invite.workspaceId);
    return {
      workspace: { id: result.invite.workspaceId, name: workspace?.name ?? result.invite.workspaceId },
      role: result.invite.role,
    };
  }

  async createShare(
    ctx: ServiceContext,
    input: { run: string } | { folder: string },
  ): Promise<RouteResponse<'createShare'>> {
    const ws = ctx.auth.workspace.id;
    let runId: string | null = null;
    let folder: string | null = null;
    if ('run' in input) {
      const run = await ctx.store.runs.getRun(ws, input.run);
      if (!run) throw new NotFoundError('run', input.run);
      runId = run.id;
    } else {
      folder = input.folder.length > 1 ? input.folder.replace(/\/$/, '') : input.folder;
      if (folder !== '/' && !(await ctx.store.folders.getFolder(ws, folder))) {
        throw new NotFoundError('folder', folder);
      }
    }
    const share: ShareRecord = {
      id: newId(),
      workspaceId: ws,
      runId,
      folder,
      createdBy: ctx.auth.user.id,
      createdAt: ctx.now(),
      revokedAt: null,
    };
    const token = newSecret('shr');
    await ctx.store.access.createShare(share, hashToken(token));
    return { ...shareView(share), token, link: `/share#${token}` };
  }

  async listShares(ctx: ServiceContext): Promise<ShareView[]> {
    return (await ctx.store.access.listShares(ctx.auth.workspace.id)).map(shareView);
  }

  async revokeShare(ctx: ServiceContext, id: string): Promise<void> {
    if (!(await ctx.store.access.revokeShare(ctx.auth.workspace.id, id, ctx.now()))) {
      throw new NotFoundError('share', id, 'not found or already revoked');
    }
  }

  /** What the caller's share link shares: its run, or the runs of its folder and below (newest first). */
  async shared(ctx: ServiceContext): Promise<RouteResponse<'sharedItems'>> {
    const { share, workspace } = ctx.auth;
    if (!share) throw new SimscopeError('forbidden', 'this route answers share links only');
    let runs: RouteResponse<'sharedItems'>['runs'] = [];
    if (share.runId !== null) {
      const run = await ctx.store.runs.getRun(workspace.id, share.runId);
      runs = run ? [runView(run)] : [];
    } else {
      const rows = await ctx.store.runs.listRuns(workspace.id, {
        where: folderFilter(share.folder ?? '/'),
        sort: 'created',
        descending: true,
        after: null,
        limit: SHARED_RUNS,
        now: ctx.now(),
      });
      runs = rows.map(runView);
    }
    return { share: shareView(share), workspace: workspace.name, runs };
  }

  /** A page of the audit log, newest first: of one workspace, or of all (null). */
  async audit(
    store: Store,
    workspaceId: string | null,
    query: { limit: number; next?: string },
  ): Promise<RouteResponse<'listAudit'>> {
    const before = query.next ? decodeCursor(query.next, ['integer'])[0] : null;
    const rows = await store.access.listAudit(workspaceId, before, query.limit + 1);
    return pageOf(rows, query.limit, auditView, (last) => [last.pk]);
  }
}
