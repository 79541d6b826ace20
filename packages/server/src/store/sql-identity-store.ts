import { SimscopeError, type TokenScope } from '@simscope/protocol';
import type { IdentityStore, TokenRecord, UserRecord, WorkspaceRecord } from './identity-store.js';
import type { SqlDriver, SqlRow } from './sql-driver.js';
import { isUniqueViolation, num, numOrNull, strOrNull } from './sql-rows.js';

/** Waits for an insert, answering `conflict` (field `name`) when the name is taken. */
async function conflictOnName(what: string, name: string, insert: Promise<unknown>): Promise<void> {
  try {
    await insert;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw new SimscopeError('conflict', `${what} '${name}' already exists`, {
      cause: error,
      details: { field: 'name' },
    });
  }
}

/** Users, workspaces, memberships and tokens over any SQL driver. */
export class SqlIdentityStore implements IdentityStore {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  async countUsers(): Promise<number> {
    const row = await this.#db.get('SELECT COUNT(*) AS n FROM users');
    return num(row?.n);
  }

  async createUser(user: UserRecord): Promise<void> {
    await conflictOnName(
      'user',
      user.name,
      this.#db.run('INSERT INTO users (id, name, email, is_admin, created_at) VALUES (?, ?, ?, ?, ?)', [
        user.id,
        user.name,
        user.email,
        user.isAdmin ? 1 : 0,
        user.createdAt,
      ]),
    );
  }

  #user(row: SqlRow): UserRecord {
    return {
      id: String(row.id),
      name: String(row.name),
      email: strOrNull(row.email),
      isAdmin: num(row.is_admin) === 1,
      createdAt: num(row.created_at),
    };
  }

  async getUser(idOrName: string): Promise<UserRecord | undefined> {
    const row = await this.#db.get(
      'SELECT * FROM users WHERE id = ? OR name = ? ORDER BY (id = ?) DESC LIMIT 1',
      [idOrName, idOrName, idOrName],
    );
    return row && this.#user(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.#db.all('SELECT * FROM users ORDER BY created_at, id')).map((r) => this.#user(r));
  }

  async deleteUser(id: string): Promise<boolean> {
    return (await this.#db.run('DELETE FROM users WHERE id = ?', [id])) > 0;
  }

  #workspace(row: SqlRow): WorkspaceRecord {
    return { id: String(row.id), name: String(row.name), createdAt: num(row.created_at) };
  }

  async createWorkspace(workspace: WorkspaceRecord): Promise<void> {
    await conflictOnName(
      'workspace',
      workspace.name,
      this.#db.run('INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)', [
        workspace.id,
        workspace.name,
        workspace.createdAt,
      ]),
    );
  }

  async getWorkspace(idOrName: string): Promise<WorkspaceRecord | undefined> {
    const row = await this.#db.get(
      'SELECT * FROM workspaces WHERE id = ? OR name = ? ORDER BY (id = ?) DESC LIMIT 1',
      [idOrName, idOrName, idOrName],
    );
    return row && this.#workspace(row);
  }

  async listWorkspaces(): Promise<WorkspaceRecord[]> {
    return (await this.#db.all('SELECT * FROM workspaces ORDER BY created_at, id')).map((r) =>
      this.#workspace(r),
    );
  }

  async deleteWorkspace(id: string): Promise<boolean> {
    return (await this.#db.run('DELETE FROM workspaces WHERE id = ?', [id])) > 0;
  }

  async addMember(workspaceId: string, userId: string, at: number): Promise<void> {
    await this.#db.run(
      'INSERT INTO memberships (workspace_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      [workspaceId, userId, at],
    );
  }

  async removeMember(workspaceId: string, userId: string): Promise<boolean> {
    return (
      (await this.#db.run('DELETE FROM memberships WHERE workspace_id = ? AND user_id = ?', [
        workspaceId,
        userId,
      ])) > 0
    );
  }

  async listMembers(workspaceId: string): Promise<UserRecord[]> {
    const rows = await this.#db.all(
      'SELECT u.* FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.workspace_id = ? ORDER BY m.created_at, u.id',
      [workspaceId],
    );
    return rows.map((r) => this.#user(r));
  }

  async listUserWorkspaces(userId: string): Promise<WorkspaceRecord[]> {
    const rows = await this.#db.all(
      'SELECT w.* FROM workspaces w JOIN memberships m ON m.workspace_id = w.id WHERE m.user_id = ? ORDER BY m.created_at, w.id',
      [userId],
    );
    return rows.map((r) => this.#workspace(r));
  }

  #token(row: SqlRow): TokenRecord {
    return {
      id: String(row.id),
      userId: String(row.user_id),
      name: String(row.name),
      scopes: String(row.scopes).split(',') as TokenScope[],
      createdAt: num(row.created_at),
      expiresAt: numOrNull(row.expires_at),
      revokedAt: numOrNull(row.revoked_at),
    };
  }

  async createToken(token: TokenRecord, hash: string): Promise<void> {
    await this.#db.run(
      'INSERT INTO tokens (id, user_id, name, hash, scopes, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [
        token.id,
        token.userId,
        token.name,
        hash,
        token.scopes.join(','),
        token.createdAt,
        token.expiresAt,
        token.revokedAt,
      ],
    );
  }

  async findToken(hash: string): Promise<{ token: TokenRecord; user: UserRecord } | undefined> {
    const row = await this.#db.get(
      `SELECT t.id, t.user_id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at,
         u.name AS user_name, u.email AS user_email, u.is_admin AS user_is_admin, u.created_at AS user_created_at
       FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`,
      [hash],
    );
    if (!row) return undefined;
    return {
      token: this.#token(row),
      user: this.#user({
        id: row.user_id,
        name: row.user_name,
        email: row.user_email,
        is_admin: row.user_is_admin,
        created_at: row.user_created_at,
      }),
    };
  }

  async listTokens(userId: string | null): Promise<TokenRecord[]> {
    const rows = userId
      ? await this.#db.all('SELECT * FROM tokens WHERE user_id = ? ORDER BY created_at, id', [userId])
      : await this.#db.all('SELECT * FROM tokens ORDER BY created_at, id');
    return rows.map((r) => this.#token(r));
  }

  async revokeToken(id: string, at: number): Promise<boolean> {
    return (
      (await this.#db.run('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])) >
      0
    );
  }
}
