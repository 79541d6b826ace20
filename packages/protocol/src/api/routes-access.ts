import type { RunView } from '../views.js';
import type { RouteSpec } from './routes.js';
import type { Page } from './views.js';

/** A member's role in a workspace: owners manage members, shares and settings, editors write, viewers read. */
export const WORKSPACE_ROLES = ['owner', 'editor', 'viewer'] as const;
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];

/** A member of the caller's workspace. */
export interface MemberView {
  id: string;
  name: string;
  email: string | null;
  role: WorkspaceRole;
  joined: number;
}

/** An invite link to a workspace; `token` (the secret in the link) is shown once, when it is made. */
export interface InviteView {
  id: string;
  workspace: string;
  role: WorkspaceRole;
  created: number;
  createdBy: string | null;
  expires: number;
  used: number | null;
  usedBy: string | null;
}

/** A read-only share link of a run or of a folder and all below it; `token` is shown once. */
export interface ShareView {
  id: string;
  run: string | null;
  folder: string | null;
  created: number;
  createdBy: string | null;
  revoked: number | null;
}

/** One line of the audit log: who did what to which thing, and when. */
export interface AuditEntryView {
  id: string;
  at: number;
  workspace: string | null;
  actor: string | null;
  actorName: string;
  action: string;
  target: string;
  targetId: string | null;
  details: Record<string, unknown> | null;
}

const PAGE = { limit: 'page size (default 100)', next: 'cursor' } as const;

/** Members and roles, invite links, share links and the audit log (issue 22). */
export const ACCESS_ROUTES = {
  listWorkspaceMembers: {
    method: 'GET',
    path: '/members',
    scope: 'owner',
    summary: "The workspace's members and their roles (owners)",
  },
  setMemberRole: {
    method: 'PATCH',
    path: '/members/:user',
    scope: 'owner',
    summary: "{ role }: changes a member's role to owner, editor or viewer (the last owner stays one)",
  },
  removeWorkspaceMember: {
    method: 'DELETE',
    path: '/members/:user',
    scope: 'owner',
    summary: "Removes a member; their open live streams close (the last owner can't be removed)",
  },
  createInvite: {
    method: 'POST',
    path: '/invites',
    scope: 'owner',
    summary:
      '{ role?, expiresIn? }: an invite link (single use, 7 days unless expiresIn says otherwise); the secret is shown once',
  },
  listInvites: { method: 'GET', path: '/invites', scope: 'owner', summary: "The workspace's invite links" },
  revokeInvite: {
    method: 'DELETE',
    path: '/invites/:invite',
    scope: 'owner',
    summary: 'Withdraws an invite link not used yet',
  },
  acceptInvite: {
    method: 'POST',
    path: '/invites/accept',
    scope: 'account',
    summary:
      "{ token }: the caller becomes a member of the invite's workspace with its role (any token; no workspace needed)",
  },
  createShare: {
    method: 'POST',
    path: '/shares',
    scope: 'owner',
    summary: '{ run } or { folder }: a read-only share link; its secret is shown once',
  },
  listShares: { method: 'GET', path: '/shares', scope: 'owner', summary: "The workspace's share links" },
  revokeShare: {
    method: 'DELETE',
    path: '/shares/:share',
    scope: 'owner',
    summary: 'Revokes a share link at once',
  },
  sharedItems: {
    method: 'GET',
    path: '/shared',
    scope: 'share',
    summary:
      'With a share link as the token (Authorization: Bearer shr_…): what it shares, and the runs (at most 500)',
  },
  listAudit: {
    method: 'GET',
    path: '/audit',
    scope: 'owner',
    summary: "The workspace's audit log, newest first",
    query: PAGE,
  },
  listAllAudit: {
    method: 'GET',
    path: '/admin/audit',
    scope: 'admin',
    summary: 'The audit log of the whole server, newest first',
    query: { ...PAGE, workspace: 'only this workspace (id or name)' },
  },
} as const satisfies Record<string, RouteSpec>;

/** What the members, invite, share and audit routes answer. */
export interface AccessRouteResponses {
  listWorkspaceMembers: { items: MemberView[] };
  setMemberRole: MemberView;
  removeWorkspaceMember: undefined;
  /** `link`: the web page that takes the invite, under the server's address. */
  createInvite: InviteView & { token: string; link: string };
  listInvites: { items: InviteView[] };
  revokeInvite: undefined;
  acceptInvite: { workspace: { id: string; name: string }; role: WorkspaceRole };
  /** `link`: the web page that shows what is shared, under the server's address. */
  createShare: ShareView & { token: string; link: string };
  listShares: { items: ShareView[] };
  revokeShare: undefined;
  sharedItems: { share: ShareView; workspace: string; runs: RunView[] };
  listAudit: Page<AuditEntryView>;
  listAllAudit: Page<AuditEntryView>;
}
