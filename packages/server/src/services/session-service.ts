import { createHash, timingSafeEqual } from 'node:crypto';
import { SimscopeError, type TokenScope } from '@simscope/protocol';
import type { SessionMethod } from '../store/sign-in-store.js';
import type { Store, TokenRecord, UserRecord } from '../store/store.js';
import { hashToken, newId, newToken } from './auth-service.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { SIGN_IN_DEFAULTS, type SignInConfig } from './sign-in-config.js';
import { countOne, refuseWhenSpent } from './sign-in-limits.js';

/** The cookie that holds a web session's secret. */
export const SESSION_COOKIE = 'simscope_session';
/** The header a cookie-authenticated write carries its CSRF token in. */
export const CSRF_HEADER = 'x-simscope-csrf';

/** The CSRF token of a session: derived from its secret, so nothing more is stored, and unreadable cross-site. */
export function csrfTokenOf(secret: string): string {
  return createHash('sha256').update(`csrf\0${secret}`).digest('base64url');
}

/** Whether `sent` is the CSRF token of the session `secret`, compared in constant time. */
export function csrfMatches(secret: string, sent: string | undefined): boolean {
  if (!sent) return false;
  const expected = Buffer.from(csrfTokenOf(secret));
  const actual = Buffer.from(sent);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The scopes a user's own sessions carry: admin for admins, else write (which includes read). */
function userScopes(user: UserRecord): TokenScope[] {
  return user.isAdmin ? ['admin'] : ['write'];
}

export interface OpenedSession {
  secret: string;
  token: TokenRecord;
  user: UserRecord;
}

interface Client {
  address: string;
  userAgent: string | undefined;
}

/** Passwords and web sessions: sign-in, sign-out (here or everywhere), a user's session list. */
export class SessionService {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #config: Required<Pick<SignInConfig, 'sessionSeconds' | 'failedSignIns'>>;
  readonly #onRevoke: () => void;
  readonly #dummyHash: Promise<string>;

  constructor(options: { store: Store; now: () => number; config?: SignInConfig; onRevoke: () => void }) {
    this.#store = options.store;
    this.#now = options.now;
    this.#config = {
      sessionSeconds: options.config?.sessionSeconds ?? SIGN_IN_DEFAULTS.sessionSeconds,
      failedSignIns: options.config?.failedSignIns ?? SIGN_IN_DEFAULTS.failedSignIns,
    };
    this.#onRevoke = options.onRevoke;
    // A user with no password is checked against this, so that an unknown name takes as long as a wrong password.
    this.#dummyHash = hashPassword(newToken());
  }

  get sessionSeconds(): number {
    return this.#config.sessionSeconds;
  }

  /** Checks a user name and password and opens a session; failures are counted per user and per address. */
  async signIn(input: { user: string; password: string }, client: Client): Promise<OpenedSession> {
    const { perUser, perAddress, windowSeconds } = this.#config.failedSignIns;
    const keys = [
      { key: `sign-in:user:${input.user.toLowerCase()}`, limit: perUser, windowSeconds },
      { key: `sign-in:address:${client.address}`, limit: perAddress, windowSeconds },
    ];
    const nowSeconds = this.#now() / 1e6;
    await refuseWhenSpent(this.#store, keys, nowSeconds, 'too many failed sign-ins');
    const user = await this.#store.identity.getUser(input.user);
    const stored = user ? await this.#store.signIn.getPassword(user.id) : undefined;
    const matches = await verifyPassword(input.password, stored ?? (await this.#dummyHash));
    if (!user || stored === undefined || !matches) {
      await countOne(this.#store, keys, nowSeconds);
      throw new SimscopeError('unauthorized', 'wrong user name or password');
    }
    return this.open(user, 'password', client);
  }

  /** Opens a web session for a user who has proved who they are: a token row of their scopes, and its session row. */
  async open(user: UserRecord, method: SessionMethod, client: Client): Promise<OpenedSession> {
    const secret = newToken();
    const now = this.#now();
    const token: TokenRecord = {
      id: newId(),
      userId: user.id,
      name: `web session (${method})`,
      scopes: userScopes(user),
      createdAt: now,
      expiresAt: now + this.#config.sessionSeconds * 1e6,
      revokedAt: null,
    };
    await this.#store.identity.createToken(token, hashToken(secret));
    await this.#store.signIn.addSession({
      tokenId: token.id,
      userId: user.id,
      method,
      userAgent: client.userAgent?.slice(0, 300) ?? null,
      address: client.address,
      createdAt: now,
    });
    return { secret, token, user };
  }

  /** The live session of a cookie's secret, or undefined. */
  async find(secret: string): Promise<{ token: TokenRecord; user: UserRecord } | undefined> {
    const found = await this.#store.identity.findToken(hashToken(secret));
    if (!found || found.token.revokedAt !== null) return undefined;
    if (found.token.expiresAt !== null && found.token.expiresAt <= this.#now()) return undefined;
    const sessions = await this.#store.signIn.listSessions(found.user.id, this.#now());
    return sessions.some((s) => s.tokenId === found.token.id) ? found : undefined;
  }

  /** Ends one session of a user (by its token id), or all with no id; returns how many ended. */
  async end(userId: string, tokenId?: string): Promise<number> {
    const ended = await this.#store.signIn.revokeSessions(userId, this.#now(), tokenId);
    if (ended > 0) this.#onRevoke();
    return ended;
  }

  /** Sets a user's password and ends their web sessions. */
  async setPassword(user: UserRecord, password: string): Promise<void> {
    await this.#store.signIn.setPassword(user.id, await hashPassword(password), this.#now());
    await this.end(user.id);
  }

  /** Changes the caller's own password: the current one is required once they have one. */
  async changeOwnPassword(user: UserRecord, current: string | undefined, password: string): Promise<void> {
    const stored = await this.#store.signIn.getPassword(user.id);
    if (stored !== undefined && !(await verifyPassword(current ?? '', stored))) {
      throw new SimscopeError('forbidden', 'body.current: wrong current password', {
        details: { field: 'body.current' },
      });
    }
    await this.#store.signIn.setPassword(user.id, await hashPassword(password), this.#now());
  }
}
