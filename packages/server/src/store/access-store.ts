import type { WorkspaceRole } from '@simscope/protocol';
import type { UserRecord } from './identity-store.js';

export interface MemberRecord {
  user: UserRecord;
  role: WorkspaceRole;
  joinedAt: number;
}

export interface InviteRecord {
  id: string;
  workspaceId: string;
  role: WorkspaceRole;
  createdBy: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  usedBy: string | null;
}

export interface ShareRecord {
  id: string;
  workspaceId: string;
  /** The shared run, or null for a folder share. */
  runId: string | null;
  /** The shared folder (and all below it), or null for a run share. */
  folder: string | null;
  createdBy: string | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface AuditRecord {
  pk: number;
  workspaceId: string | null;
  at: number;
  actorId: string | null;
  actorName: string;
  action: string;
  target: string;
  targetId: string | null;
  details: Record<string, unknown> | null;
}

/** Why a change of a membership was refused, or `ok`. */
export type MembershipChange = 'ok' | 'not_member' | 'last_owner';

/** Why an invite could not be taken, or the membership it made. */
export type InviteAcceptance =
  | { ok: true; invite: InviteRecord }
  | { ok: false; reason: 'unknown' | 'used' | 'expired' | 'member' };

/** Roles of memberships, invite links, share links and the audit log; part of `Store`. */
export interface AccessStore {
  /** The user's role in the workspace, or null when they are not a member. */
  roleOf(workspaceId: string, userId: string): Promise<WorkspaceRole | null>;
  /** Members in the order they joined. */
  listMembers(workspaceId: string): Promise<MemberRecord[]>;
  /** Sets a member's role; a workspace keeps at least one owner. */
  changeRole(workspaceId: string, userId: string, role: WorkspaceRole): Promise<MembershipChange>;
  /** Removes a member; a workspace keeps at least one owner. */
  removeMember(workspaceId: string, userId: string): Promise<MembershipChange>;

  createInvite(invite: InviteRecord, hash: string): Promise<void>;
  listInvites(workspaceId: string): Promise<InviteRecord[]>;
  /** Deletes an invite not used yet; false when there was none. */
  revokeInvite(workspaceId: string, id: string): Promise<boolean>;
  /** Uses the invite with this hash once: the user becomes a member with its role. */
  acceptInvite(hash: string, userId: string, at: number): Promise<InviteAcceptance>;

  createShare(share: ShareRecord, hash: string): Promise<void>;
  /** The share with this hash (revoked ones too: the caller decides). */
  findShare(hash: string): Promise<ShareRecord | undefined>;
  listShares(workspaceId: string): Promise<ShareRecord[]>;
  /** Revokes a share not yet revoked; false when there was none. */
  revokeShare(workspaceId: string, id: string, at: number): Promise<boolean>;

  addAudit(entry: Omit<AuditRecord, 'pk'>): Promise<void>;
  /** Entries newest first, of one workspace or (null) all, older than `beforePk` when given. */
  listAudit(workspaceId: string | null, beforePk: number | null, limit: number): Promise<AuditRecord[]>;
}
