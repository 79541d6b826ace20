import {
  LIMITS,
  type membershipCreateSchema,
  SimscopeError,
  type TokenView,
  type tokenCreateSchema,
  type UserView,
  type userCreateSchema,
  type WorkspaceView,
  type workspaceCreateSchema,
} from '@simscope/protocol';
import type { z } from 'zod';
import type { Store, TokenRecord, UserRecord, WorkspaceRecord } from '../store/store.js';
import { hashToken, newId, newToken } from './auth-service.js';
import { NotFoundError } from './errors.js';

const userView = (u: UserRecord): UserView => ({
  id: u.id,
  name: u.name,
  email: u.email,
  admin: u.isAdmin,
  created: u.createdAt,
});

const workspaceView = (w: WorkspaceRecord): WorkspaceView => ({
  id: w.id,
  name: w.name,
  created: w.createdAt,
});

/** A token as the API shows it: never its secret or hash. */
export const tokenView = (t: TokenRecord): TokenView => ({
  id: t.id,
  user: t.userId,
  name: t.name,
  scopes: t.scopes,
  created: t.createdAt,
  expires: t.expiresAt,
  revoked: t.revokedAt,
});

export interface AdminDeps {
  store: Store;
  now(): number;
  /** Called after anything that changes who may do what, so cached tokens are dropped. */
  onAccessChange(): void;
}

/** Users, workspaces, memberships and tokens; every call needs the admin scope (checked by the route). */
export class AdminService {
  readonly #deps: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#deps = deps;
  }

  async #user(idOrName: string): Promise<UserRecord> {
    const user = await this.#deps.store.identity.getUser(idOrName);
    if (!user) throw new NotFoundError('user', idOrName);
    return user;
  }

  async #workspace(idOrName: string): Promise<WorkspaceRecord> {
    const ws = await this.#deps.store.identity.getWorkspace(idOrName);
    if (!ws) throw new NotFoundError('workspace', idOrName);
    return ws;
  }

  async createUser(body: z.output<typeof userCreateSchema>): Promise<UserView> {
    const input = body;
    const user: UserRecord = {
      id: newId(),
      name: input.name,
      email: input.email ?? null,
      isAdmin: input.admin ?? false,
      createdAt: this.#deps.now(),
    };
    await this.#deps.store.identity.createUser(user);
    return userView(user);
  }

  async listUsers(): Promise<UserView[]> {
    return (await this.#deps.store.identity.listUsers()).map(userView);
  }

  async deleteUser(idOrName: string): Promise<void> {
    const user = await this.#user(idOrName);
    await this.#deps.store.identity.deleteUser(user.id);
    this.#deps.onAccessChange();
  }

  async createWorkspace(body: z.output<typeof workspaceCreateSchema>): Promise<WorkspaceView> {
    const input = body;
    const ws: WorkspaceRecord = { id: newId(), name: input.name, createdAt: this.#deps.now() };
    await this.#deps.store.identity.createWorkspace(ws);
    return workspaceView(ws);
  }

  async listWorkspaces(): Promise<WorkspaceView[]> {
    return (await this.#deps.store.identity.listWorkspaces()).map(workspaceView);
  }

  async deleteWorkspace(idOrName: string): Promise<void> {
    const ws = await this.#workspace(idOrName);
    await this.#deps.store.identity.deleteWorkspace(ws.id);
    this.#deps.onAccessChange();
  }

  async addMember(workspace: string, body: z.output<typeof membershipCreateSchema>): Promise<UserView[]> {
    const input = body;
    const ws = await this.#workspace(workspace);
    const user = await this.#user(input.user);
    await this.#deps.store.identity.addMember(ws.id, user.id, this.#deps.now());
    if (input.role) await this.#deps.store.access.changeRole(ws.id, user.id, input.role);
    this.#deps.onAccessChange();
    return (await this.#deps.store.identity.listMembers(ws.id)).map(userView);
  }

  async listMembers(workspace: string): Promise<UserView[]> {
    return (await this.#deps.store.identity.listMembers((await this.#workspace(workspace)).id)).map(userView);
  }

  async removeMember(workspace: string, user: string): Promise<void> {
    const ws = await this.#workspace(workspace);
    const u = await this.#user(user);
    if (!(await this.#deps.store.identity.removeMember(ws.id, u.id))) {
      throw new NotFoundError('user', user, `is not a member of workspace '${workspace}'`);
    }
    this.#deps.onAccessChange();
  }

  /** Creates a token and returns it with its secret, which is never shown again. */
  async createToken(body: z.output<typeof tokenCreateSchema>): Promise<TokenView & { token: string }> {
    const input = body;
    const user = await this.#user(input.user);
    const scopes = input.scopes ?? ['read', 'write'];
    if (scopes.includes('admin') && !user.isAdmin) {
      throw new SimscopeError(
        'invalid_field',
        `body.scopes: user '${user.name}' is not an admin, so the token cannot have the admin scope`,
      );
    }
    const now = this.#deps.now();
    const record: TokenRecord = {
      id: newId(),
      userId: user.id,
      name: input.name.slice(0, LIMITS.nameLength),
      scopes: [...new Set(scopes)],
      createdAt: now,
      expiresAt: input.expiresIn ? Math.round(now + input.expiresIn * 1e6) : null,
      revokedAt: null,
    };
    const secret = newToken();
    await this.#deps.store.identity.createToken(record, hashToken(secret));
    return { ...tokenView(record), token: secret };
  }

  async listTokens(user: string | undefined): Promise<TokenView[]> {
    return (await this.#deps.store.identity.listTokens(user ? (await this.#user(user)).id : null)).map(
      tokenView,
    );
  }

  async revokeToken(id: string): Promise<void> {
    if (!(await this.#deps.store.identity.revokeToken(id, this.#deps.now()))) {
      throw new NotFoundError('token', id, 'not found or already revoked');
    }
    this.#deps.onAccessChange();
  }
}
