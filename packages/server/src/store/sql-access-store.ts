import type { WorkspaceRole } from '@simscope/protocol';
import type {
  AccessStore,
  AuditRecord,
  InviteAcceptance,
  InviteRecord,
  MemberRecord,
  MembershipChange,
  ShareRecord,
} from './access-store.js';
import type { SqlDriver, SqlRow } from './sql-driver.js';
import { num, numOrNull, parseJson, strOrNull } from './sql-rows.js';

const role = (v: unknown): WorkspaceRole => String(v) as WorkspaceRole;

function inviteOf(row: SqlRow): InviteRecord {
  return {
    id: String(row.id),
    workspaceId: String(row.workspace_id),
    role: role(row.role),
    createdBy: strOrNull(row.created_by),
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    usedAt: numOrNull(row.used_at),
    usedBy: strOrNull(row.used_by),
  };
}

function shareOf(row: SqlRow): ShareRecord {
  return {
    id: String(row.id),
    workspaceId: String(row.workspace_id),
    runId: strOrNull(row.run_id),
    folder: strOrNull(row.folder),
    createdBy: strOrNull(row.created_by),
    createdAt: num(row.created_at),
    revokedAt: numOrNull(row.revoked_at),
  };
}

function auditOf(row: SqlRow): AuditRecord {
  return {
    pk: num(row.pk),
    workspaceId: strOrNull(row.workspace_id),
    at: num(row.at),
    actorId: strOrNull(row.actor_id),
    actorName: String(row.actor_name),
    action: String(row.action),
    target: String(row.target),
    targetId: strOrNull(row.target_id),
    details: parseJson<Record<string, unknown> | null>(row.details, null),
  };
}

