import { createHash, randomBytes } from 'node:crypto';
import { SimscopeError, type TokenScope } from '@simscope/protocol';
import type { Store, TokenRecord, UserRecord, WorkspaceRecord } from '../store/store.js';
import type { AuthContext } from './context.js';

const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Why a caller that was let in has lost its access since. */
const ACCESS_LOSS_REASONS = ['token_revoked', 'token_expired', 'membership_removed', 'user_deleted'] as const;
type AccessLossReason = (typeof ACCESS_LOSS_REASONS)[number];

export interface AccessLoss {
  reason: AccessLossReason;
  message: string;
}

/** A new secret token; only its hash is stored. */
export function newToken(): string {
  return `ssk_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new random id for users, workspaces, tokens and runs: URL-safe, 16 characters. */
export function newId(): string {
  return randomBytes(12).toString('base64url');
}

/** Scopes a token's scope list grants: admin includes write, write includes read. */
function grantedScopes(scopes: readonly TokenScope[]): Set<TokenScope> {
  const granted = new Set<TokenScope>(scopes);
  if (granted.has('admin')) granted.add('write');
  if (granted.has('write')) granted.add('read');
  return granted;
}

interface Cached {
  token: TokenRecord;
  user: UserRecord;
  workspaces: WorkspaceRecord[];
  until: number;
}

/** Checks bearer tokens and picks the workspace; caches lookups for a few seconds. */
export class AuthService {
  readonly #store: Store;
  readonly #cache = new Map<string, Cached>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** Forgets cached tokens, so a revocation or membership change takes effect at once in this process. */
  invalidate(): void {
    this.#cache.clear();
  }

  async #lookup(hash: string): Promise<Cached | undefined> {
    const now = Date.now();
    const hit = this.#cache.get(hash);
    if (hit && hit.until > now) return hit;
    const found = await this.#store.identity.findToken(hash);
    if (!found) return undefined;
    const workspaces = await this.#store.identity.listUserWorkspaces(found.user.id);
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    const entry = { ...found, workspaces, until: now + CACHE_MS };
    this.#cache.set(hash, entry);
    return entry;
  }

  /**
   * Resolves the `Authorization` and workspace headers into who is calling.
   * `workspace` is null only for callers with no workspace (an admin setting things up).
   */
  async authenticate(
    authorization: string | undefined,
    workspaceHeader: string | undefined,
    nowMicros: number,
  ): Promise<AuthContext | (Omit<AuthContext, 'workspace'> & { workspace: null })> {
    if (!authorization) {
      throw new SimscopeError(
        'unauthorized',
        "missing token: send the header 'Authorization: Bearer <token>'",
      );
    }
    const match = BEARER.exec(authorization);
    if (!match)
      throw new SimscopeError('unauthorized', "malformed Authorization header: expected 'Bearer <token>'");
    const found = await this.#lookup(hashToken(match[1] ?? ''));
    if (!found) throw new SimscopeError('unauthorized', 'invalid token');
    const { token, user, workspaces } = found;
    if (token.revokedAt !== null)
      throw new SimscopeError('unauthorized', `token '${token.name}' has been revoked`);
    if (token.expiresAt !== null && token.expiresAt <= nowMicros) {
      throw new SimscopeError('unauthorized', `token '${token.name}' has expired`);
    }
    const scopes = grantedScopes(token.scopes);
    if (workspaceHeader) {
      const workspace = workspaces.find((w) => w.id === workspaceHeader || w.name === workspaceHeader);
      if (!workspace) {
        throw new SimscopeError('forbidden', `you are not a member of workspace '${workspaceHeader}'`, {
          details: { field: 'header.simscope-workspace' },
        });
      }
      return { user, token, workspace, scopes };
    }
    return { user, token, workspace: workspaces[0] ?? null, scopes };
  }

  /**
   * Why the caller `auth` (let in with `authorization`) may no longer read its workspace, or null while it still
   * may. Reads the store, not the cache, so a change made by another process over the same database counts too.
   */
  async accessLost(
    authorization: string | undefined,
    auth: Pick<AuthContext, 'user' | 'token' | 'workspace'>,
    nowMicros: number,
  ): Promise<AccessLoss | null> {
    const match = BEARER.exec(authorization ?? '');
    const found = match ? await this.#store.identity.findToken(hashToken(match[1] ?? '')) : undefined;
    if (!found || found.token.id !== auth.token.id) {
      if (!(await this.#store.identity.getUser(auth.user.id))) {
        return { reason: 'user_deleted', message: `user '${auth.user.name}' has been deleted` };
      }
      return { reason: 'token_revoked', message: `token '${auth.token.name}' has been revoked` };
    }
    const { token, user } = found;
    if (token.revokedAt !== null) {
      return { reason: 'token_revoked', message: `token '${token.name}' has been revoked` };
    }
    if (token.expiresAt !== null && token.expiresAt <= nowMicros) {
      return { reason: 'token_expired', message: `token '${token.name}' has expired` };
    }
    const workspaces = await this.#store.identity.listUserWorkspaces(user.id);
    if (!workspaces.some((w) => w.id === auth.workspace.id)) {
      return {
        reason: 'membership_removed',
        message: `user '${user.name}' is no longer a member of workspace '${auth.workspace.name}'`,
      };
    }
    return null;
  }
}
