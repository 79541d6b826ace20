import type { TokenScope } from '@simscope/protocol';

export interface UserRecord {
  id: string;
  name: string;
  email: string | null;
  isAdmin: boolean;
  createdAt: number;
}

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: number;
}

export interface TokenRecord {
  id: string;
  userId: string;
  name: string;
  scopes: TokenScope[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

/** Users, workspaces, their memberships and users' tokens; part of `Store`. */
export interface IdentityStore {
  countUsers(): Promise<number>;
  createUser(user: UserRecord): Promise<void>;
  /** The user with this id, else the one with this name. */
  getUser(idOrName: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  deleteUser(id: string): Promise<boolean>;

  createWorkspace(workspace: WorkspaceRecord): Promise<void>;
  /** The workspace with this id, else the one with this name. */
  getWorkspace(idOrName: string): Promise<WorkspaceRecord | undefined>;
  listWorkspaces(): Promise<WorkspaceRecord[]>;
  deleteWorkspace(id: string): Promise<boolean>;
  /** Makes the user a member; a member already stays one. */
  addMember(workspaceId: string, userId: string, at: number): Promise<void>;
  removeMember(workspaceId: string, userId: string): Promise<boolean>;
  /** Members in the order they joined. */
  listMembers(workspaceId: string): Promise<UserRecord[]>;
  /** The user's workspaces in the order they joined them. */
  listUserWorkspaces(userId: string): Promise<WorkspaceRecord[]>;

  createToken(token: TokenRecord, hash: string): Promise<void>;
  /** The token with this hash and its user (revoked and expired ones too: the caller decides). */
  findToken(hash: string): Promise<{ token: TokenRecord; user: UserRecord } | undefined>;
  /** A user's tokens, or everyone's with null. */
  listTokens(userId: string | null): Promise<TokenRecord[]>;
  /** Revokes a token not yet revoked; false when there was none. */
  revokeToken(id: string, at: number): Promise<boolean>;
}