/** Roles, invites, shares and the audit log over any SQL driver. */
export class SqlAccessStore implements AccessStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async roleOf(workspaceId: string, userId: string): Promise<WorkspaceRole | null> {
    const row = await this.#db.get('SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?', [
      workspaceId,
      userId,
    ]);
    return row ? role(row.role) : null;
  }

  async listMembers(workspaceId: string): Promise<MemberRecord[]> {
    const rows = await this.#db.all(
      `SELECT u.*, m.role AS member_role, m.created_at AS joined_at FROM users u
       JOIN memberships m ON m.user_id = u.id WHERE m.workspace_id = ? ORDER BY m.created_at, u.id`,
      [workspaceId],
    );
    return rows.map((r) => ({
      user: {
        id: String(r.id),
        name: String(r.name),
        email: strOrNull(r.email),
        isAdmin: num(r.is_admin) === 1,
        createdAt: num(r.created_at),
      },
      role: role(r.member_role),
      joinedAt: num(r.joined_at),
    }));
  }

  /** Runs `change` on a member unless it would leave the workspace without an owner. */
  #changeMember(
    workspaceId: string,
    userId: string,
    keepsOwner: (current: WorkspaceRole) => boolean,
    change: (tx: SqlDriver) => Promise<unknown>,
  ): Promise<MembershipChange> {
    return this.#db.transaction(async (tx) => {
      const rows = await tx.all(
        `SELECT user_id, role FROM memberships WHERE workspace_id = ?${tx.dialect.forUpdate}`,
        [workspaceId],
      );
      const member = rows.find((r) => String(r.user_id) === userId);
      if (!member) return 'not_member';
      const owners = rows.filter((r) => String(r.role) === 'owner').length;
      if (String(member.role) === 'owner' && owners === 1 && !keepsOwner(role(member.role))) {
        return 'last_owner';
      }
      await change(tx);
      return 'ok';
    });
  }

  changeRole(workspaceId: string, userId: string, to: WorkspaceRole): Promise<MembershipChange> {
    return this.#changeMember(
      workspaceId,
      userId,
      () => to === 'owner',
      (tx) =>
        tx.run('UPDATE memberships SET role = ? WHERE workspace_id = ? AND user_id = ?', [
          to,
          workspaceId,
          userId,
        ]),
    );
  }

  removeMember(workspaceId: string, userId: string): Promise<MembershipChange> {
    return this.#changeMember(
      workspaceId,
      userId,
      () => false,
      (tx) => tx.run('DELETE FROM memberships WHERE workspace_id = ? AND user_id = ?', [workspaceId, userId]),
    );
  }

  async createInvite(invite: InviteRecord, hash: string): Promise<void> {
    await this.#db.run(
      `INSERT INTO invites (id, workspace_id, hash, role, created_by, created_at, expires_at, used_at, used_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        invite.id,
        invite.workspaceId,
        hash,
        invite.role,
        invite.createdBy,
        invite.createdAt,
        invite.expiresAt,
        invite.usedAt,
        invite.usedBy,
      ],
    );
  }

  async listInvites(workspaceId: string): Promise<InviteRecord[]> {
    const rows = await this.#db.all('SELECT * FROM invites WHERE workspace_id = ? ORDER BY created_at, id', [
      workspaceId,
    ]);
    return rows.map(inviteOf);
  }

  async revokeInvite(workspaceId: string, id: string): Promise<boolean> {
    const deleted = await this.#db.run(
      'DELETE FROM invites WHERE workspace_id = ? AND id = ? AND used_at IS NULL',
      [workspaceId, id],
    );
    return deleted > 0;
  }

  acceptInvite(hash: string, userId: string, at: number): Promise<InviteAcceptance> {
    return this.#db.transaction(async (tx): Promise<InviteAcceptance> => {
      const row = await tx.get(`SELECT * FROM invites WHERE hash = ?${tx.dialect.forUpdate}`, [hash]);
      if (!row) return { ok: false, reason: 'unknown' };
      const invite = inviteOf(row);
      if (invite.usedAt !== null) return { ok: false, reason: 'used' };
      if (invite.expiresAt <= at) return { ok: false, reason: 'expired' };
      const member = await tx.get('SELECT 1 AS one FROM memberships WHERE workspace_id = ? AND user_id = ?', [
        invite.workspaceId,
        userId,
      ]);
      if (member) return { ok: false, reason: 'member' };
      await tx.run('UPDATE invites SET used_at = ?, used_by = ? WHERE id = ?', [at, userId, invite.id]);
      await tx.run('INSERT INTO memberships (workspace_id, user_id, created_at, role) VALUES (?, ?, ?, ?)', [
        invite.workspaceId,
        userId,
        at,
        invite.role,
      ]);
      return { ok: true, invite: { ...invite, usedAt: at, usedBy: userId } };
    });
  }

  async createShare(share: ShareRecord, hash: string): Promise<void> {
    await this.#db.run(
      `INSERT INTO shares (id, workspace_id, hash, run_id, folder, created_by, created_at, revoked_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        share.id,
        share.workspaceId,
        hash,
        share.runId,
        share.folder,
        share.createdBy,
        share.createdAt,
        share.revokedAt,
      ],
    );
  }

  async findShare(hash: string): Promise<ShareRecord | undefined> {
    const row = await this.#db.get('SELECT * FROM shares WHERE hash = ?', [hash]);
    return row && shareOf(row);
  }

  async listShares(workspaceId: string): Promise<ShareRecord[]> {
    const rows = await this.#db.all('SELECT * FROM shares WHERE workspace_id = ? ORDER BY created_at, id', [
      workspaceId,
    ]);
    return rows.map(shareOf);
  }

  async revokeShare(workspaceId: string, id: string, at: number): Promise<boolean> {
    const changed = await this.#db.run(
      'UPDATE shares SET revoked_at = ? WHERE workspace_id = ? AND id = ? AND revoked_at IS NULL',
      [at, workspaceId, id],
    );
    return changed > 0;
  }

  async addAudit(entry: Omit<AuditRecord, 'pk'>): Promise<void> {
    await this.#db.run(
      `INSERT INTO audit_log (workspace_id, at, actor_id, actor_name, action, target, target_id, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        entry.workspaceId,
        entry.at,
        entry.actorId,
        entry.actorName,
        entry.action,
        entry.target,
        entry.targetId,
        entry.details === null ? null : JSON.stringify(entry.details),
      ],
    );
  }

  async listAudit(
    workspaceId: string | null,
    beforePk: number | null,
    limit: number,
  ): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (workspaceId !== null) {
      where.push('workspace_id = ?');
      params.push(workspaceId);
    }
    if (beforePk !== null) {
      where.push('pk < ?');
      params.push(beforePk);
    }
    const rows = await this.#db.all(
      `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY pk DESC LIMIT ?`,
      [...params, limit],
    );
    return rows.map(auditOf);
  }
}
