import { randomBytes } from 'node:crypto';
import { SimscopeError, type WorkspaceRole } from '@simscope/protocol';
import * as oauth from 'oauth4webapi';
import type { Store, UserRecord } from '../store/store.js';
import { newId } from './auth-service.js';
import type { OidcConfig } from './sign-in-config.js';

/** What the browser keeps between the redirect to the provider and its return (in an HttpOnly cookie). */
export interface OidcPending {
  state: string;
  nonce: string;
  verifier: string;
}

const DEFAULT_SCOPE = 'openid profile email';

function refuse(message: string, cause?: unknown): SimscopeError {
  return new SimscopeError('unauthorized', `single sign-on refused: ${message}`, cause ? { cause } : {});
}

const ROLE_RANK: Record<WorkspaceRole, number> = { viewer: 0, editor: 1, owner: 2 };

/** A workspace mapping value: `workspace` or `workspace:role` (the role checked when the settings were read). */
function mappedWorkspace(value: string): { name: string; role: WorkspaceRole | null } {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return { name: value, role: null };
  return { name: value.slice(0, colon), role: value.slice(colon + 1) as WorkspaceRole };
}

/** OpenID Connect sign-in (authorization code flow with PKCE, state and nonce) against one provider. */
export class OidcSignIn {
  readonly #config: OidcConfig;
  readonly #store: Store;
  readonly #now: () => number;
  readonly #client: oauth.Client;
  #server: Promise<oauth.AuthorizationServer> | undefined;

  constructor(options: { config: OidcConfig; store: Store; now: () => number }) {
    this.#config = options.config;
    this.#store = options.store;
    this.#now = options.now;
    this.#client = { client_id: options.config.clientId };
  }

  get name(): string {
    return this.#config.name ?? 'Single sign-on';
  }

  #options() {
    return this.#config.allowHttp ? { [oauth.allowInsecureRequests]: true } : {};
  }

  /** The provider's metadata, read once (again after a failure). */
  #discover(): Promise<oauth.AuthorizationServer> {
    if (!this.#server) {
      const issuer = new URL(this.#config.issuer);
      this.#server = oauth
        .discoveryRequest(issuer, {
          algorithm: 'oidc',
          ...this.#options(),
          signal: AbortSignal.timeout(10_000),
        })
        .then((response) => oauth.processDiscoveryResponse(issuer, response))
        .catch((error: unknown) => {
          this.#server = undefined;
          throw new SimscopeError(
            'unavailable',
            `the OpenID Connect provider did not answer: ${String(error)}`,
            {
              cause: error,
            },
          );
        });
    }
    return this.#server;
  }

  /** Where to send the browser, and what to keep until it returns. */
  async start(): Promise<{ url: string; pending: OidcPending }> {
    const as = await this.#discover();
    if (!as.authorization_endpoint) throw refuse('the provider has no authorization endpoint');
    const pending = {
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      verifier: oauth.generateRandomCodeVerifier(),
    };
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', this.#config.clientId);
    url.searchParams.set('redirect_uri', this.#config.redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', this.#config.scope ?? DEFAULT_SCOPE);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', pending.state);
    url.searchParams.set('nonce', pending.nonce);
    return { url: url.href, pending };
  }

  /** Checks the provider's answer (state, then the ID token's issuer, audience, nonce) and finds or creates the user. */
  async finish(callback: URL, pending: OidcPending | undefined): Promise<UserRecord> {
    if (!pending) throw refuse('no sign-in was started in this browser (or it took over 10 minutes)');
    const as = await this.#discover();
    let claims: oauth.IDToken | undefined;
    try {
      const params = oauth.validateAuthResponse(as, this.#client, callback, pending.state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        this.#client,
        oauth.ClientSecretPost(this.#config.clientSecret),
        params,
        this.#config.redirectUri,
        pending.verifier,
        { ...this.#options(), signal: AbortSignal.timeout(10_000) },
      );
      const result = await oauth.processAuthorizationCodeResponse(as, this.#client, response, {
        expectedNonce: pending.nonce,
        requireIdToken: true,
      });
      claims = oauth.getValidatedIdTokenClaims(result);
    } catch (error) {
      throw refuse(error instanceof Error ? error.message : String(error), error);
    }
    if (!claims) throw refuse('the provider sent no ID token');
    const user = await this.#user(as.issuer, claims);
    await this.#join(user, claims);
    return user;
  }

  async #user(issuer: string, claims: oauth.IDToken): Promise<UserRecord> {
    const known = await this.#store.signIn.findOidcUser(issuer, claims.sub);
    const existing = known ? await this.#store.identity.getUser(known) : undefined;
    if (existing) return existing;
    const wanted = [claims.preferred_username, claims.email, claims.sub].find(
      (v): v is string => typeof v === 'string' && v.length > 0,
    );
    const base = (wanted ?? claims.sub).slice(0, 100);
    const taken = await this.#store.identity.getUser(base);
    const user: UserRecord = {
      id: newId(),
      name: taken ? `${base}-${randomBytes(3).toString('hex')}` : base,
      email: typeof claims.email === 'string' ? claims.email : null,
      isAdmin: false,
      createdAt: this.#now(),
    };
    await this.#store.identity.createUser(user);
    await this.#store.signIn.linkOidcUser(issuer, claims.sub, user.id, this.#now());
    return user;
  }

  /**
   * Adds the user to the workspace each of their groups maps to (creating the workspace when missing) and, where
   * the mapping names a role, sets it (the highest when several groups map to one workspace): for mapped groups
   * the provider decides the role at each sign-in.
   */
  async #join(user: UserRecord, claims: oauth.IDToken): Promise<void> {
    const value = claims[this.#config.groupsClaim ?? 'groups'];
    const groups = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
    const mapping = this.#config.workspaces ?? {};
    const wanted = new Map<string, WorkspaceRole | null>();
    for (const group of groups) {
      if (typeof group !== 'string' || !Object.hasOwn(mapping, group)) continue;
      const { name, role } = mappedWorkspace(mapping[group] ?? '');
      const before = wanted.get(name) ?? null;
      wanted.set(
        name,
        before === null || (role !== null && ROLE_RANK[role] > ROLE_RANK[before]) ? role : before,
      );
    }
    for (const [name, role] of wanted) {
      let workspace = await this.#store.identity.getWorkspace(name);
      if (!workspace) {
        workspace = { id: newId(), name, createdAt: this.#now() };
        await this.#store.identity.createWorkspace(workspace);
      }
      await this.#store.identity.addMember(workspace.id, user.id, this.#now());
      if (role !== null) await this.#store.access.changeRole(workspace.id, user.id, role);
    }
  }
}
